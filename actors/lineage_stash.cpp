// lineage_stash: flushing and committing stashed lineage.
#include "actors/lineage_stash.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "lineage/lineage_log.hpp"
#include "lineage/lineage_pins.hpp"
#include "lineage/stash.hpp"
#include "log/log.hpp"

namespace lumen {

namespace {

/// How long a row may wait for the GCS before it is written to disk here
/// (between one and two periods).
constexpr auto flush_period = std::chrono::milliseconds{20};

/// How long appended rows gather before they go to the GCS. One pump, one
/// batch and one commit per period, not per task: a task submitted alone
/// (a synchronous `get` after each `remote`) would otherwise pay for a
/// commit round trip of its own, several thread wake-ups, every time.
/// A row goes at the second pump after it came (lineage_stash::ripen),
/// one to two periods later, unless its task's object was freed by then
/// and lineage collection dropped it: long enough for most (a batch of a
/// thousand refs read and dropped takes about 5 ms), short next to the
/// flush period.
constexpr auto gather_period = std::chrono::milliseconds{5};

/// Task ids collected at one time, deleted from the GCS once the stash
/// committed `mark` rows in all (every row it held then): a row deleted
/// before its commit would come back.
struct pending_delete {
  std::uint64_t mark = 0;
  std::vector<std::string> ids;
};

/// Ids one deletion sends at most.
constexpr std::size_t delete_batch = 16384;

struct stash_state {
  detail::lineage_stash* stash = nullptr;
  caf::actor gcs;
  /// The GCS's log when the GCS runs in this process: committed to here.
  detail::local_lineage_log local;
  bool in_flight = false;
  bool retry_scheduled = false;
  bool flush_scheduled = false;
  bool pump_scheduled = false;
  bool warned = false;
  /// Collected lineage to delete from the GCS (lineage collection): the
  /// owner's pins, the deletions waiting, and those sent.
  detail::lineage_pins* pins = nullptr;
  std::deque<pending_delete> deletes;
  std::vector<std::string> deleting;
  const char* name = "lumen.lineage_stash";
};

using self_ptr = lineage_stash_actor::stateful_pointer<stash_state>;

/// Logs `what` (a warning), once.
void warn_once(self_ptr self, const std::string& what) {
  auto& st = self->state;
  if (!st.warned)
    detail::log_warn("lineage stash: ", what);
  st.warned = true;
}

/// (tick) again in a second: a failed batch is tried once more then.
void schedule_retry(self_ptr self) {
  auto& st = self->state;
  if (st.retry_scheduled)
    return;
  st.retry_scheduled = true;
  self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
}

/// Keeps the flush timer running while rows wait that are not on disk.
void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.flush_scheduled || !st.stash->has_unflushed())
    return;
  st.flush_scheduled = true;
  self->delayed_send(self, flush_period, flush_timer_atom::value);
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  try {
    st.stash->flush_to_disk();
  } catch (const std::exception& e) {
    // The rows stay in memory (and still travel with tasks); try again.
    warn_once(self, e.what());
  }
  schedule_flush(self);
}

/// Pumps once the rows have gathered for a period (once per period).
void schedule_pump(self_ptr self) {
  auto& st = self->state;
  if (st.pump_scheduled)
    return;
  st.pump_scheduled = true;
  self->delayed_send(self, gather_period, lineage_pump_atom::value);
}

/// Commits every ripe segment to the GCS's log in this process, each
/// written straight from the stash's buffer.
void commit_here(self_ptr self) {
  auto& st = self->state;
  constexpr auto max = detail::lineage_stash::segment_rows;
  for (auto batch = st.stash->next_commit_batch(max, true); !batch.empty();
       batch = st.stash->next_commit_batch(max, true)) {
    try {
      st.local.log->commit(*batch.rows, st.local.sync);
    } catch (const std::exception& e) {
      // The rows stay here (and go to disk in a period); again later.
      st.stash->retry(batch.seq);
      warn_once(self, e.what());
      schedule_retry(self);
      return;
    }
    batch.rows.reset(); // its buffer may serve the next segment
    st.stash->committed(batch.seq);
  }
}

/// Deletes from the GCS the lineage whose rows this stash has committed
/// (every row it held when the lineage was collected); one deletion in
/// flight at a time.
void send_deletes(self_ptr self) {
  auto& st = self->state;
  if (!st.deleting.empty())
    return;
  auto committed = st.stash->committed_total();
  while (!st.deletes.empty() && st.deletes.front().mark <= committed &&
         st.deleting.size() < delete_batch) {
    auto& ids = st.deletes.front().ids;
    st.deleting.insert(st.deleting.end(), std::make_move_iterator(ids.begin()),
                       std::make_move_iterator(ids.end()));
    st.deletes.pop_front();
  }
  if (st.deleting.empty())
    return;
  auto failed = [self](const std::string& why) {
    // Kept, and sent again with the next retry.
    auto& st = self->state;
    st.deletes.push_front(pending_delete{0, std::move(st.deleting)});
    st.deleting.clear();
    warn_once(self, "collected lineage not deleted yet: " + why);
    schedule_retry(self);
  };
  if (st.local.log) {
    try {
      st.local.log->erase(st.deleting);
    } catch (const std::exception& e) {
      failed(e.what());
      return;
    }
    st.deleting.clear();
    if (!st.deletes.empty() && st.deletes.front().mark <= committed)
      send_deletes(self); // more than one batch's worth
    return;
  }
  if (!st.gcs) {
    failed("no GCS yet");
    return;
  }
  self
    ->request(st.gcs, std::chrono::seconds(10), lineage_delete_atom::value,
              st.deleting)
    .then(
      [self](std::uint64_t) {
        self->state.deleting.clear();
        send_deletes(self);
      },
      [self, failed](caf::error& err) {
        failed(self->system().render(err));
      });
}

