// task_actor: resolves a task's arguments, hands the user call to a worker,
// stores the returns, reports to the scheduler.
#include "actors/task_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/execution_unit.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/send.hpp>

#include <cxxabi.h>

#include "log/log.hpp"
#include "lumen/detail/registry.hpp"
#include "scheduling/cancel_state.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/retry_on.hpp"
#include "scheduling/task_errors.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::object_ptr)

namespace lumen {

namespace {

using detail::object_ptr;

/// Runs on the worker thread: the user's function, once. Returns its
/// result or the error it raised; `threw` says whether it threw.
object_ptr run_user_call(const detail::task_spec& task,
                         std::vector<object_ptr>& args,
                         const scheduler_actor& nm, bool cancelled,
                         detail::execution_context& ctx, bool& threw) {
  if (cancelled)
    return detail::make_error_object(detail::error_kind::runtime_error,
                                     "lumen was shut down before task '" +
                                       task.options.name + "' ran");
  auto* fn = task.entry ? task.entry : detail::find_function(task.function);
  if (!fn || fn->kind != detail::function_kind::free_function) {
    auto err = detail::make_error_object(
      detail::error_kind::function_not_found,
      "function '" + task.function + "' is not registered on this node " +
        "(add LUMEN_REMOTE(" + task.function + ") to a source file the " +
        "node runs or loads)",
      {}, task.options.name);
    detail::log_warn("task '", task.options.name,
                     "' failed: ", err->error->message);
    return err;
  }
  ctx.task = task.id;
  ctx.child_depth = task.depth + 1;
  ctx.job = task.job;
  ctx.stream = task.stream.get();
  detail::context_info info;
  info.ns = &task.ns;
  info.resources = &task.options.resources;
  info.num_cpus = task.options.num_cpus;
  info.capture_pg = &task.options.capture_pg;
  ctx.info = &info;
  // One pointer each: no allocation for hooks that rarely fire.
  const auto* t = &task;
  const auto* to = &nm;
  ctx.on_block = [t, to] {
    caf::anon_send(*to, blocked_atom::value, t->id);
  };
  ctx.on_unblock = [t, to] {
    caf::anon_send(*to, unblocked_atom::value, t->id);
  };
  detail::context_scope scope{&ctx};
  try {
    return std::make_shared<detail::object_data>(fn->invoke(args));
  } catch (abi::__forced_unwind&) {
    throw; // its thread ends (pthread_exit): not the task's exception
  } catch (...) {
    threw = true;
    return detail::error_from_current_exception(task.options.name);
  }
}

/// The worker thread as the execution unit of one task actor, while that
/// thread delivers the call's result: the actor, woken by the result, runs
/// its last step (store, report, quit) right here, after the user call
/// returned, instead of waking a scheduler thread for it. Any other actor
/// woken meanwhile (the node's scheduler actor, by the report) goes to
/// CAF's scheduler.
class worker_unit : public caf::execution_unit {
 public:
  worker_unit(caf::actor_system& sys, caf::resumable* own)
    : caf::execution_unit(&sys), own_(own) {}

  void exec_later(caf::resumable* job) override {
    if (job == own_ && woken_ == nullptr)
      woken_ = job;
    else
      system().scheduler().enqueue(job);
  }

  /// Runs the actor if the result woke it; messages that came meanwhile
  /// may leave it to the scheduler.
  void run() {
    auto* job = woken_;
    if (job == nullptr)
      return;
    own_ = nullptr; // from here on, everything goes to the scheduler
    for (int round = 0;; ++round) {
      switch (job->resume(this, 64)) {
      case caf::resumable::resume_later:
        if (round < 4)
          continue;
        system().scheduler().enqueue(job); // keeps the reference
        return;
      default: // done, awaiting_message, shutdown_execution_unit
        caf::intrusive_ptr_release(job);
        return;
      }
    }
  }

 private:
  caf::resumable* own_;
  caf::resumable* woken_ = nullptr;
};

/// Calls `f` on destruction unless `done` was set by then: a user call's
/// frame that unwinds without a result (its thread ended inside it).
template <class F>
class abandon_guard {
 public:
  abandon_guard(const bool& done, F f) : done_(done), f_(std::move(f)) {}
  abandon_guard(const abandon_guard&) = delete;
  abandon_guard& operator=(const abandon_guard&) = delete;
  ~abandon_guard() {
    if (done_)
      return;
    try {
      f_();
    } catch (...) {
      // Nothing to tell it with: the scheduler's stop still ends it.
    }
  }

