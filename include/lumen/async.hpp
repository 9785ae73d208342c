// Async actors: actor methods as C++20 coroutines, and `co_await` on refs.
//
//   struct Gateway {
//     static Gateway* create() { return new Gateway; }
//     lumen::async<int> handle(lumen::actor_handle<Model> m, int x) {
//       int y = co_await m.task(&Model::predict).remote(x); // another actor
//       co_await lumen::sleep_for(std::chrono::milliseconds(10));
//       co_return y + 1;
//     }
//   };
//   LUMEN_REMOTE(Gateway::create, &Gateway::handle);
//
// A class with at least one method returning `lumen::async<T>` is an
// *async actor*. Callers see no difference: `task(&Gateway::handle)
// .remote(...)` gives an `object_ref<int>`. Inside, `co_await` takes an
// `object_ref<T>` (any ref: a task's, another actor's call, a put, one made
// on another node) and yields its value, `lumen::sleep_for(d)` suspends
// for `d`, and `co_await` on another `lumen::async<U>` runs it to its end.
//
// Where code runs, and thread safety:
// * An async actor has one thread (its worker). Every call starts there
//   and every coroutine of the actor resumes there, so the actor's state
//   is only ever touched by one thread at a time: no locks are needed
//   between its methods. A coroutine does not hold the thread while it is
//   suspended; no thread is made per call.
// * Up to `max_concurrency` calls (default 1,000 for an async actor) are
//   in flight at once, interleaved at their `co_await`s; later calls wait
//   in the actor's queue. Between two `co_await`s a method runs alone.
// * Do not block in a coroutine (`lumen::get`, long loops, sleeping the
//   thread): it stalls every call of the actor. Plain (non-coroutine)
//   methods of an async actor run on the same thread, between coroutine
//   steps.
// * Outside an async actor (a coroutine type of your own, in a driver),
//   `co_await ref` resumes on lumen's async thread, one per process,
//   shared by all such coroutines and `then` callbacks: keep them short.
//
// Ordering: calls start in the order each caller sent them (as for every
// actor); with max_concurrency 1 each call also ends before the next
// starts. With more, a call may finish before an earlier one that is
// suspended. Resumptions run in the order their events happened.
//
// Errors: an exception leaving a coroutine fails its call, and the caller's
// `get` (or `co_await`) throws lumen::task_error naming the exception's
// type and message; nothing is leaked. An awaited ref whose task failed
// throws its error (task_error, actor_died_error, ...) at the `co_await`,
// where the coroutine may catch it. `lumen::exit_actor()` in a coroutine
// ends the actor as in a plain method.
//
// `ref.then(f)`: for code that is not a coroutine. Runs `f(outcome<T>)` once
// the object is ready or failed: on the actor's thread when called from a
// coroutine method of an async actor, else (plain methods, drivers) on
// lumen's async thread. `outcome.value()` returns the value or throws the
// error.
//
// Thread safety of the types: a `lumen::async<T>` is owned by one
// coroutine or caller and awaited once; awaiters are used by the coroutine
// that made them.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "lumen/codec.hpp"
#include "lumen/detail/async_traits.hpp"
#include "lumen/detail/function_traits.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "lumen/object_ref.hpp"
#include "lumen/objects.hpp"

namespace lumen {

namespace detail {

/// Where a suspended coroutine resumes: an async actor's call (its thread)
/// or lumen's async thread.
class resume_executor {
 public:
  virtual ~resume_executor();

  /// Resumes `h` later, on this executor's thread.
  virtual void resume(std::coroutine_handle<> h) = 0;

  /// Whether the process shuts down: the coroutine runs only to unwind.
  virtual bool stopping() const noexcept {
    return false;
  }

  /// Keeps this executor alive for a coroutine that may outlive the one
  /// that started it (a `then`); null for one that lives for good.
  virtual std::shared_ptr<void> keep_alive() {
    return nullptr;
  }
};

/// The executor of the coroutine running on this thread, or nullptr.
resume_executor* current_executor() noexcept;

/// Resumes on lumen's async thread (one per process, started on first use).
resume_executor& default_executor();

/// Where a coroutine suspending now resumes.
inline resume_executor& resume_target() {
  auto* e = current_executor();
  return e != nullptr ? *e : default_executor();
}

/// Installs `e` as this thread's executor for the scope's lifetime.
class executor_scope {
 public:
  explicit executor_scope(resume_executor* e) noexcept;
  ~executor_scope();

  executor_scope(const executor_scope&) = delete;
  executor_scope& operator=(const executor_scope&) = delete;