/// Takes the lineage the owner's pins collected: rows still here that are
/// not on their way to the GCS never go (most of them: a task's object is
/// usually freed before the next commit); the rest is deleted from the GCS
/// once committed, and so is a dropped row that went to another node with
/// a task, which may commit a copy (lineage_log.hpp, tombstones).
void collect(self_ptr self) {
  auto& st = self->state;
  if (st.pins == nullptr)
    return;
  auto ids = st.pins->take_collected();
  if (ids.empty())
    return;
  ids = st.stash->discard(std::move(ids)).to_delete;
  if (ids.empty())
    return;
  pending_delete d;
  // Committed first, then the rows still held (taken in), which are all
  // a collected task's row can be in now: never above the rows held
  // now, so the mark is reached.
  d.mark = st.stash->committed_total() + st.stash->held();
  d.ids.reserve(ids.size());
  for (auto& t : ids)
    d.ids.push_back(t.to_string());
  st.deletes.push_back(std::move(d));
}

void send_batch(self_ptr self);

void pump(self_ptr self) {
  auto& st = self->state;
  // Collected lineage first: its rows are dropped before they are
  // encoded or committed.
  collect(self);
  // A period's rows, taken in a chunk at a time: this thread yields its
  // core between chunks to whatever woke on it (lineage_stash.hpp).
  st.stash->take_in();
  schedule_flush(self);
  if (st.local.log)
    commit_here(self);
  else
    send_batch(self);
  // What came this period goes at the next pump, unless collected first.
  if (st.stash->ripen() > 0)
    schedule_pump(self);
  send_deletes(self);
}

/// Sends the oldest ripe segment to the GCS, one batch in flight at a time.
void send_batch(self_ptr self) {
  auto& st = self->state;
  if (st.in_flight || !st.gcs)
    return;
  auto batch =
    st.stash->next_commit_batch(detail::lineage_stash::segment_rows, true);
  if (batch.empty())
    return;
  st.in_flight = true;
  auto seq = batch.seq;
  self
    ->request(st.gcs, std::chrono::seconds(10), lineage_batch_atom::value,
              std::string{*batch.rows})
    .then(
      [self, seq](std::uint64_t) {
        auto& st = self->state;
        st.in_flight = false;
        st.stash->committed(seq);
        // What may go goes now (rows from peers gathered meanwhile in an
        // open segment), rather than a period later.
        send_batch(self);
        schedule_pump(self); // what came in meanwhile
      },
      [self, seq](caf::error&) {
        auto& st = self->state;
        st.in_flight = false;
        st.stash->retry(seq);
        schedule_retry(self);
      });
}

/// Lowers the calling thread's priority by stash_nice_offset (Linux gives
/// each thread a nice value of its own). Best effort: a thread may always
/// lower its own priority, and if that fails it runs as before.
void lower_own_priority() {
  auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  int nice = ::getpriority(PRIO_PROCESS, tid);
  if (nice == -1 && errno != 0)
    return;
  ::setpriority(PRIO_PROCESS, tid, std::min(nice + stash_nice_offset, 19));
}

lineage_stash_actor::behavior_type
lineage_stash_behavior(self_ptr self, detail::lineage_stash* stash,
                       caf::actor gcs, detail::local_lineage_log local,
                       detail::lineage_pins* pins) {
  // Detached: this runs on the actor's own thread, which CAF starts for it.
  lower_own_priority();
  self->state.stash = stash;
  self->state.gcs = std::move(gcs);
  self->state.local = std::move(local);
  self->state.pins = pins;
  // Rows an earlier run left behind go out at once.
  if (stash->uncommitted() > 0)
    self->send(self, tick_atom::value);
  return {
    [self](tick_atom) {
      // Rows came (or a failed batch waits for its retry).
      self->state.retry_scheduled = false;
      schedule_pump(self);
    },
    [self](lineage_pump_atom) {
      self->state.pump_scheduled = false;
      pump(self);
    },
    [self](flush_timer_atom) {
      flush(self);
    },
    [self](join_atom, caf::actor gcs) {
      self->state.gcs = std::move(gcs);
      pump(self);
    },
    [self](stats_atom) -> caf::result<std::uint64_t, std::uint64_t> {
      auto& st = *self->state.stash;
      return {static_cast<std::uint64_t>(st.uncommitted()),
              st.committed_total()};
    },
  };
}

} // namespace

lineage_stash_actor make_lineage_stash(caf::actor_system& sys,
                                       detail::lineage_stash* stash,
                                       caf::actor gcs,
                                       const detail::local_lineage_log* local,
                                       detail::lineage_pins* pins) {
  // A thread of its own: its handlers write files (the GCS's log,
  // RocksDB) and encode a period's rows, hundreds of microseconds at a
  // time under load, and would otherwise hold one of the scheduler's few
  // workers meanwhile, the scheduler's and the task actors' (README,
  // "The stash gets a thread"). That thread runs at a lower priority
  // (lineage_stash.hpp).
  return sys.spawn<caf::detached>(
    lineage_stash_behavior, stash, std::move(gcs),
    local != nullptr ? *local : detail::local_lineage_log{}, pins);
}

} // namespace lumen
