// The process-wide parts of lumen/async.hpp: the async actor classes, the
// thread's executor, the default executor (lumen's async thread) and the
// runtime's defaults for runtimes without async waits.
#include "lumen/async.hpp"

#include <coroutine>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "log/log.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

struct async_classes {
  std::mutex mtx;
  std::set<std::uint64_t> hashes;
};

async_classes& classes() {
  static async_classes c;
  return c;
}

thread_local resume_executor* this_thread_executor = nullptr;

/// Resumes on the runtime's async thread.
class loop_executor final : public resume_executor {
 public:
  void resume(std::coroutine_handle<> h) override {
    runtime().post_async([h] {
      executor_scope scope{nullptr};
      h.resume();
    });
  }
};

} // namespace

void mark_async_class(std::uint64_t class_hash) {
  auto& c = classes();
  std::lock_guard guard{c.mtx};
  c.hashes.insert(class_hash);
}

bool is_async_class(std::uint64_t class_hash) {
  auto& c = classes();
  std::lock_guard guard{c.mtx};
  return c.hashes.count(class_hash) > 0;
}

resume_executor::~resume_executor() = default;

resume_executor* current_executor() noexcept {
  return this_thread_executor;
}

resume_executor& default_executor() {
  static loop_executor e;
  return e;
}

executor_scope::executor_scope(resume_executor* e) noexcept
  : prev_(this_thread_executor) {
  this_thread_executor = e;
}

executor_scope::~executor_scope() {
  this_thread_executor = prev_;
}

void report_callback_error(std::exception_ptr e) noexcept {
  std::string what = "an exception of unknown type";
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    what = x.what();
  } catch (...) {
  }
  log_warn("a lumen::object_ref::then callback threw; dropped: ", what);
}

void runtime_api::when_ready(const ref_ptr&, std::function<void()>) {
  throw error("this lumen runtime has no asynchronous waits (when_ready)");
}

void runtime_api::post_async(std::function<void()>) {
  throw error("this lumen runtime has no async thread (post_async)");
}

void runtime_api::post_after(std::chrono::nanoseconds, std::function<void()>) {
  throw error("this lumen runtime has no timers (post_after)");
}

} // namespace lumen::detail
