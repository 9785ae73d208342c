// Wire messages gathered into one batch per destination (src/wire/frames.hpp)
// until their owner flushes: an actor's forwarder batches the calls it
// sends the node hosting the actor, and that host batches the results its
// workers produce, so a burst of calls crosses the middleman in a few
// messages instead of one per call each way.
//
// The first frame added after a flush asks the owner, once, to flush soon
// (`post`, e.g. a message to itself that queues behind the calls already in
// its mailbox). If the owner is gone (`post` says false) or the outbox was
// closed, the adding thread sends. A batch that reaches `max_bytes` leaves
// at once from the adding thread.
//
// Thread safety: every member may be called from any thread. Batches for
// one destination leave in the order their frames came when adds and
// flushes run on one thread (the forwarder); results, added by several
// workers, may leave in any order.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "wire/frames.hpp"

namespace lumen::detail {

template <class Key>
class batch_outbox {
 public:
  /// Sends `batch` (frames) to `to`.
  using send_fn = std::function<void(const Key& to, std::vector<char> batch)>;
  /// Asks the owner to call flush() soon; false if it cannot.
  using post_fn = std::function<bool()>;

  batch_outbox(std::size_t max_bytes, post_fn post, send_fn send)
    : max_bytes_(max_bytes), post_(std::move(post)), send_(std::move(send)) {}

  /// Adds one frame for `to`.
  void add(const Key& to, std::string_view frame) {
    std::vector<char> full;
    bool post = false;
    {
      std::lock_guard guard{mtx_};
      if (closed_) {
        append_frame(full, frame);
      } else {
        auto i = find(to);
        if (i == batches_.end()) {
          batches_.emplace_back(to, std::vector<char>{});
          i = batches_.end() - 1;
        }
        append_frame(i->second, frame);
        if (i->second.size() >= max_bytes_) {
          full = std::move(i->second);
          batches_.erase(i);
        }
        if (!posted_ && !batches_.empty()) {
          posted_ = true;
          post = true;
        }
      }
    }
    if (!full.empty())
      send_(to, std::move(full));
    if (post && !post_())
      flush();
  }

  /// Sends every batch gathered so far.
  void flush() {
    std::vector<std::pair<Key, std::vector<char>>> out;
    {
      std::lock_guard guard{mtx_};
      out.swap(batches_);
      posted_ = false;
    }
    for (auto& [to, batch] : out)
      send_(to, std::move(batch));
  }

  /// Flushes; later frames leave one by one from the adding thread (the
  /// owner has ended).
  void close() {
    {
      std::lock_guard guard{mtx_};
      closed_ = true;
    }
    flush();
  }

  /// Drops every frame not yet sent.
  void clear() {
    std::lock_guard guard{mtx_};
    batches_.clear();
  }

  /// Frames waiting, in bytes (for tests).
  std::size_t pending_bytes() {
    std::lock_guard guard{mtx_};
    std::size_t n = 0;
    for (auto& kv : batches_)
      n += kv.second.size();
    return n;
  }

 private:
  using batch_list = std::vector<std::pair<Key, std::vector<char>>>;

  typename batch_list::iterator find(const Key& to) {
    for (auto i = batches_.begin(); i != batches_.end(); ++i)
      if (i->first == to)
        return i;
    return batches_.end();
  }

  const std::size_t max_bytes_;
  const post_fn post_;
  const send_fn send_;
  std::mutex mtx_;
  batch_list batches_;
  bool posted_ = false;
  bool closed_ = false;
};

} // namespace lumen::detail
