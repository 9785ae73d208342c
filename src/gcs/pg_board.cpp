// The placement groups of a GCS, published for its own process.
#include "gcs/pg_board.hpp"

#include <optional>

namespace lumen::detail {

void pg_board::announce(const std::string& id) {
  std::lock_guard guard{mtx_};
  groups_.emplace(id, state::pending);
}

void pg_board::withdraw(const std::string& id) {
  std::lock_guard guard{mtx_};
  groups_[id] = state::gone;
  notify_locked(id);
}

bool pg_board::wait(const std::string& id, std::chrono::nanoseconds timeout) {
  using clock = std::chrono::steady_clock;
  std::unique_lock guard{mtx_};
  // Placed: true; gone or unknown: false; pending: no answer yet.
  auto answer = [&]() -> std::optional<bool> {
    auto i = groups_.find(id);
    if (closed_ || i == groups_.end() || i->second == state::gone)
      return false;
    if (i->second == state::placed)
      return true;
    return std::nullopt;
  };
  auto result = answer();
  if (result)
    return *result;
  // Far beyond any run (and clear of overflow in now() + timeout).
  bool forever = timeout > std::chrono::hours(24 * 365);
  auto deadline = forever ? clock::time_point::max() : clock::now() + timeout;
  auto& waiting = waiters_[id];
  ++waiting;
  while (!(result = answer())) {
    if (forever) {
      cv_.wait(guard);
    } else if (cv_.wait_until(guard, deadline) == std::cv_status::timeout) {
      result = answer();
      break;
    }
  }
  if (--waiting == 0)
    waiters_.erase(id);
  return result.value_or(false);
}

void pg_board::set(const std::string& id, bool placed) {
  std::lock_guard guard{mtx_};
  auto i = groups_.emplace(id, state::pending).first;
  if (i->second == state::gone)
    return;
  i->second = placed ? state::placed : state::pending;
  if (placed)
    notify_locked(id);
}

void pg_board::erase(const std::string& id) {
  std::lock_guard guard{mtx_};
  if (groups_.erase(id) > 0)
    notify_locked(id);
}

void pg_board::close() {
  std::lock_guard guard{mtx_};
  closed_ = true;
  groups_.clear();
  cv_.notify_all();
}

std::size_t pg_board::size() const {
  std::lock_guard guard{mtx_};
  return groups_.size();
}

void pg_board::notify_locked(const std::string& id) {
  if (waiters_.count(id) > 0)
    cv_.notify_all();
}

} // namespace lumen::detail
