// Streaming generators: a task (or actor method) that yields values, and
// the stream of refs its caller reads while it still runs.
//
//   lumen::generator<int> count_to(int n) {
//     for (int i = 0; i < n; ++i)
//       co_yield i;
//   }
//   LUMEN_REMOTE(count_to);
//
//   auto stream = lumen::task(count_to).max_unconsumed(64).remote(1000);
//   for (lumen::object_ref<int> ref : stream)
//     use(lumen::get(ref));
//
// Each item is an object of its own (a ref to get, pass on or drop). The
// producer pauses at a co_yield while `max_unconsumed` items are unread
// (0, the default: no bound). The stream ends when the generator returns;
// if it throws, the stream yields the items before the throw, then
// `next()` (and the loop) throws what `get` would: task_error for the
// generator's exception, lumen::error if its node died and its retries
// are used up. A retry runs the generator again from the start; the items
// the caller has are skipped, so a generator must yield the same items
// each time (as lineage needs anyway). Dropping the stream, or `cancel()`,
// stops the producer at its next co_yield. Details: docs/streaming.md.
//
// Actor methods may be generators too (`h.task(&A::gen).remote(...)`),
// streaming when the actor lives on the caller's node; from an actor on
// another node the stream ends with lumen::error for now
// (docs/streaming.md).
//
// Thread safety: a generator runs on the thread that executes its task.
// One thread at a time reads a stream; `cancel()` may come from any.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "lumen/codec.hpp"
#include "lumen/detail/function_traits.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/detail/stream_api.hpp"
#include "lumen/detail/stream_fwd.hpp"
#include "lumen/error.hpp"
#include "lumen/object_ref.hpp"

namespace lumen {

/// A coroutine that yields values of type T with `co_yield`.
template <class T>
class generator {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr error;

    generator get_return_object() {
      return generator{handle::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept {
      return {};
    }
    std::suspend_always final_suspend() noexcept {
      return {};
    }
    template <class U>
    std::suspend_always yield_value(U&& x) {
      value.emplace(std::forward<U>(x));
      return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {
      error = std::current_exception();
    }
  };

  using handle = std::coroutine_handle<promise_type>;

  generator(generator&& other) noexcept
    : h_(std::exchange(other.h_, nullptr)) {}

  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      if (h_)
        h_.destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }

  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;

  ~generator() {
    if (h_)
      h_.destroy();
  }

  /// Runs to the next co_yield; false once the body returned. Rethrows
  /// what the body threw.
  bool next() {
    if (!h_ || h_.done())
      return false;
    h_.promise().value.reset();
    h_.resume();
    if (h_.done()) {
      if (auto e = std::exchange(h_.promise().error, nullptr))
        std::rethrow_exception(e);
      return false;
    }
    return true;
  }

  /// The value of the last co_yield (after next() returned true).
  T& value() {
    return *h_.promise().value;
  }

 private:
  explicit generator(handle h) noexcept : h_(h) {}

  handle h_;
};

/// The stream of refs a generator task returns to its caller.
template <class T>
class object_ref_stream {
 public:
  object_ref_stream() = default;

  /// Adopts the stream of the task whose return is `end` (API internals).
  explicit object_ref_stream(detail::ref_ptr end)
    : state_(std::make_shared<holder>(detail::stream_adopt(end))),
      end_(std::move(end)) {}

  /// The next item, or nullopt at the end of the stream; waits at most
  /// `timeout` (timeout_error). Throws the producer's error after its
  /// items (see the file comment).
  template <class Rep = std::int64_t, class Period = std::nano>
  std::optional<object_ref<T>>
  next(std::chrono::duration<Rep, Period> timeout =
         std::chrono::duration<Rep, Period>::max()) {
    if (!state_)
      throw error("lumen: read from an empty object_ref_stream");
    auto ns = timeout == std::chrono::duration<Rep, Period>::max()
                ? detail::no_timeout
                : std::chrono::duration_cast<std::chrono::nanoseconds>(timeout);
    auto ref = detail::stream_next(*state_->s, ns);
    if (!ref)
      return std::nullopt;
    return object_ref<T>(std::move(ref));
  }

