// The non-template half of lumen/native_actor.hpp.
#include "lumen/native_actor.hpp"

#include <caf/logger.hpp>

#include "lumen/error.hpp"
#include "node/embedded_runtime.hpp"

namespace lumen::detail {

namespace {

embedded_runtime& running() {
  auto* rt = current_embedded_runtime();
  if (rt == nullptr)
    throw not_initialized_error(
      "lumen is not running: call lumen::init() first");
  return *rt;
}

} // namespace

caf_thread_guard::caf_thread_guard() noexcept
  : had_(caf::logger::current_logger() != nullptr) {}

caf_thread_guard::~caf_thread_guard() {
  if (!had_)
    caf::logger::set_current_actor_system(nullptr);
}

caf::actor_system& native_system() {
  return running().system();
}

std::shared_ptr<void> native_reserve(const native_options& opts) {
  return running().native_reserve(opts);
}

void native_adopt(std::shared_ptr<void> reservation, const caf::actor& handle,
                  std::uint64_t type_hash) {
  running().native_adopt(std::move(reservation), handle, type_hash);
}

caf::actor native_find(const std::string& name, const std::string& ns,
                       std::uint64_t type_hash) {
  return running().native_find(name, ns, type_hash);
}

} // namespace lumen::detail
