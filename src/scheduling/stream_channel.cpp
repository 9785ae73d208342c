// Streaming generators: the caller's stream_state, the channels that feed
// it, and the registry that finds them by task id (stream_channel.hpp).
#include "scheduling/stream_channel.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/send.hpp>

#include "log/log.hpp"
#include "lumen/codec.hpp"
#include "lumen/error.hpp"
#include "objects/object_table.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/remote_task.hpp"
#include "wire/frames.hpp"

namespace lumen::detail {

struct stream_state {
  task_id task;
  std::uint32_t window = 0;
  object_table* table = nullptr;
  /// The task's own return {task, 1}: the item count or the error.
  ref_ptr end;
  mutable std::mutex mtx;
  std::condition_variable cv;
  /// Received, not read yet.
  std::deque<object_ptr> queue;
  /// Index of the next item expected (items received so far).
  std::uint64_t received = 0;
  /// Items the caller read.
  std::uint64_t consumed = 0;
  /// The consumed count last sent to a remote producer.
  std::uint64_t acked = 0;
  /// Dropped or stopped: the producer stops, the stream is over.
  bool closed = false;
  /// The end's value, once ready, and when it came.
  object_ptr end_value;
  std::chrono::steady_clock::time_point end_seen;
  /// The link of the node the producer runs on, if not this one.
  caf::actor producer;
};

namespace {

/// How long items may lag behind the end of their stream.
constexpr auto missing_items_grace = std::chrono::seconds(2);

/// Bytes of an ack: task id, consumed count, gone flag.
constexpr std::size_t ack_size = 16 + 8 + 1;

std::vector<char> encode_ack(const task_id& task, std::uint64_t consumed,
                             bool gone) {
  std::vector<char> out(ack_size);
  std::memcpy(out.data(), &task.hi, 8);
  std::memcpy(out.data() + 8, &task.lo, 8);
  std::memcpy(out.data() + 16, &consumed, 8);
  out[24] = gone ? 1 : 0;
  return out;
}

class remote_channel;

struct registry {
  std::mutex mtx;
  std::unordered_map<task_id, std::weak_ptr<stream_state>> consumers;
  std::unordered_map<task_id, std::weak_ptr<remote_channel>> producers;
};

registry& streams() {
  static registry r;
  return r;
}

std::shared_ptr<stream_state> find_consumer(const task_id& task) {
  auto& r = streams();
  std::lock_guard guard{r.mtx};
  auto i = r.consumers.find(task);
  return i == r.consumers.end() ? nullptr : i->second.lock();
}

/// Sends `s`'s consumed count to its remote producer; called without the
/// lock, with what was read under it.
void send_ack(const caf::actor& to, const task_id& task, std::uint64_t consumed,
              bool gone) {
  if (to)
    caf::anon_send(to, stream_ack_atom::value,
                   encode_ack(task, consumed, gone));
}

/// An execution on the caller's node writes straight into the state.
class local_channel final : public stream_channel {
 public:
  explicit local_channel(std::shared_ptr<stream_state> s)
    : state_(std::move(s)) {}

  bool push(std::uint64_t index, object_data&& item) override {
    auto& s = *state_;
    std::unique_lock guard{s.mtx};
    if (s.closed)
      return false;
    if (index != s.received)
      return true; // a re-execution's item the caller has (or a gap)
    auto room = [&] {
      return s.closed || s.window == 0 || s.received - s.consumed < s.window;
    };
    if (!room()) {
      block_scope blocked; // its CPU is free for others meanwhile
      s.cv.wait(guard, room);
    }
    if (s.closed)
      return false;
    s.queue.push_back(std::make_shared<const object_data>(std::move(item)));
    ++s.received;
    guard.unlock();
    s.cv.notify_all();
    return true;
  }

