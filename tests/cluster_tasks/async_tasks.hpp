// Async actors (lumen/async.hpp) for the tests, on one node and on node
// processes that load this library: coroutine methods that await refs,
// other actors' calls and timers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <lumen/actor.hpp>
#include <lumen/async.hpp>

namespace async_tasks {

/// A task: sleeps `ms` milliseconds (blocking its worker), returns `v`.
std::int64_t slow_value(std::int64_t v, int ms);

/// A task that throws std::runtime_error(msg).
std::int64_t failing_value(std::string msg);

/// The node id of the process running it (a task).
std::string node_of();

struct Waiter {
  static Waiter* create();

  /// Awaits `r` (made anywhere) and returns its value plus `add`.
  lumen::async<std::int64_t> add_to(lumen::object_ref<std::int64_t> r,
                                    std::int64_t add);

  /// Submits slow_value(v, ms) as a task and awaits it.
  lumen::async<std::int64_t> via_task(std::int64_t v, int ms);

  /// Sleeps `ms` (a timer, not the thread), then returns this node's id.
  lumen::async<std::string> nap(int ms);

  /// After a sleep of `ms`: lumen::context()'s actor id, namespace and
  /// "CPU=<n>", as the coroutine sees them once resumed.
  lumen::async<std::vector<std::string>> context_after(int ms);

  /// Calls `other.nap(ms)` and awaits it: "<this node>/<other's node>".
  lumen::async<std::string> relay(lumen::actor_handle<Waiter> other, int ms);

  /// Counts the calls in flight around a sleep of `ms`; returns the most
  /// seen at once so far.
  lumen::async<int> track(int ms);

  /// The most calls seen in flight at once (a plain method).
  int peak() const;

  /// Sleeps `ms`, then throws std::domain_error(msg).
  lumen::async<int> fail_after(int ms, std::string msg);

  /// Awaits `r`, which is expected to fail; returns "caught: <message>".
  lumen::async<std::string> catch_failure(lumen::object_ref<std::int64_t> r);

  /// As catch_failure, but blocking in lumen::get (a plain method).
  std::string catch_failure_sync(lumen::object_ref<std::int64_t> r);

  /// Starts slow_value(v, ms) and returns at once; a `then` callback
  /// stores the value, on this actor's thread, after this call has ended.
  lumen::async<int> then_inside(std::int64_t v, int ms);

  /// What the `then` callback of then_inside stored (0: not yet).
  std::int64_t then_seen() const;

  /// Sleeps `ms`, then ends the actor with lumen::exit_actor().
  lumen::async<int> quit_after(int ms);

  /// Appends `x` to the log after sleeping `ms`; returns the log so far.
  lumen::async<std::string> append(std::string x, int ms);

  int in_flight = 0;
  int max_in_flight = 0;
  std::string log;
  std::int64_t then_value = 0;
};

} // namespace async_tasks
