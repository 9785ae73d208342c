// actor_host's coroutine calls: an async actor's methods that return
// lumen::async<T> run as coroutines on the actor's one worker. Each call is
// an executor (lumen/async.hpp): whatever it awaits resumes it through the
// worker's queue, so every step of every call of the actor runs on that
// thread, one at a time, and none holds it while suspended.
#include <algorithm>
#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actors/actor_host.hpp"
#include "actors/actor_host_state.hpp"
#include "lumen/async.hpp"
#include "lumen/detail/registry.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/task_errors.hpp"

namespace lumen::detail_actor_host {

namespace {

/// One coroutine call: its context (ids of what it creates) and where it
/// resumes. Lives until the coroutine ends.
class async_call final : public detail::resume_executor,
                         public std::enable_shared_from_this<async_call> {
 public:
  explicit async_call(async_call_args a) : a_(std::move(a)) {
    ctx_.task = a_.call->id;
    ctx_.child_depth = 1;
    ctx_.in_actor = true;
    ctx_.actor_restarted = a_.restarted;
    ctx_.cancel = &a_.call->cancel;
    if (a_.spec) {
      // As for a plain call: the actor's id, namespace and resources.
      info_ = context_of(*a_.spec);
      ctx_.info = &info_;
    }
  }

  void resume(std::coroutine_handle<> h) override {
    detail::worker_pool::post(a_.worker,
                              [self = shared_from_this(), h](bool cancelled) {
                                if (cancelled)
                                  self->stopping_.store(true);
                                detail::context_scope cs{&self->ctx_};
                                detail::executor_scope es{self.get()};
                                h.resume();
                              });
  }

  bool stopping() const noexcept override {
    return stopping_.load();
  }

  std::shared_ptr<void> keep_alive() override {
    return shared_from_this();
  }

  /// Runs the method up to its first suspension (or its end).
  void start(const detail::function_entry& fn) {
    detail::context_scope cs{&ctx_};
    detail::executor_scope es{this};
    auto args = std::move(a_.args);
    try {
      fn.async_method(a_.instance.get(), args,
                      [self = shared_from_this()](detail::object_data* r,
                                                  std::exception_ptr e) {
                        self->finish(r, std::move(e));
                      });
    } catch (...) {
      // The arguments did not decode: the coroutine never started.
      finish(nullptr, std::current_exception());
    }
  }

 private:
  void finish(detail::object_data* r, std::exception_ptr e) {
    auto& call = *a_.call;
    object_ptr result;
    bool exited = false;
    if (r != nullptr) {
      result = std::make_shared<detail::object_data>(std::move(*r));
    } else {
      try {
        std::rethrow_exception(std::move(e));
      } catch (const detail::actor_exit_signal&) {
        exited = true;
        result = make_error_object(error_kind::actor_died,
                                   "the actor exited via lumen::exit_actor()",
                                   {}, call.method);
      } catch (...) {
        result = detail::error_from_current_exception(call.method);
      }
    }
    if (exited)
      a_.exited->store(true); // before anyone can see the result
    a_.instance.reset();
    detail::answer(call, std::move(result), *a_.table);
    caf::anon_send(a_.host, finished_atom::value, a_.gen,
                   reinterpret_cast<std::size_t>(a_.worker), exited, call.id);
  }

  async_call_args a_;
  detail::context_info info_;
  detail::execution_context ctx_;
  std::atomic<bool> stopping_{false};
};

} // namespace

void start_async_call(async_call_args a, const detail::function_entry& fn) {
  auto c = std::make_shared<async_call>(std::move(a));
  c->start(fn);
}

std::size_t async_limit(self_ptr self) {
  return static_cast<std::size_t>(
    std::max(1, self->state.a.spec->options.max_concurrency));
}

} // namespace lumen::detail_actor_host