 private:
  const bool& done_;
  F f_;
};

/// The error of an execution whose worker thread ended inside the call.
object_ptr worker_died_error(const detail::task_spec& task) {
  return detail::make_error_object(
    detail::error_kind::runtime_error,
    "task '" + task.options.name +
      "': its worker thread ended before the call returned (pthread_exit "
      "or a thread cancellation in the task's code)",
    {}, task.options.name);
}

/// Where an execution runs (one argument: spawn inspects each).
struct task_site {
  detail::worker_pool::worker* worker;
  detail::object_table* table;
};

constexpr int call_idle = 0;
constexpr int call_running = 1;
constexpr int call_withdrawn = 2;

class task_actor : public caf::event_based_actor {
 public:
  task_actor(caf::actor_config& cfg, detail::task_ptr task, task_site at,
             scheduler_actor nm)
    : caf::event_based_actor(cfg), task_(std::move(task)), worker_(at.worker),
      table_(at.table), nm_(std::move(nm)) {}

  /// The first step, run by spawn_task_actor right after the lazy spawn
  /// (the actor's mailbox is closed then, so nothing else runs it): the
  /// actor is first scheduled for the call's result.
  void start() {
    resolve();
  }

  const char* name() const override {
    return "lumen.task";
  }

  caf::behavior make_behavior() override {
    return {
      [this](finished_atom, object_ptr& result, bool threw) {
        report(std::move(result), threw);
        quit();
      },
      [this](finished_atom, object_ptr& result, bool threw, bool worker_died) {
        report(std::move(result), threw, worker_died);
        quit();
      },
      [this](cancel_atom, bool force, bool recursive) {
        on_cancel(force, recursive, false);
      },
      [this](cancel_atom, bool force, bool recursive, bool call_dropped) {
        on_cancel(force, recursive, call_dropped);
      },
      [this](deps_atom) {
        resolve();
      },
    };
  }

  void on_exit() override {
    // Ended before it reported (killed, or the system stops): the task
    // fails with the reason, and the scheduler frees its worker.
    if (reported_)
      return;
    auto why = fail_state() ? to_string(fail_state()) : std::string{"none"};
    report(detail::make_error_object(detail::error_kind::runtime_error,
                                     "task '" + task_->options.name +
                                       "' was stopped before it finished (" +
                                       why + ")",
                                     {}, task_->options.name),
           false);
  }

 private:
  /// Collects the arguments; once all are here, hands the call over.
  void resolve() {
    for (; next_arg_ < task_->args.size(); ++next_arg_) {
      auto& arg = task_->args[next_arg_];
      if (arg.ref && !table_->ready(arg.ref.get())) {
        // Rare: the scheduler queues a task once its arguments are
        // ready here. Wait for this one, then go on. The listener holds
        // this actor weakly (the scheduler holds it while it runs): held
        // strongly, an actor stopped meanwhile would keep its task, and the
        // task's ref to this very entry, alive until a value that may
        // never come here (as the scheduler's await_args).
        table_->when_ready(
          arg.ref.get(), [me = caf::actor_cast<caf::weak_actor_ptr>(this)] {
            if (auto strong = me.lock())
              caf::anon_send(caf::actor_cast<caf::actor>(std::move(strong)),
                             deps_atom::value);
          });
        return;
      }
    }
    hand_over();
  }