 private:
  resume_executor* prev_;
};

/// Reports an exception thrown by a `then` callback (it is logged).
void report_callback_error(std::exception_ptr e) noexcept;

/// Resumes a coroutine once both its suspension is armed and the event it
/// waits for happened, whichever comes last; an event that happens while
/// the coroutine suspends lets it go on without a round trip.
struct suspend_gate {
  std::atomic<int> state{0};
  resume_executor* ex = nullptr;
  std::coroutine_handle<> h;

  /// The event side.
  void fire() {
    auto* e = ex;
    auto handle = h;
    if (state.exchange(1, std::memory_order_acq_rel) == 2)
      e->resume(handle);
  }

  /// The coroutine side, last thing in await_suspend: whether to stay
  /// suspended.
  bool arm() {
    return state.exchange(2, std::memory_order_acq_rel) != 1;
  }
};

/// What `co_await ref` does.
template <class T>
class ref_awaiter {
 public:
  explicit ref_awaiter(object_ref<T> ref) : ref_(std::move(ref)) {}

  bool await_ready() {
    return runtime().ready(checked_ptr(ref_).get());
  }

  bool await_suspend(std::coroutine_handle<> h) {
    gate_.ex = &resume_target();
    gate_.h = h;
    runtime().when_ready(ref_.ptr(), [this] {
      gate_.fire();
    });
    return gate_.arm();
  }

  T await_resume() {
    auto obj = runtime().get(ref_.ptr(), std::chrono::nanoseconds::zero());
    return from_object<T>(*obj);
  }

 private:
  object_ref<T> ref_;
  suspend_gate gate_;
};

/// What `co_await sleep_for(d)` does.
class sleep_awaiter {
 public:
  explicit sleep_awaiter(std::chrono::nanoseconds d) noexcept : d_(d) {}

  bool await_ready() const noexcept {
    return d_ <= std::chrono::nanoseconds::zero();
  }

  bool await_suspend(std::coroutine_handle<> h) {
    gate_.ex = &resume_target();
    gate_.h = h;
    runtime().post_after(d_, [this] {
      gate_.fire();
    });
    return gate_.arm();
  }

  void await_resume() const {
    if (gate_.ex != nullptr && gate_.ex->stopping())
      throw error("lumen::sleep_for: lumen was shut down");
  }

 private:
  std::chrono::nanoseconds d_;
  suspend_gate gate_;
};

/// Always suspends and resumes on the target executor.
struct reschedule_awaiter {
  bool await_ready() const noexcept {
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    resume_target().resume(h);
  }

  void await_resume() const noexcept {}
};

/// What lumen::async<T>'s promises share: the awaiting coroutine and the
/// exception, if one ended the body.
struct async_promise_base {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() const noexcept {
    return {};
  }

  struct final_awaiter {
    bool await_ready() const noexcept {
      return false;
    }

    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto c = h.promise().continuation;
      return c ? c : std::noop_coroutine();
    }

    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept {
    return {};
  }

  void unhandled_exception() noexcept {
    error = std::current_exception();
  }
};

template <class T>
struct async_promise : async_promise_base {
  std::optional<T> value;

  lumen::async<T> get_return_object() noexcept;

  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

template <>
struct async_promise<void> : async_promise_base {
  lumen::async<void> get_return_object() noexcept;

  void return_void() const noexcept {}
};

/// A coroutine that starts at once and frees itself at its end.
struct detached_task {
  struct promise_type {
    detached_task get_return_object() const noexcept {
      return {};
    }

    std::suspend_never initial_suspend() const noexcept {
      return {};
    }

    std::suspend_never final_suspend() const noexcept {
      return {};
    }

    void return_void() const noexcept {}

    void unhandled_exception() const noexcept {
      std::terminate(); // the bodies below catch everything
    }
  };
};

} // namespace detail

/// The result type of a coroutine actor method producing a T. Lazy: the
/// body starts when it is awaited (the runtime awaits a method's).
template <class T = void>
class [[nodiscard]] async {
 public:
  using promise_type = detail::async_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  explicit async(handle_type h) noexcept : h_(h) {}

  async(async&& other) noexcept : h_(std::exchange(other.h_, {})) {}

  async& operator=(async&& other) noexcept {
    if (this != &other) {
      if (h_)
        h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }

  async(const async&) = delete;
  async& operator=(const async&) = delete;

  ~async() {
    if (h_)
      h_.destroy();
  }

  bool await_ready() const noexcept {
    return !h_ || h_.done();
  }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) noexcept {
    h_.promise().continuation = c;
    return h_;
  }

