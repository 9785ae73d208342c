// Native CAF typed actors, spawned through Lumen.
//
//   using adder = caf::typed_actor<caf::replies_to<int, int>::with<int>>;
//   adder::behavior_type make_adder() { return {[](int a, int b) { ... }}; }
//
//   auto a = lumen::spawn_native<adder>(lumen::native_options{.name = "add"},
//                                       make_adder);
//   self->request(a, std::chrono::seconds(1), 1, 2).receive(...);
//
// A native actor gets the same resource-aware placement and naming as a
// Lumen actor: `spawn_native` waits until the node has the resources, holds
// them while the actor lives, and reserves its name in the same namespaces
// as Lumen actors (`get_native_actor` finds it). The actor runs detached,
// on a thread of its own, so its handlers never stall Lumen's system
// actors. The handle it returns is CAF's own: use CAF's `request`, `send`,
// monitors and so on. Lumen stops every native actor at `shutdown`.
//
// This header includes CAF; include it only where you use CAF directly.
//
// Thread safety: all functions may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>

#include "lumen/detail/type_name.hpp"

namespace lumen {

/// Placement and naming of one native actor.
struct native_options {
  /// CPUs held while the actor lives.
  double num_cpus = 0;
  /// Custom resources held while the actor lives.
  std::map<std::string, double> resources{};
  /// Name, unique within `ns` among Lumen and native actors; empty: none.
  std::string name{};
  std::string ns{};
};

namespace detail {

/// Undoes, on scope exit, the thread-local reference to the actor system's
/// logger that CAF 0.17 leaves on a thread that spawns an actor or makes a
/// scoped_actor; left in place, it makes the system's destructor wait for
/// that thread to end, so shutdown from another thread would hang. A
/// thread that already held the reference (a CAF thread) keeps it.
class caf_thread_guard {
 public:
  caf_thread_guard() noexcept;
  ~caf_thread_guard();

  caf_thread_guard(const caf_thread_guard&) = delete;
  caf_thread_guard& operator=(const caf_thread_guard&) = delete;

 private:
  bool had_;
};

/// Lumen's actor system; throws not_initialized_error when not running.
caf::actor_system& native_system();

/// Reserves resources (waiting until they are free) and the name; throws
/// lumen::error if the node can never hold them or the name is taken.
std::shared_ptr<void> native_reserve(const native_options& opts);

/// Hands a spawned actor to Lumen, which releases the reservation when the
/// actor terminates and stops it at shutdown.
void native_adopt(std::shared_ptr<void> reservation, const caf::actor& handle,
                  std::uint64_t type_hash);

/// The named native actor, or an invalid handle; throws
/// type_mismatch_error if it has another handle type.
caf::actor native_find(const std::string& name, const std::string& ns,
                       std::uint64_t type_hash);

} // namespace detail

/// Spawns `fun(args...)` as a detached CAF actor of handle type `Handle`,
/// once the node has the resources in `opts`.
template <class Handle, class F, class... Ts>
Handle spawn_native(const native_options& opts, F fun, Ts&&... args) {
  auto reservation = detail::native_reserve(opts);
  detail::caf_thread_guard guard;
  Handle handle = detail::native_system().spawn<caf::detached>(
    fun, std::forward<Ts>(args)...);
  detail::native_adopt(std::move(reservation),
                       caf::actor_cast<caf::actor>(handle),
                       detail::type_hash<Handle>());
  return handle;
}

/// The native actor named `name` in `ns`, if any.
template <class Handle>
std::optional<Handle> get_native_actor(const std::string& name,
                                       const std::string& ns = "") {
  auto found = detail::native_find(name, ns, detail::type_hash<Handle>());
  if (!found)
    return std::nullopt;
  return caf::actor_cast<Handle>(found);
}

} // namespace lumen