 private:
  std::shared_ptr<stream_state> state_;
};

/// An execution on another node than the caller's: batches to the owner.
class remote_channel final
  : public stream_channel,
    public std::enable_shared_from_this<remote_channel> {
 public:
  remote_channel(const task_id& task, std::uint32_t window, caf::actor owner,
                 caf::actor self_link)
    : task_(task), window_(window), owner_(std::move(owner)),
      self_link_(std::move(self_link)) {}

  ~remote_channel() override {
    auto& r = streams();
    std::lock_guard guard{r.mtx};
    auto i = r.producers.find(task_);
    if (i != r.producers.end() && i->second.expired())
      r.producers.erase(i);
  }

  bool push(std::uint64_t index, object_data&& item) override {
    auto obj = std::make_shared<const object_data>(std::move(item));
    auto frame = encode_result(
      object_id{task_, static_cast<std::uint32_t>(index + 2)}, obj);
    bool ask_flush = false;
    {
      std::unique_lock guard{mtx_};
      auto room = [&] {
        return gone_ || window_ == 0 || index < acked_ + window_;
      };
      if (!room()) {
        block_scope blocked;
        cv_.wait(guard, room);
      }
      if (gone_)
        return false;
      append_frame(batch_, std::string_view{frame.data(), frame.size()});
      ask_flush = !flush_pending_;
      flush_pending_ = true;
      // A full window: what is queued must go now, or no ack comes back.
      if (window_ != 0 && index + 1 >= acked_ + window_)
        ask_flush = true;
    }
    if (ask_flush)
      caf::anon_send(self_link_, stream_flush_atom::value,
                     stream_channel_ptr{shared_from_this()});
    return true;
  }

  void flush() override {
    std::lock_guard send_guard{send_mtx_};
    std::vector<char> batch;
    {
      std::lock_guard guard{mtx_};
      batch.swap(batch_);
      flush_pending_ = false;
    }
    if (!batch.empty())
      caf::anon_send(owner_, stream_atom::value, std::move(batch), self_link_);
  }

  void finish() override {
    flush();
  }

  void ack(std::uint64_t consumed, bool gone) {
    {
      std::lock_guard guard{mtx_};
      acked_ = std::max(acked_, consumed);
      gone_ = gone_ || gone;
    }
    cv_.notify_all();
  }

 private:
  task_id task_;
  std::uint32_t window_;
  caf::actor owner_;
  caf::actor self_link_;
  /// Held while a batch is taken and sent, so batches go out in order.
  std::mutex send_mtx_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<char> batch_;
  bool flush_pending_ = false;
  std::uint64_t acked_ = 0;
  bool gone_ = false;
};

/// The end of the stream is ready: record it, wake the reader.
void on_end(const std::weak_ptr<stream_state>& weak) {
  auto s = weak.lock();
  if (!s)
    return;
  ref_ptr end;
  {
    std::lock_guard guard{s->mtx};
    end = s->end;
  }
  if (!end)
    return;
  auto value = s->table->try_get(end.get());
  {
    std::lock_guard guard{s->mtx};
    s->end_value = std::move(value);
    s->end_seen = std::chrono::steady_clock::now();
  }
  s->cv.notify_all();
}

} // namespace

stream_channel::~stream_channel() = default;

std::shared_ptr<stream_channel> open_local_stream(const task_id& task,
                                                  std::uint32_t max_unconsumed,
                                                  object_table& table,
                                                  const ref_ptr& end) {
  auto s = std::make_shared<stream_state>();
  s->task = task;
  s->window = max_unconsumed;
  s->table = &table;
  s->end = end;
  {
    auto& r = streams();
    std::lock_guard guard{r.mtx};
    r.consumers[task] = s;
  }
  table.when_ready(end.get(), [weak = std::weak_ptr<stream_state>{s}] {
    on_end(weak);
  });
  return std::make_shared<local_channel>(s);
}

std::shared_ptr<stream_channel> open_remote_stream(const task_id& task,
                                                   std::uint32_t max_unconsumed,
                                                   caf::actor owner,
                                                   caf::actor self_link) {
  auto ch = std::make_shared<remote_channel>(
    task, max_unconsumed, std::move(owner), std::move(self_link));
  auto& r = streams();
  std::lock_guard guard{r.mtx};
  r.producers[task] = ch;
  return ch;
}

void on_stream_items(const std::vector<char>& batch, object_table& table,
                     const caf::actor& from) {
  std::vector<received_result> items;
  try {
    for (auto frame : split_frames(batch, "stream items"))
      items.push_back(decode_result(frame, table));
  } catch (const std::exception& e) {
    log_warn("dropped a batch of stream items: ", e.what());
    return;
  }
  if (items.empty())
    return;
  auto task = items.front().id.task;
  auto s = find_consumer(task);
  if (!s) {
    // The stream was dropped: its producer stops.
    send_ack(from, task, 0, true);
    return;
  }
  bool dup = false;
  std::uint64_t consumed = 0;
  {
    std::lock_guard guard{s->mtx};
    if (s->closed) {
      dup = true;
    } else {
      s->producer = from;
      for (auto& item : items) {
        if (item.id.task != task || item.id.index < 2 || !item.value) {
          log_warn("dropped a malformed stream item of task ",
                   task.to_string());
          continue;
        }
        std::uint64_t k = item.id.index - 2;
        if (k < s->received) {
          dup = true; // a re-execution yields from the start again
        } else if (k == s->received) {
          s->queue.push_back(std::move(item.value));
          ++s->received;
        } else {
          log_warn("stream of task ", task.to_string(), ": item ", k,
                   " came before item ", s->received, "; dropped");
        }
      }
    }
    consumed = s->consumed;
    if (dup)
      s->acked = consumed;
  }
  s->cv.notify_all();
  if (dup)
    send_ack(from, task, consumed, s->closed);
}

void on_stream_ack(const std::vector<char>& ack) {
  if (ack.size() != ack_size) {
    log_warn("dropped a stream ack of ", ack.size(), " bytes");
    return;
  }
  task_id task;
  std::uint64_t consumed = 0;
  std::memcpy(&task.hi, ack.data(), 8);
  std::memcpy(&task.lo, ack.data() + 8, 8);
  std::memcpy(&consumed, ack.data() + 16, 8);
  std::shared_ptr<remote_channel> ch;
  {
    auto& r = streams();
    std::lock_guard guard{r.mtx};
    auto i = r.producers.find(task);
    if (i != r.producers.end())
      ch = i->second.lock();
  }
  if (ch)
    ch->ack(consumed, ack[24] != 0);
}

// -- the API's side
// ------------------------------------------------------------

std::shared_ptr<stream_state> stream_adopt(const ref_ptr& end) {
  auto s = end ? find_consumer(end.id().task) : nullptr;
  if (!s)
    throw error("lumen: no stream was opened for task " +
                (end ? end.id().task.to_string() : std::string{"(none)"}));
  return s;
}

ref_ptr stream_next(stream_state& s, std::chrono::nanoseconds timeout) {
  auto deadline = timeout == std::chrono::nanoseconds::max()
                    ? std::chrono::steady_clock::time_point::max()
                    : std::chrono::steady_clock::now() + timeout;
  std::unique_lock guard{s.mtx};
  for (;;) {
    if (s.closed)
      return {};
    if (!s.queue.empty()) {
      auto obj = std::move(s.queue.front());
      s.queue.pop_front();
      auto k = s.consumed++;
      caf::actor to;
      std::uint64_t consumed = s.consumed;
      if (s.producer && s.window != 0 &&
          consumed - s.acked >= std::max<std::uint32_t>(1, s.window / 4)) {
        to = s.producer;
        s.acked = consumed;
      }
      guard.unlock();
      s.cv.notify_all(); // a local producer waiting for room
      send_ack(to, s.task, consumed, false);
      return s.table->put(object_id{s.task, static_cast<std::uint32_t>(k + 2)},
                          std::move(obj));
    }
    if (s.end_value) {
      if (s.end_value->error) {
        auto info = *s.end_value->error;
        info.message =
          "stream of task '" +
          (info.task_name.empty() ? s.task.to_string() : info.task_name) +
          "' ended after " + std::to_string(s.received) +
          " items: " + info.message;
        if (info.kind == error_kind::runtime_error ||
            info.kind == error_kind::object_lost)
          info.message += " (items after these could not be rebuilt)";
        throw_error(info);
      }
      std::uint64_t total = 0;
      try {
        total = from_object<std::uint64_t>(*s.end_value);
      } catch (const std::exception& e) {
        throw error(std::string{"lumen: bad end of stream: "} + e.what());
      }
      if (s.received >= total)
        return {};
      // Items come before the end (stream_channel.hpp); a short grace
      // covers what is still being handed over, then it is an error.
      auto give_up = s.end_seen + missing_items_grace;
      if (std::chrono::steady_clock::now() >= give_up)
        throw error("lumen: the generator of task " + s.task.to_string() +
                    " made " + std::to_string(total) + " items but only " +
                    std::to_string(s.received) + " reached this node");
      if (s.cv.wait_until(guard, std::min(deadline, give_up)) ==
            std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline)
        throw timeout_error("lumen: no stream item within the timeout");
      continue;
    }
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      s.cv.wait(guard);
    } else if (s.cv.wait_until(guard, deadline) == std::cv_status::timeout &&
               s.queue.empty() && !s.end_value && !s.closed) {
      throw timeout_error("lumen: no stream item within the timeout");
    }
  }
}