  /// Stops the producer (at its next co_yield) and ends the stream here.
  void cancel() {
    if (state_)
      detail::stream_close(*state_->s);
  }

  /// Items read so far.
  std::uint64_t consumed() const {
    return state_ ? detail::stream_consumed(*state_->s) : 0;
  }

  /// The id of the generator's task (what lumen::cancel takes).
  task_id task() const noexcept {
    return end_ ? end_.id().task : task_id{};
  }

  /// The ref to the item count (or the producer's error), ready once the
  /// generator ended.
  object_ref<std::uint64_t> completed() const {
    return object_ref<std::uint64_t>(end_);
  }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = object_ref<T>;
    using difference_type = std::ptrdiff_t;
    using pointer = const object_ref<T>*;
    using reference = const object_ref<T>&;

    iterator() = default;
    explicit iterator(object_ref_stream* s) : s_(s) {
      advance();
    }
    reference operator*() const {
      return *cur_;
    }
    pointer operator->() const {
      return &*cur_;
    }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) {
      advance();
    }
    friend bool operator==(const iterator& x, const iterator& y) {
      return x.s_ == y.s_;
    }
    friend bool operator!=(const iterator& x, const iterator& y) {
      return x.s_ != y.s_;
    }

   private:
    void advance() {
      cur_ = s_->next();
      if (!cur_)
        s_ = nullptr;
    }
    object_ref_stream* s_ = nullptr;
    std::optional<object_ref<T>> cur_;
  };

  iterator begin() {
    return iterator{this};
  }
  iterator end() {
    return iterator{};
  }

 private:
  /// Dropping the last copy of the stream stops its producer.
  struct holder {
    explicit holder(std::shared_ptr<detail::stream_state> x)
      : s(std::move(x)) {}
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    ~holder() {
      detail::stream_close(*s);
    }
    std::shared_ptr<detail::stream_state> s;
  };

  std::shared_ptr<holder> state_;
  detail::ref_ptr end_;
};

namespace detail {

/// Yields every item of `gen` into the current stream; returns the count
/// object that ends the stream.
template <class T>
object_data run_stream(generator<T> gen) {
  auto* channel = stream_producer();
  struct finisher {
    void* ch;
    ~finisher() {
      try {
        stream_finish(ch);
      } catch (...) { // the items left are lost; the result says why
      }
    }
  } finish{channel};
  std::uint64_t n = 0;
  while (gen.next()) {
    if (!stream_push(channel, n, to_object<std::decay_t<T>>(gen.value())))
      break; // the stream is gone: the generator is destroyed here
    ++n;
  }
  return to_object(n);
}

template <auto F, std::size_t... Is>
object_data invoke_free_stream(const std::vector<object_ptr>& args,
                               std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using params = typename traits::decayed_args;
  return run_stream(
    F(from_object<std::tuple_element_t<Is, params>>(*args[Is])...));
}

template <auto F>
object_data invoke_free_stream(const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_free_stream<F>(args, std::make_index_sequence<traits::arity>{});
}

template <auto F, std::size_t... Is>
object_data invoke_method_stream(void* self,
                                 const std::vector<object_ptr>& args,
                                 std::index_sequence<Is...>) {
  using traits = function_traits<decltype(F)>;
  using params = typename traits::decayed_args;
  auto* obj = static_cast<typename traits::class_type*>(self);
  return run_stream(
    (obj->*F)(from_object<std::tuple_element_t<Is, params>>(*args[Is])...));
}

template <auto F>
object_data invoke_method_stream(void* self,
                                 const std::vector<object_ptr>& args) {
  using traits = function_traits<decltype(F)>;
  if (args.size() != traits::arity)
    throw type_mismatch_error("expected " + std::to_string(traits::arity) +
                              " arguments, got " + std::to_string(args.size()));
  return invoke_method_stream<F>(self, args,
                                 std::make_index_sequence<traits::arity>{});
}

} // namespace detail

} // namespace lumen
