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
// Across a cluster: a factory registered with LUMEN_NATIVE(Handle, f) may
// be placed on any node, as a Lumen actor is (the node with room for its
// resources, or `node_affinity`); every node that may host it must load
// the same registration (`lumen start --load`). The actor runs there, its
// name is reserved cluster-wide, and `get_native_actor` finds it from any
// node. Its arguments travel with Lumen's codecs (values only, no refs),
// and messages to it with CAF's serialization (types every node
// announced). It lives until it ends, the process that spawned it shuts
// down (which ends it), or its node stops. An unregistered factory, or a
// lambda, runs on the calling node.
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
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "lumen/codec.hpp"
#include "lumen/detail/function_traits.hpp"
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
  /// Namespace of the name; empty: the caller's (lumen::context().ns).
  std::string ns{};
  /// Node to place it on (a LUMEN_NATIVE factory); if that node is dead or
  /// cannot hold it, elsewhere when `affinity_soft`, else spawn_native
  /// throws lumen::error. Empty: wherever the resources are.
  std::string node_affinity{};
  bool affinity_soft = false;
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

namespace detail {

/// Spawns a registered factory here from its encoded arguments.
using native_spawn_fn = caf::actor (*)(caf::actor_system& sys,
                                       const std::vector<std::string>& args);

/// One factory registered with LUMEN_NATIVE.
struct native_factory {
  std::string name;
  std::uint64_t type_hash = 0;
  native_spawn_fn spawn = nullptr;
};

/// Registers `f` under its name and `pointer_key` (the first wins).
void register_native(native_factory f, std::string pointer_key);

/// The factory registered under `name` or `pointer_key`, or nullptr.
const native_factory* find_native(std::string_view name);
const native_factory* find_native_by_key(const std::string& pointer_key);

/// The parameters a native factory takes from its caller: all of them, or
/// all after a leading `self` pointer.
template <class Tuple>
struct native_params;

template <>
struct native_params<std::tuple<>> {
  using type = std::tuple<>;
};

template <class P, class... Ps>
struct native_params<std::tuple<P, Ps...>> {
  using type = std::conditional_t<std::is_pointer_v<P>, std::tuple<Ps...>,
                                  std::tuple<P, Ps...>>;
};

template <auto F>
using native_params_t = typename native_params<
  typename function_traits<decltype(F)>::decayed_args>::type;

template <class P>
P native_arg(const std::string& bytes) {
  object_data obj;
  obj.bytes.append(bytes.data(), bytes.size());
  return from_object<P>(obj);
}

template <auto F, std::size_t... Is>
caf::actor spawn_native_indexed(caf::actor_system& sys,
                                const std::vector<std::string>& args,
                                std::index_sequence<Is...>) {
  using params = native_params_t<F>;
  return caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(
    F, native_arg<std::tuple_element_t<Is, params>>(args[Is])...));
}

template <class Handle, auto F>
caf::actor spawn_native_registered(caf::actor_system& sys,
                                   const std::vector<std::string>& args) {
  constexpr auto n = std::tuple_size_v<native_params_t<F>>;
  if (args.size() != n)
    throw type_mismatch_error("native factory: expected " + std::to_string(n) +
                              " arguments, got " + std::to_string(args.size()));
  return spawn_native_indexed<F>(sys, args, std::make_index_sequence<n>{});
}

template <class Handle, auto F>
bool register_native_factory(const char* name) {
  register_native(
    {name, type_hash<Handle>(), &spawn_native_registered<Handle, F>},
    pointer_key(F));
  return true;
}

/// Encodes the caller's arguments as the factory's parameter types.
template <class Params, class... Ts, std::size_t... Is>
std::vector<std::string> native_encode(std::index_sequence<Is...>,
                                       const Ts&... xs) {
  std::vector<std::string> result;
  [[maybe_unused]] auto one = [&](auto&& obj) {
    if (!obj.refs.empty())
      throw error("spawn_native: a native actor's arguments may not hold "
                  "object refs");
    result.emplace_back(obj.bytes.data(), obj.bytes.size());
  };
  (one(to_object<std::tuple_element_t<Is, Params>>(xs)), ...);
  return result;
}

/// Where a native actor with `opts` goes: "" here, else a node id; throws
/// lumen::error if node_affinity cannot be met.
std::string native_where(const native_options& opts);

/// Spawns registered factory `f` on node `node` (a task there reserves
/// its resources and name) and returns its handle.
caf::actor native_spawn_on(const std::string& node, const native_options& opts,
                           const native_factory& f,
                           std::vector<std::string> args);

} // namespace detail

/// Spawns `fun(args...)` as a detached CAF actor of handle type `Handle`:
/// on the node `opts` ask for when `fun` is registered with LUMEN_NATIVE,
/// else here, once that node has the resources in `opts`.
template <class Handle, class F, class... Ts>
Handle spawn_native(const native_options& opts, F fun, Ts&&... args) {
  if constexpr (std::is_pointer_v<F> &&
                std::is_function_v<std::remove_pointer_t<F>>) {
    if (auto* f = detail::find_native_by_key(detail::pointer_key(fun))) {
      if (f->type_hash != detail::type_hash<Handle>())
        throw type_mismatch_error("spawn_native: factory '" + f->name +
                                  "' was registered with another handle type");
      auto node = detail::native_where(opts);
      if (!node.empty()) {
        using params = typename detail::native_params<
          typename detail::function_traits<F>::decayed_args>::type;
        static_assert(std::tuple_size_v<params> == sizeof...(Ts),
                      "spawn_native: wrong number of arguments");
        auto encoded = detail::native_encode<params>(
          std::index_sequence_for<Ts...>{}, args...);
        return caf::actor_cast<Handle>(
          detail::native_spawn_on(node, opts, *f, std::move(encoded)));
      }
    } else if (!opts.node_affinity.empty()) {
      throw error("spawn_native: node_affinity needs a factory registered "
                  "with LUMEN_NATIVE");
    }
  }
  auto reservation = detail::native_reserve(opts);
  detail::caf_thread_guard guard;
  Handle handle = detail::native_system().spawn<caf::detached>(
    fun, std::forward<Ts>(args)...);
  detail::native_adopt(std::move(reservation),
                       caf::actor_cast<caf::actor>(handle),
                       detail::type_hash<Handle>());
  return handle;
}

/// The native actor named `name` in `ns` (empty: the caller's), spawned
/// anywhere in the cluster, if any.
template <class Handle>
std::optional<Handle> get_native_actor(const std::string& name,
                                       const std::string& ns = "") {
  auto found = detail::native_find(name, ns, detail::type_hash<Handle>());
  if (!found)
    return std::nullopt;
  return caf::actor_cast<Handle>(found);
}

} // namespace lumen

/// Registers native actor factory `fun` (a function returning
/// `Handle::behavior_type`, optionally taking its `self` pointer first)
/// for spawn_native on any node, under the name written: every node
/// that may host it must register it too (a library it loads). Its other
/// parameters need Lumen codecs.
#define LUMEN_NATIVE(Handle, fun)                                              \
  [[maybe_unused]] static const bool LUMEN_NATIVE_CAT(lumen_native_,           \
                                                      __COUNTER__) =           \
    ::lumen::detail::register_native_factory<Handle, fun>(#fun)

#define LUMEN_NATIVE_CAT_I(a, b) a##b
#define LUMEN_NATIVE_CAT(a, b) LUMEN_NATIVE_CAT_I(a, b)
