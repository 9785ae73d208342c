// The one seam between the public API and the runtime behind it.
//
// Templates in include/lumen encode and decode values in the caller's thread
// and hand untyped objects across this interface; the runtime (src/) owns
// ids, scheduling, storage and everything CAF. A test can plug in another
// implementation.
//
// Thread safety: every member may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lumen/cluster.hpp"
#include "lumen/detail/object_data.hpp"

namespace lumen::detail {

/// Means "wait as long as it takes".
inline constexpr std::chrono::nanoseconds no_timeout =
  std::chrono::nanoseconds::max();

/// One argument of a task: a value encoded by the caller or a reference the
/// runtime resolves before the call (exactly one of the two is set).
struct task_arg {
  object_ptr value;
  ref_ptr ref;
};

/// Where a task (or actor) may run.
enum class scheduling_strategy : std::uint8_t {
  /// Locally while local resources allow, else the feasible node with the
  /// most spare capacity.
  default_strategy,
  /// Round robin over the feasible nodes.
  spread,
  /// On `affinity_node`; if it is dead or cannot hold the task, elsewhere
  /// when `affinity_soft`, else the task fails.
  node_affinity,
};

/// Scheduling and retry options of one task.
struct task_options {
  double num_cpus = 1.0;
  std::map<std::string, double> resources;
  int max_retries = 3;
  /// Whether an exception thrown by the task's code is retried too (within
  /// max_retries); by default only node failures are.
  bool retry_exceptions = false;
  std::string name;
  scheduling_strategy strategy = scheduling_strategy::default_strategy;
  std::string affinity_node;
  bool affinity_soft = false;
  /// Placement group to run in (empty: none) and its bundle (-1: any).
  std::string pg_id;
  int pg_bundle = -1;
  /// A generator task: its items stream to the caller (generator.hpp),
  /// at most `max_unconsumed` unread at a time (0: no bound).
  bool streaming = false;
  std::uint32_t max_unconsumed = 0;
  /// With retry_exceptions: the exception types retried (demangled names,
  /// matched exactly); empty: every type.
  std::vector<std::string> retry_on;
  /// Placement group the task's own children go to unless they ask for
  /// another placement (placement_group::capture_child_tasks); empty: none.
  std::string capture_pg;
};

struct function_entry;

/// What the API hands the runtime to submit a task.
struct task_request {
  std::string function;
  /// The registry entry behind `function`, when the caller has it, so the
  /// node that runs the task here needs no look-up by name.
  const function_entry* entry = nullptr;
  std::vector<task_arg> args;
  task_options options;
};

/// Placement, naming and restart options of one actor.
struct actor_options {
  /// CPUs held while the actor lives; unset: none held, but the actor is
  /// only placed on a node that has at least one CPU (as in Ray).
  std::optional<double> num_cpus;
  std::map<std::string, double> resources;
  std::string name;
  std::string ns;
  int max_concurrency = 1;
  int max_restarts = 0;
  int max_task_retries = 0;
  bool detached = false;
  /// Placement group to live in (empty: none) and its bundle (-1: any).
  std::string pg_id;
  int pg_bundle = -1;
  /// Where it may live in a cluster (as for tasks).
  scheduling_strategy strategy = scheduling_strategy::default_strategy;
  std::string affinity_node;
  bool affinity_soft = false;
  /// Calls from this process sent and not answered yet beyond which a
  /// call fails at once with pending_calls_exceeded_error; -1: no limit.
  int max_pending_calls = -1;
  /// Placement group the tasks and actors it submits go to unless they
  /// ask for another placement; empty: none.
  std::string capture_pg;
};

/// What the API hands the runtime to create an actor.
struct actor_request {
  std::string factory;
  std::uint64_t class_hash = 0;
  std::vector<task_arg> args;
  actor_options options;
};

/// What the API hands the runtime to call an actor method.
struct actor_call_request {
  /// The actor's handle reference (see create_actor).
  ref_ptr actor;
  std::string method;
  std::uint64_t class_hash = 0;
  std::vector<task_arg> args;
  /// A generator method: its items stream to the caller (as
  /// task_options).
  bool streaming = false;
  std::uint32_t max_unconsumed = 0;
  /// The name shown in errors and logs (empty: the method's).
  std::string name;
};

/// Interface implemented by the runtime that `lumen::init` starts.
class runtime_api {
 public:
  virtual ~runtime_api();