std::uint64_t stream_consumed(const stream_state& s) {
  std::lock_guard guard{s.mtx};
  return s.consumed;
}

void stream_close(stream_state& s) {
  caf::actor to;
  ref_ptr end;
  std::deque<object_ptr> queue;
  {
    std::lock_guard guard{s.mtx};
    if (s.closed)
      return;
    s.closed = true;
    to = s.producer;
    end = std::move(s.end);
    queue.swap(s.queue);
  }
  s.cv.notify_all();
  {
    auto& r = streams();
    std::lock_guard guard{r.mtx};
    auto i = r.consumers.find(s.task);
    if (i != r.consumers.end()) {
      auto held = i->second.lock();
      if (!held || held.get() == &s)
        r.consumers.erase(i);
    }
  }
  send_ack(to, s.task, 0, true);
}

bool stream_stop(const task_id& task) {
  auto s = find_consumer(task);
  if (!s)
    return false;
  stream_close(*s);
  return true;
}

std::size_t open_streams() {
  auto& r = streams();
  std::lock_guard guard{r.mtx};
  std::size_t n = 0;
  for (auto& [task, weak] : r.consumers)
    if (!weak.expired())
      ++n;
  for (auto& [task, weak] : r.producers)
    if (!weak.expired())
      ++n;
  return n;
}

void* stream_producer() {
  auto* ctx = current_context();
  return ctx != nullptr ? ctx->stream : nullptr;
}

bool stream_push(void* channel, std::uint64_t index, object_data&& item) {
  if (channel == nullptr)
    return true;
  return static_cast<stream_channel*>(channel)->push(index, std::move(item));
}

void stream_finish(void* channel) {
  if (channel != nullptr)
    static_cast<stream_channel*>(channel)->finish();
}

} // namespace lumen::detail