  /// Hands only the user call to the worker thread. The values are taken
  /// from the table as the call starts, as a `get` would: a task queued
  /// on a worker pins no value in memory (spilling may still move it),
  /// and a spilled one is read back on the worker, not here.
  void hand_over() {
    detail::user_call call;
    call.run = [task = task_, table = table_, nm = nm_,
                me = caf::actor_cast<caf::strong_actor_ptr>(this),
                self = static_cast<caf::resumable*>(this),
                actor = this](bool cancelled) mutable {
      bool delivered = false;
      auto deliver = [&](object_ptr result, bool threw) {
        delivered = true;
        worker_unit unit{*me->home_system, self};
        me->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(),
                                              {}, finished_atom::value,
                                              std::move(result), threw),
                    &unit);
        unit.run();
      };
      int idle = call_idle;
      if (!actor->claim_.compare_exchange_strong(idle, call_running)) {
        deliver(nullptr, false); // cancelled before it started
        return;
      }
      // The worker thread may end inside the call (pthread_exit, or a
      // thread cancellation, in user code): the frame unwinds without a
      // result, and the actor hears of it as the worker's death.
      abandon_guard on_death{
        delivered, [&] {
          caf::anon_send(caf::actor_cast<caf::actor>(me), finished_atom::value,
                         worker_died_error(*task), false, true);
        }};
      std::vector<object_ptr> args;
      args.reserve(task->args.size());
      for (auto& arg : task->args) {
        auto obj = arg.ref ? table->try_get(arg.ref.get()) : arg.value;
        if (!obj || obj->error) {
          detail::log_info("task '", task->options.name, "' failed: ",
                           obj
                             ? "an argument is an error: " + obj->error->message
                             : std::string{"an argument is missing"});
          // A failed argument fails the task with the original error;
          // the user's function does not run.
          deliver(
            obj ? obj
                : detail::make_error_object(
                    detail::error_kind::object_lost,
                    "argument of task '" + task->options.name + "' is missing"),
            false);
          return;
        }
        args.push_back(std::move(obj));
      }
      bool threw = false;
      auto result =
        run_user_call(*task, args, nm, cancelled, actor->ctx_, threw);
      args.clear();
      deliver(std::move(result), threw);
    };
    ctx_.cancel = &cancel_;
    posted_ = true;
    if (!detail::worker_pool::try_post(worker_, call.run, task_.get()))
      caf::anon_send(nm_, bounced_atom::value, task_->id, std::move(call));
  }

  /// A cancel (see lumen/cancel.hpp): a call that has not started never
  /// does and the task fails now; a running one sees lumen::cancelled(),
  /// its children are cancelled with `recursive`, and with `force` the
  /// task fails now and its result is dropped. The worker stays taken
  /// (and `done` waits) until the call, or the skipped call, returns;
  /// `call_dropped`: the scheduler held the call (taken back or bounced)
  /// and dropped it, so none returns.
  void on_cancel(bool force, bool recursive, bool call_dropped) {
    if (reported_)
      return;
    auto prev = cancel_.exchange(recursive ? detail::cancel_requested_recursive
                                           : detail::cancel_requested);
    int idle = call_idle;
    if (claim_.compare_exchange_strong(idle, call_withdrawn)) {
      store(detail::cancelled_error(task_->options.name));
      if (!posted_ || call_dropped) {
        // No call of ours will come back: done now.
        reported_ = true;
        caf::anon_send(nm_, done_atom::value, task_->id, detail::task_ptr{});
        quit();
      }
      return;
    }
    if (recursive && prev != detail::cancel_requested_recursive) {
      auto n = ctx_.counter.load(std::memory_order_acquire);
      for (std::uint64_t i = 1; i <= n; ++i)
        caf::anon_send(nm_, cancel_atom::value, task_id::derive(task_->id, i),
                       force, true);
    }
    if (force)
      store(detail::cancelled_error(task_->options.name));
  }

  /// Stores the task's result once.
  void store(object_ptr result) {
    if (stored_)
      return;
    stored_ = true;
    if (task_->deliver)
      task_->deliver(std::move(result));
    else
      table_->fulfill(task_->return_id, std::move(result));
  }

  /// Stores the returns (or, for a user call that threw and may run again,
  /// or whose worker thread died, asks for a new execution) and reports to
  /// the scheduler.
  void report(object_ptr result, bool threw, bool worker_died = false) {
    if (reported_)
      return;
    reported_ = true;
    detail::task_ptr again;
    auto& opts = task_->options;
    bool retries_left =
      opts.max_retries < 0 ||
      task_->attempt < static_cast<std::uint32_t>(opts.max_retries);
    if (worker_died)
      detail::log_warn("task '", opts.name,
                       "': its worker thread ended "
                       "inside the call",
                       retries_left ? "; it runs again" : "; no retry left");
    if (cancel_.load() != detail::not_cancelled) {
      // Cancelled: whatever the call returned, the task fails as such.
      store(detail::cancelled_error(task_->options.name));
    } else if (worker_died && retries_left) {
      // As a task lost with its node: within max_retries, whatever
      // retry_exceptions says.
      again = std::make_shared<detail::task_spec>(*task_);
      ++again->attempt;
    } else if (threw && opts.retry_exceptions &&
               detail::retried_type(opts.retry_on, result) && retries_left) {
      // A new execution, with a new actor, and the same child ids.
      again = std::make_shared<detail::task_spec>(*task_);
      ++again->attempt;
    } else {
      store(std::move(result));
    }
    caf::anon_send(nm_, done_atom::value, task_->id, std::move(again));
  }

