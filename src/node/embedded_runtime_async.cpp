// embedded_runtime's asynchronous waits: what `co_await ref`,
// `sleep_for` and `ref.then` use (lumen/async.hpp).
#include <chrono>
#include <functional>
#include <utility>

#include "node/embedded_runtime.hpp"
#include "node/embedded_runtime_impl.hpp"

namespace lumen::detail {

void embedded_runtime::when_ready(const ref_ptr& ref,
                                  std::function<void()> callback) {
  if (impl_->table.ready(ref.get())) {
    callback();
    return;
  }
  // A value held on another node comes here, as for a blocking get.
  impl_->fetch_if_elsewhere({ref.get()});
  impl_->table.when_ready(ref.get(), std::move(callback));
}

void embedded_runtime::post_async(std::function<void()> job) {
  impl_->loop.post(std::move(job));
}

void embedded_runtime::post_after(std::chrono::nanoseconds delay,
                                  std::function<void()> job) {
  impl_->loop.post_after(delay, std::move(job));
}

} // namespace lumen::detail
