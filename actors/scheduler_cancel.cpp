// scheduler: cancels (see scheduler.hpp and lumen/cancel.hpp).
//
// Cancels are gathered and applied together, in one pass over each queue:
// cancelling 10,000 queued tasks costs one walk of the queue, not 10,000.
// Where a cancelled task is decides what happens:
// - queued (the ready queue, infeasible, waiting for arguments, parked,
//   unplaceable): removed, its ref fails with task_cancelled_error;
// - pipelined behind a running task on a worker: taken back, then as
//   queued;
// - running: its task actor is told; `lumen::cancelled()` turns true (see
//   task_actor.hpp);
// - none of these: the cluster link is told (it may have sent the task to
//   a peer), and the cancel is kept for a while for a task that comes
//   after it (a child submitted while its parent was being cancelled).
#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actors/scheduler_state.hpp"
#include "log/log.hpp"
#include "scheduling/cancel_state.hpp"

namespace lumen::detail_scheduler {

namespace {

/// How long a cancel that found no task waits for one.
constexpr auto unmatched_keep = std::chrono::seconds(30);

/// Ends a task that never ran as cancelled: its owner sees the error.
void end_cancelled(scheduler_state& st, const detail::task_ptr& task) {
  detail::log_debug("task '", task->options.name, "' was cancelled");
  auto err = detail::cancelled_error(task->options.name);
  if (task->deliver)
    task->deliver(std::move(err));
  else
    st.table->fulfill(task->return_id, std::move(err));
}

using request_map = std::unordered_map<task_id, detail::cancel_request>;

/// Removes the tasks of `todo` from the queues that hold tasks that have
/// no actor; returns how they were found, by id.
template <class Selected>
void remove_queued(self_ptr self, const request_map& todo, Selected selected,
                   std::unordered_set<task_id>& found) {
  auto& st = self->state;
  for (auto& t : st.sched.remove_if(selected)) {
    found.insert(t->id);
    auto d = st.detached.find(t.get());
    if (d == st.detached.end()) {
      end_cancelled(st, t);
      continue;
    }
    // Its call was taken back from a worker: its actor ends it.
    auto r = todo.find(t->id);
    bool force = r != todo.end() && r->second.force;
    caf::anon_send(d->second.actor, cancel_atom::value, force, true, true);
    st.detached.erase(d);
  }
  if (!st.waiting.empty()) {
    std::vector<detail::task_ptr> waited;
    for (auto i = st.waiters.begin(); i != st.waiters.end();) {
      auto& ts = i->second;
      for (auto& t : ts)
        if (selected(*t) && st.waiting.erase(t.get()) > 0)
          waited.push_back(t);
      ts.erase(std::remove_if(ts.begin(), ts.end(),
                              [&](const detail::task_ptr& t) {
                                return selected(*t);
                              }),
               ts.end());
      i = ts.empty() ? st.waiters.erase(i) : std::next(i);
    }
    for (auto& t : waited) {
      found.insert(t->id);
      end_cancelled(st, t);
    }
  }
  for (auto i = st.parked.begin(); i != st.parked.end();) {
    auto& ts = i->second;
    auto end = std::stable_partition(ts.begin(), ts.end(),
                                     [&](const detail::task_ptr& t) {
                                       return !selected(*t);
                                     });
    for (auto j = end; j != ts.end(); ++j) {
      found.insert((*j)->id);
      end_cancelled(st, *j);
    }
    ts.erase(end, ts.end());
    i = ts.empty() ? st.parked.erase(i) : std::next(i);
  }
  for (auto* v : {&st.unplaceable, &st.unreachable}) {
    auto end = std::stable_partition(v->begin(), v->end(),
                                     [&](const detail::task_ptr& t) {
                                       return !selected(*t);
                                     });
    for (auto i = end; i != v->end(); ++i) {
      found.insert((*i)->id);
      end_cancelled(st, *i);
    }
    v->erase(end, v->end());
  }
}

} // namespace

void add_cancel(self_ptr self, const detail::cancel_request& r) {
  auto& st = self->state;
  auto [i, fresh] = st.cancels.emplace(r.id, r);
  if (!fresh) {
    i->second.force |= r.force;
    i->second.recursive |= r.recursive;
  }
  if (!st.cancel_posted) {
    st.cancel_posted = true;
    self->send(self, cancel_atom::value);
  }
}

namespace {

/// Applies the cancels in `todo`, and to the queued tasks `selected`
/// picks; returns the ids it found here.
template <class Selected>
std::unordered_set<task_id> apply(self_ptr self, const request_map& todo,
                                  Selected selected) {
  auto& st = self->state;
  std::unordered_set<task_id> found;
  // Pipelined behind a running task: taken back into the queue first.
  std::vector<detail::worker_pool::worker*> crowded;
  for (auto& [id, r] : todo) {
    auto i = st.running.find(id);
    if (i == st.running.end())
      continue;
    auto l = st.leases.find(i->second.worker);
    if (l != st.leases.end() && !l->second.tasks.empty() &&
        l->second.tasks.front()->id != id)
      crowded.push_back(i->second.worker);
  }
  std::sort(crowded.begin(), crowded.end());
  crowded.erase(std::unique(crowded.begin(), crowded.end()), crowded.end());
  for (auto* w : crowded)
    if (auto l = st.leases.find(w); l != st.leases.end())
      take_back(self, w, l->second, false);
  // Running (or on a worker that could not give it back): its actor.
  for (auto& [id, r] : todo) {
    auto i = st.running.find(id);
    if (i == st.running.end())
      continue;
    found.insert(id);
    caf::anon_send(i->second.actor, cancel_atom::value, r.force, r.recursive);
  }
  remove_queued(self, todo, selected, found);
  return found;
}

/// Task ids are 32 hex digits; nil for anything else.
task_id parse_id(const std::string& text) {
  task_id id;
  if (text.size() != 32 ||
      text.find_first_not_of("0123456789abcdef") != std::string::npos)
    return id;
  id.hi = std::stoull(text.substr(0, 16), nullptr, 16);
  id.lo = std::stoull(text.substr(16), nullptr, 16);
  return id;
}

} // namespace

void apply_cancels(self_ptr self) {
  auto& st = self->state;
  st.cancel_posted = false;
  if (st.cancels.empty())
    return;
  request_map todo;
  todo.swap(st.cancels);
  auto found = apply(self, todo, [&todo](const detail::task_spec& t) {
    return todo.count(t.id) > 0;
  });
  // Elsewhere, finished, or not here yet.
  auto now = std::chrono::steady_clock::now();
  for (auto i = st.unmatched_cancels.begin(); i != st.unmatched_cancels.end();)
    i = now - i->second.second > unmatched_keep ? st.unmatched_cancels.erase(i)
                                                : std::next(i);
  for (auto& [id, r] : todo) {
    if (found.count(id) > 0)
      continue;
    if (r.force) // owned here: fails at once (first value wins)
      st.table->fulfill(object_id{id, 1},
                        detail::cancelled_error(id.to_string()));
    if (st.link)
      self->send(st.link, cancel_atom::value, id, r.force, r.recursive);
    st.unmatched_cancels[id] = {r, now};
  }
  dispatch(self);
}

void cancel_job(self_ptr self, const std::string& job_text) {
  auto& st = self->state;
  auto job = parse_id(job_text);
  if (job.nil()) {
    detail::log_warn("ignored the end of job '", job_text, "': not a job id");
    return;
  }
  // Its running and pipelined tasks by id; its queued ones by job.
  request_map todo;
  for (auto& [w, l] : st.leases)
    for (auto& t : l.tasks)
      if (t->job == job)
        todo.emplace(t->id, detail::cancel_request{t->id, false, true});
  auto found = apply(self, todo, [&job](const detail::task_spec& t) {
    return t.job == job;
  });
  if (!found.empty())
    detail::log_info("job ", job_text, " ended: cancelled ", found.size(),
                     " of its tasks here");
  dispatch(self);
}

bool cancelled_on_arrival(self_ptr self, const detail::task_ptr& task) {
  auto& st = self->state;
  auto i = st.unmatched_cancels.find(task->id);
  if (i == st.unmatched_cancels.end())
    return false;
  st.unmatched_cancels.erase(i);
  end_cancelled(st, task);
  return true;
}

} // namespace lumen::detail_scheduler
