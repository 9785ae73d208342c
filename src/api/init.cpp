// init, shutdown and the process-wide runtime pointer.
#include "lumen/init.hpp"

#include <atomic>
#include <memory>
#include <mutex>

#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "runtime/embedded_runtime.hpp"

namespace lumen {

namespace detail {

namespace {

std::mutex init_mtx;
std::unique_ptr<embedded_runtime> owner;
std::atomic<embedded_runtime*> current{nullptr};

} // namespace

runtime_api::~runtime_api() = default;

runtime_api& runtime() {
  auto* rt = current.load(std::memory_order_acquire);
  if (rt == nullptr)
    throw not_initialized_error(
      "lumen is not running: call lumen::init() first");
  return *rt;
}

embedded_runtime* current_embedded_runtime() noexcept {
  return current.load(std::memory_order_acquire);
}

} // namespace detail

void init() {
  init(config{});
}

void init(const config& cfg) {
  std::lock_guard guard{detail::init_mtx};
  if (detail::owner)
    throw error("lumen::init: already running; call lumen::shutdown() first");
  if (!cfg.address.empty())
    throw error("lumen::init: joining a cluster at '" + cfg.address
                + "' is not supported by this build; leave address empty "
                  "to start the embedded one-node cluster");
  detail::owner = std::make_unique<detail::embedded_runtime>(cfg);
  detail::current.store(detail::owner.get(), std::memory_order_release);
}

void shutdown() {
  std::lock_guard guard{detail::init_mtx};
  if (!detail::owner)
    return;
  // The runtime stays reachable while it stops, so that tasks still
  // finishing can use it; new calls after this return fail.
  detail::owner.reset();
  detail::current.store(nullptr, std::memory_order_release);
}

bool is_initialized() noexcept {
  return detail::current.load(std::memory_order_acquire) != nullptr;
}

} // namespace lumen
