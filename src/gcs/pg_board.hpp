// The placement groups of a GCS as the callers in its own process see them:
// the gcs actor writes each group's state here as it changes (created,
// placed, removed), and `wait_placement_group` on that process reads it,
// blocking on a condition variable, instead of a request to the GCS and a
// blocked scoped_actor per call (two thread wake-ups per round trip).
//
// A caller that sends a create or a remove without waiting for the GCS
// (the runtime does so when the GCS keeps its tables in memory, so no
// write can fail) marks it here first: `announce` makes the group pending
// until the GCS has it, `withdraw` makes it gone at once, so that the
// caller's next `wait` answers as if the GCS had already handled it. A
// withdrawn group stays gone even when the GCS, handling the create that
// came before the remove, reports it pending or placed; the GCS's own
// removal (`erase`) forgets it.
//
// Entries live while their group does (a removed group's entry is
// erased), so the board holds as many entries as the GCS has groups, plus
// removals in flight.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace lumen::detail {

class pg_board {
 public:
  // -- callers of this process -----------------------------------------------

  /// A create of `id` is on its way to the GCS: `id` is pending unless
  /// the board knows it already.
  void announce(const std::string& id);

  /// A remove of `id` is on its way to the GCS: `id` is gone from now on
  /// (waiters wake up and see false).
  void withdraw(const std::string& id);

  /// Waits until `id` is placed (true) or gone or unknown (false), at most
  /// `timeout` (nanoseconds::max(): no limit); false when it runs out.
  bool wait(const std::string& id, std::chrono::nanoseconds timeout);

  // -- the gcs actor ---------------------------------------------------------

  /// The GCS holds `id`, placed or not (a withdrawn id stays gone).
  void set(const std::string& id, bool placed);

  /// The GCS removed `id` (or never created it): forgotten, waiters see
  /// false.
  void erase(const std::string& id);

  /// The GCS has ended: every wait, now and later, answers false.
  void close();

  /// Entries held (for tests).
  std::size_t size() const;

 private:
  enum class state : std::uint8_t { pending, placed, gone };

  /// Wakes the waiters if one waits for `id` (no system call otherwise).
  void notify_locked(const std::string& id);

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<std::string, state> groups_;
  /// Waiters per group id.
  std::unordered_map<std::string, std::size_t> waiters_;
  bool closed_ = false;
};

} // namespace lumen::detail