  detail::task_ptr task_;
  detail::worker_pool::worker* worker_;
  detail::object_table* table_;
  scheduler_actor nm_;
  /// Arguments found ready so far.
  std::size_t next_arg_ = 0;
  bool reported_ = false;
  /// The task's result was stored already (a cancel with force, or a
  /// cancel before the call started): the call's own is dropped.
  bool stored_ = false;
  /// The call was handed to the worker (its finished will come).
  bool posted_ = false;
  /// The user code's context: on the worker while the call runs; its
  /// counter tells a recursive cancel which children exist.
  detail::execution_context ctx_;
  /// The cancel state the user code reads (cancel_state.hpp).
  std::atomic<std::uint8_t> cancel_{detail::not_cancelled};
  /// call_idle until the worker starts the call (call_running), or a
  /// cancel withdraws it first (call_withdrawn).
  std::atomic<int> claim_{call_idle};
};

/// The system clock, except that a task actor's end does not post a
/// "cancel its timeouts" event to the clock's thread (waking it once per
/// task): a task actor sets no timeout. Everything else goes to the clock
/// the scheduler runs.
class task_aware_clock : public caf::detail::thread_safe_actor_clock {
 public:
  explicit task_aware_clock(caf::detail::thread_safe_actor_clock& real)
    : real_(real) {}

  time_point now() const noexcept override {
    return real_.now();
  }

  duration_type difference(caf::atom_value measurement, long units,
                           time_point t0,
                           time_point t1) const noexcept override {
    return real_.difference(measurement, units, t0, t1);
  }

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                            caf::atom_value type, uint64_t id) override {
    real_.set_ordinary_timeout(t, self, type, id);
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self,
                         caf::atom_value type, uint64_t id) override {
    real_.set_multi_timeout(t, self, type, id);
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self,
                           caf::message_id id) override {
    real_.set_request_timeout(t, self, id);
  }

  void cancel_ordinary_timeout(caf::abstract_actor* self,
                               caf::atom_value type) override {
    real_.cancel_ordinary_timeout(self, type);
  }

  void cancel_request_timeout(caf::abstract_actor* self,
                              caf::message_id id) override {
    real_.cancel_request_timeout(self, id);
  }

  void cancel_timeouts(caf::abstract_actor* self) override {
    if (dynamic_cast<task_actor*>(self) == nullptr)
      real_.cancel_timeouts(self);
  }

  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    real_.schedule_message(t, std::move(receiver), std::move(content));
  }

  void schedule_message(time_point t, caf::group target,
                        caf::strong_actor_ptr sender,
                        caf::message content) override {
    real_.schedule_message(t, std::move(target), std::move(sender),
                           std::move(content));
  }

  void cancel_all() override {
    real_.cancel_all();
  }

 private:
  caf::detail::thread_safe_actor_clock& real_;
};

/// CAF's work-sharing scheduler with the task-aware clock.
class task_aware_coordinator
  : public caf::scheduler::coordinator<caf::policy::work_sharing> {
 public:
  using super = caf::scheduler::coordinator<caf::policy::work_sharing>;

  explicit task_aware_coordinator(caf::actor_system& sys)
    : super(sys), clock_(super::clock()) {}

  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    return clock_;
  }

 private:
  task_aware_clock clock_;
};

} // namespace

void use_task_actor_scheduler(caf::actor_system_config& cfg) {
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return new task_aware_coordinator(sys);
    });
}

caf::actor spawn_task_actor(caf::local_actor* parent, detail::task_ptr task,
                            detail::worker_pool::worker* w,
                            detail::object_table* table, scheduler_actor nm) {
  auto handle = parent->spawn<task_actor, caf::lazy_init>(
    std::move(task), task_site{w, table}, std::move(nm));
  // Launched now: a result that comes at once finds its mailbox closed and
  // runs it on the worker (worker_unit).
  static_cast<task_actor*>(caf::actor_cast<caf::abstract_actor*>(handle))
    ->start();
  return handle;
}

} // namespace lumen
