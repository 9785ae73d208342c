// init, shutdown and the process-wide runtime pointer.
#include "lumen/init.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "log/log.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "node/embedded_runtime.hpp"
#include "node/node_process.hpp"

namespace lumen {

namespace detail {

namespace {

std::mutex init_mtx;
std::unique_ptr<embedded_runtime> owner;
std::atomic<embedded_runtime*> current{nullptr};
/// Set while a runtime starts: a node that joined a cluster may already
/// run tasks from other nodes before `current` is set.
std::atomic<bool> starting{false};

} // namespace

runtime_api::~runtime_api() = default;

void throw_invalid_ref() {
  throw error("lumen: invalid (default-constructed) object_ref");
}

runtime_api& runtime() {
  auto* rt = current.load(std::memory_order_acquire);
  // A task that arrived while this node was joining waits for the start to
  // end (bounded: a start that fails ends `starting` too).
  for (int i = 0; rt == nullptr && starting.load() && i < 60'000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rt = current.load(std::memory_order_acquire);
  }
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

namespace detail {

void start_runtime(const node_config& cfg) {
  std::lock_guard guard{init_mtx};
  if (owner)
    throw error("lumen::init: already running; call lumen::shutdown() first");
  // Before anything else, so that the start itself is logged as asked.
  configure_log(log_options_of(cfg.base, cfg.driver));
  starting.store(true);
  try {
    owner = std::make_unique<embedded_runtime>(cfg);
  } catch (...) {
    starting.store(false);
    throw;
  }
  current.store(owner.get(), std::memory_order_release);
  starting.store(false);
}

} // namespace detail

void init(const config& cfg) {
  detail::node_config ncfg;
  ncfg.base = cfg;
  ncfg.driver = true;
  if (ncfg.base.address.empty())
    if (auto* env = std::getenv("LUMEN_ADDRESS"); env != nullptr && *env)
      ncfg.base.address = env;
  // The address this process's own port binds to when it joins a cluster
  // (default 127.0.0.1).
  if (auto* env = std::getenv("LUMEN_HOST"); env != nullptr && *env)
    ncfg.host = env;
  if (ncfg.base.ns.empty())
    if (auto* env = std::getenv("LUMEN_NAMESPACE"); env != nullptr && *env)
      ncfg.base.ns = env;
  // MPI-style: the program itself started as a worker node of a cluster.
  if (auto* role = std::getenv("LUMEN_NODE_ROLE");
      role != nullptr && std::string{role} == "worker") {
    if (ncfg.base.address.empty())
      throw error("LUMEN_NODE_ROLE=worker needs LUMEN_ADDRESS=HOST:PORT");
    ncfg.driver = false;
    std::exit(detail::run_node(ncfg));
  }
  detail::start_runtime(ncfg);
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

std::string node_id() {
  return detail::runtime().node_id();
}

std::vector<node_info> nodes() {
  return detail::runtime().nodes();
}

} // namespace lumen