  T await_resume() {
    if (!h_)
      throw error("lumen::async: awaited an empty (moved-from) async");
    auto& p = h_.promise();
    if (p.error)
      std::rethrow_exception(p.error);
    if constexpr (!std::is_void_v<T>)
      return std::move(*p.value);
  }

 private:
  handle_type h_;
};

namespace detail {

template <class T>
lumen::async<T> async_promise<T>::get_return_object() noexcept {
  return lumen::async<T>(
    std::coroutine_handle<async_promise<T>>::from_promise(*this));
}

inline lumen::async<void> async_promise<void>::get_return_object() noexcept {
  return lumen::async<void>(
    std::coroutine_handle<async_promise<void>>::from_promise(*this));
}

} // namespace detail

/// Suspends the coroutine for `d` without holding its thread.
template <class Rep, class Period>
detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) {
  return detail::sleep_awaiter(
    std::chrono::duration_cast<std::chrono::nanoseconds>(d));
}

/// `co_await ref`: waits (suspended) for the object and yields its value;
/// throws its error if the task behind it failed.
template <class T>
detail::ref_awaiter<T> operator co_await(object_ref<T> ref) {
  return detail::ref_awaiter<T>(std::move(ref));
}

/// A ref's value or error, as `then` hands it over.
template <class T>
class outcome {
 public:
  outcome() = default;

  /// Whether the object holds a value (not an error).
  bool ok() const noexcept {
    return !error_;
  }

  /// The value; throws the object's error instead if it has one.
  decltype(auto) value() {
    if (error_)
      std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<T>)
      return static_cast<T&>(*value_);
  }

  /// The error (null if ok()).
  std::exception_ptr error() const noexcept {
    return error_;
  }

  void set_error(std::exception_ptr e) noexcept {
    error_ = std::move(e);
  }

  template <class U>
  void set_value(U&& v) {
    value_.emplace(std::forward<U>(v));
  }

 private:
  using storage =
    std::conditional_t<std::is_void_v<T>, std::monostate, std::optional<T>>;
  storage value_;
  std::exception_ptr error_;
};

namespace detail {

template <class T, class F>
detached_task run_then(object_ref<T> ref, F f) {
  // Inside an async actor the executor is the calling coroutine's, which
  // may end before this one does.
  auto keep = resume_target().keep_alive();
  co_await reschedule_awaiter{};
  outcome<T> o;
  try {
    if constexpr (std::is_void_v<T>)
      co_await std::move(ref);
    else
      o.set_value(co_await std::move(ref));
  } catch (...) {
    o.set_error(std::current_exception());
  }
  try {
    f(std::move(o));
  } catch (...) {
    report_callback_error(std::current_exception());
  }
}

/// Runs a method's coroutine to its end, then tells `done`.
template <auto F, class Tuple, std::size_t... Is>
detached_task run_async_method(void* self, Tuple args, async_done_fn done,
                               std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using value_type = unwrap_async_t<typename traits::result_type>;
  auto* obj = static_cast<typename traits::class_type*>(self);
  std::optional<object_data> result;
  std::exception_ptr err;
  try {
    // `args` lives in this frame: the method's reference parameters stay
    // valid for its whole run.
    if constexpr (std::is_void_v<value_type>) {
      co_await(obj->*F)(std::move(std::get<Is>(args))...);
      result.emplace(void_object());
    } else {
      result.emplace(to_object<value_type>(
        co_await(obj->*F)(std::move(std::get<Is>(args))...)));
    }
  } catch (...) {
    err = std::current_exception();
  }
  done(result ? &*result : nullptr, std::move(err));
}

template <auto F, std::size_t... Is>
void invoke_async_method(void* self, const std::vector<object_ptr>& args,
                         async_done_fn done, std::index_sequence<Is...> seq) {
  using params = typename function_traits<decltype(F)>::decayed_args;
  params decoded{from_object<std::tuple_element_t<Is, params>>(*args[Is])...};
  run_async_method<F>(self, std::move(decoded), std::move(done), seq);
}

template <auto F>
void invoke_async_method(void* self, const std::vector<object_ptr>& args,
                         async_done_fn done) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  invoke_async_method<F>(self, args, std::move(done),
                         std::make_index_sequence<traits::arity>{});
}

} // namespace detail

template <class T>
template <class F>
void object_ref<T>::then(F f) const {
  static_assert(std::is_invocable_v<F&, outcome<T>>,
                "lumen::object_ref::then: pass a callable taking "
                "lumen::outcome<T>");
  detail::checked_ptr(*this);
  detail::run_then(*this, std::move(f));
}

} // namespace lumen