  /// Stores a new object; throws object_store_full_error when it cannot.
  virtual ref_ptr put(object_data&& data) = 0;

  /// Waits until the object is ready and returns it; throws timeout_error.
  virtual object_ptr get(const ref_ptr& ref,
                         std::chrono::nanoseconds timeout) = 0;

  /// Waits until all objects are ready; throws timeout_error. The caller
  /// holds a count on each ref until the call returns.
  virtual std::vector<object_ptr>
  get_all(const std::vector<const ref_header*>& refs,
          std::chrono::nanoseconds timeout) = 0;

  /// Waits until `num_returns` of `refs` are ready or `timeout` passes;
  /// returns one flag per ref: set for the first `num_returns` ready ones
  /// at least (others ready by then may be set too). The caller holds a
  /// count on each ref until the call returns.
  virtual std::vector<bool> wait(const std::vector<const ref_header*>& refs,
                                 std::size_t num_returns,
                                 std::chrono::nanoseconds timeout) = 0;

  /// Whether `ref`'s object is ready here now; never waits. The caller
  /// holds a count on `ref`.
  virtual bool ready(const ref_header* ref) = 0;

  // -- asynchronous waits (lumen/async.hpp) ---------------------------------
  // The defaults throw lumen::error: a runtime without them has no async
  // actors.

  /// Runs `callback` once `ref`'s object is ready here (or failed),
  /// fetching it from the node holding it: at once in this thread if it is
  /// ready now, else in the thread that makes it ready. The callback must
  /// not block.
  virtual void when_ready(const ref_ptr& ref, std::function<void()> callback);

  /// Runs `job` on the process's async thread (started on first use).
  virtual void post_async(std::function<void()> job);

  /// Runs `job` on the async thread once `delay` has passed. At shutdown
  /// pending timers run early, so that no coroutine stays suspended.
  virtual void post_after(std::chrono::nanoseconds delay,
                          std::function<void()> job);

  /// Returns a counted reference to an object known to this process, for
  /// decoding references nested in values; throws object_lost_error.
  virtual ref_ptr lookup(const object_id& id) = 0;

  /// Submits a task and returns the reference to its return value.
  virtual ref_ptr submit(task_request&& request) = 0;

  // -- actors ----------------------------------------------------------------

  /// Creates an actor; returns a counted reference to it whose id is the
  /// actor id with index 0. A non-detached actor dies with its last
  /// reference. Throws lumen::error for a name taken in its namespace.
  virtual ref_ptr create_actor(actor_request&& request) = 0;

  /// Sends a method call; returns the reference to its return value.
  virtual ref_ptr submit_actor_task(actor_call_request&& request) = 0;

  /// The named actor, or an empty reference; throws type_mismatch_error if
  /// it is of another class than `class_hash`.
  virtual ref_ptr find_actor(const std::string& name, const std::string& ns,
                             std::uint64_t class_hash) = 0;

  /// A counted reference to a known actor, for decoding handles nested in
  /// values; throws actor_died_error if it is unknown.
  virtual ref_ptr lookup_actor(const object_id& id) = 0;

  /// Kills the actor; with `no_restart` false it restarts if it may.
  virtual void kill_actor(const ref_ptr& actor, bool no_restart) = 0;

  // -- cluster ---------------------------------------------------------------

  /// This process's node id.
  virtual std::string node_id() = 0;

  /// Every node this process knows, this one first.
  virtual std::vector<node_info> nodes() = 0;

  /// Asks the GCS for a placement group; returns its id.
  virtual std::string
  create_placement_group(const std::vector<std::map<std::string, double>>& b,
                         std::uint8_t strategy, const std::string& name) = 0;

  /// Whether the group is placed within `timeout`.
  virtual bool wait_placement_group(const std::string& id,
                                    std::chrono::nanoseconds timeout) = 0;

  virtual void remove_placement_group(const std::string& id) = 0;

  // -- key-value table on the GCS -----------------------------------------

  virtual bool kv_put(const std::string& ns, const std::string& key,
                      std::string value, bool overwrite) = 0;

  virtual std::optional<std::string> kv_get(const std::string& ns,
                                            const std::string& key) = 0;

  virtual bool kv_del(const std::string& ns, const std::string& key) = 0;

  virtual std::vector<std::string> kv_keys(const std::string& ns,
                                           const std::string& prefix) = 0;
};

/// The running runtime; throws not_initialized_error when there is none.
runtime_api& runtime();

} // namespace lumen::detail
