// Actors: stateful objects whose methods run remotely, one call at a time,
// in the order each caller sent them.
//
//   struct Counter {
//     static Counter* create(int start) { return new Counter{start}; }
//     int add(int x) { return value += x; }
//     int value = 0;
//   };
//   LUMEN_REMOTE(Counter::create, &Counter::add);
//
//   lumen::actor_handle<Counter> c = lumen::actor(Counter::create)
//                                      .name("counter").remote(10);
//   lumen::object_ref<int> r = c.task(&Counter::add).remote(5);
//
// Handles are values: copy them, pass them to tasks and other actors'
// methods, store them in objects; every copy reaches the same instance. A
// non-detached actor lives while a handle to it exists anywhere in the
// process (or until `kill`); a detached one until `kill`.
//
// Thread safety: handles and callers may be used from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "lumen/codec.hpp"
#include "lumen/detail/async_traits.hpp"
#include "lumen/detail/function_traits.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "lumen/object_ref.hpp"
#include "lumen/placement_group.hpp"
#include "lumen/remote.hpp"
#include "lumen/task.hpp"

namespace lumen {

template <class T>
class actor_handle;

/// A method of an actor, ready to be called remotely.
template <class T, class M>
class actor_method_caller {
 public:
  using traits = detail::function_traits<M>;
  /// T for a coroutine method returning lumen::async<T>.
  using result_type = detail::unwrap_async_t<typename traits::result_type>;

  actor_method_caller(detail::ref_ptr actor, const detail::function_entry& e)
    : actor_(std::move(actor)), entry_(&e) {}

  /// Returns one ref per element of the std::tuple/std::pair the method
  /// returns (num_returns.hpp); N must equal its size.
  template <std::size_t N>
  multi_method_caller<T, M, N> num_returns() const {
    return multi_method_caller<T, M, N>(actor_, *entry_);
  }

  /// The name this call shows in errors (task_error::task_name) and logs
  /// (default: the method's registered name).
  actor_method_caller& name(std::string n) {
    name_ = std::move(n);
    return *this;
  }

  /// Sends the call; returns a ref to its result. Arguments follow the
  /// rules of `task(f).remote(...)`.
  /// For a generator method: the producer pauses while `n` items are
  /// unread (0, the default: no bound); see generator.hpp.
  actor_method_caller& max_unconsumed(std::uint32_t n) {
    if (n >= (1u << 31))
      throw error("lumen: max_unconsumed must be below 2^31");
    max_unconsumed_ = n;
    return *this;
  }

  template <class... As>
  typename detail::remote_result<result_type>::type remote(As&&... args) const {
    static_assert(sizeof...(As) == traits::arity,
                  "lumen::actor_handle::task: wrong number of arguments for "
                  "this method");
    detail::actor_call_request req;
    req.actor = actor_;
    req.method = entry_->name;
    req.class_hash = entry_->class_hash;
    req.args = detail::make_task_args<typename traits::decayed_args>(
      std::index_sequence_for<As...>{}, std::forward<As>(args)...);
    req.name = name_;
    if constexpr (detail::is_generator_v<result_type>) {
      req.streaming = true;
      req.max_unconsumed = max_unconsumed_;
      return typename detail::remote_result<result_type>::type(
        detail::runtime().submit_actor_task(std::move(req)));
    } else {
      return object_ref<result_type>(
        detail::runtime().submit_actor_task(std::move(req)));
    }
  }

 private:
  detail::ref_ptr actor_;
  const detail::function_entry* entry_;
  std::uint32_t max_unconsumed_ = 0;
  std::string name_;
};

/// A typed, copyable handle to an actor of class T.
template <class T>
class actor_handle {
 public:
  /// An invalid handle.
  actor_handle() noexcept = default;

  /// Wraps a counted runtime reference (used by the API internals).
  explicit actor_handle(detail::ref_ptr ptr) noexcept : ptr_(std::move(ptr)) {}

  /// Prepares a call of method `m`, registered with LUMEN_REMOTE.
  template <class M>
  actor_method_caller<T, M> task(M m) const {
    using traits = detail::function_traits<M>;
    static_assert(std::is_member_function_pointer_v<M>,
                  "lumen::actor_handle::task: pass a member function "
                  "pointer, e.g. &Counter::add");
    static_assert(std::is_same_v<typename traits::class_type, T>,
                  "lumen::actor_handle::task: the method belongs to another "
                  "class than the actor's");
    if (!valid())
      throw error("lumen: invalid (default-constructed) actor_handle");
    auto* entry = detail::find_function_by_key(detail::pointer_key(m));
    if (entry == nullptr || entry->kind != detail::function_kind::actor_method)
      throw function_not_found_error(
        "lumen::actor_handle::task: method not registered; add "
        "LUMEN_REMOTE(&Class::method)");
    return actor_method_caller<T, M>(ptr_, *entry);
  }

  /// The actor's id (the id of its creation).
  const task_id& id() const noexcept {
    return ptr_.id().task;
  }

  bool valid() const noexcept {
    return static_cast<bool>(ptr_);
  }

  /// The counted runtime reference.
  const detail::ref_ptr& ptr() const noexcept {
    return ptr_;
  }

  friend bool operator==(const actor_handle& x, const actor_handle& y) {
    return x.ptr_.get() == y.ptr_.get();
  }

  friend bool operator!=(const actor_handle& x, const actor_handle& y) {
    return !(x == y);
  }

 private:
  detail::ref_ptr ptr_;
};

/// An actor factory of type F with options, ready to create an actor.
template <class F>
class actor_creator {
 public:
  using traits = detail::function_traits<F>;
  using product_type = detail::factory_product_t<F>;

  explicit actor_creator(const detail::function_entry& entry)
    : entry_(&entry) {}

  /// CPUs the actor holds while it lives (default: none held, but it is
  /// placed only on a node with at least one CPU).
  actor_creator& num_cpus(double n) {
    options_.num_cpus = n;
    return *this;
  }

  /// Custom resources the actor holds while it lives.
  actor_creator& resources(std::map<std::string, double> rs) {
    options_.resources = std::move(rs);
    return *this;
  }

  /// Names the actor, unique within namespace `ns`; see get_actor.
  actor_creator& name(std::string n, std::string ns = "") {
    options_.name = std::move(n);
    options_.ns = std::move(ns);
    return *this;
  }

  /// How many calls may run at once (default 1: one at a time, in order).
  /// For an async actor (one with a lumen::async method), how many calls
  /// may be in flight on its one thread (default 1,000).
  actor_creator& max_concurrency(int n) {
    options_.max_concurrency = n;
    concurrency_set_ = true;
    return *this;
  }

  /// How often the actor is re-created after a crash or a kill that
  /// allows it; -1 without limit (default 0).
  actor_creator& max_restarts(int n) {
    options_.max_restarts = n;
    return *this;
  }

  /// How often a call lost to a restart is retried; -1 without limit
  /// (default 0: it fails with actor_died_error).
  actor_creator& max_task_retries(int n) {
    options_.max_task_retries = n;
    return *this;
  }

  /// Places the actor in bundle `bundle_index` of `pg` (-1: any bundle):
  /// the resources it holds come from the bundle.
  actor_creator& placement_group(const lumen::placement_group& pg,
                                 int bundle_index = -1) {
    detail::check_bundle_index(pg, bundle_index);
    options_.pg_id = pg.id();
    options_.pg_bundle = bundle_index;
    options_.capture_pg = pg.captures_child_tasks() ? pg.id() : std::string{};
    return *this;
  }

  /// Spreads actors made with spread() round robin over the nodes that can
  /// hold them.
  actor_creator& spread() {
    options_.strategy = detail::scheduling_strategy::spread;
    return *this;
  }

  /// Places the actor on node `node_id`; if that node is dead or cannot
  /// hold it, elsewhere when `soft`, else every call fails with
  /// actor_creation_error.
  actor_creator& node_affinity(std::string node_id, bool soft = false) {
    options_.strategy = detail::scheduling_strategy::node_affinity;
    options_.affinity_node = std::move(node_id);
    options_.affinity_soft = soft;
    return *this;
  }

  /// Makes calls from this process fail at once with
  /// pending_calls_exceeded_error while `n` of them are unanswered (-1: no
  /// limit, the default). Counts the calls made through handles in the
  /// creating process.
  actor_creator& max_pending_calls(int n) {
    options_.max_pending_calls = n;
    return *this;
  }

  /// With name(): remote() returns the live actor of that name (in its
  /// namespace) if there is one, its arguments unused, instead of failing
  /// because the name is taken.
  actor_creator& get_if_exists(bool on = true) {
    get_if_exists_ = on;
    return *this;
  }

  /// Keeps the actor alive without handles, until it is killed; a
  /// detached actor on another node also outlives the driver that made
  /// it, and keeps its name cluster-wide for as long as it lives.
  actor_creator& detached() {
    options_.detached = true;
    return *this;
  }

  /// Creates the actor with the factory's arguments (values or refs).
  template <class... As>
  actor_handle<product_type> remote(As&&... args) const {
    static_assert(sizeof...(As) == traits::arity,
                  "lumen::actor: wrong number of arguments for this factory");
    if (get_if_exists_) {
      if (options_.name.empty())
        throw error("lumen::actor: get_if_exists() needs a name()");
      // The name may be taken between the look-up and the creation, or
      // its actor end in between: a few rounds settle it.
      for (int round = 0;; ++round) {
        if (auto found = detail::runtime().find_actor(
              options_.name, options_.ns, entry_->class_hash))
          return actor_handle<product_type>(std::move(found));
        try {
          return create(args...); // copies: a later round needs them again
        } catch (const detail::name_taken_error&) {
          if (round == 4)
            throw;
        }
      }
    }
    return create(std::forward<As>(args)...);
  }

 private:
  template <class... As>
  actor_handle<product_type> create(As&&... args) const {
    detail::actor_request req;
    req.factory = entry_->name;
    req.class_hash = entry_->class_hash;
    req.options = options_;
    if (!concurrency_set_ && detail::is_async_class(req.class_hash))
      req.options.max_concurrency = detail::async_default_concurrency;
    req.args = detail::make_task_args<typename traits::decayed_args>(
      std::index_sequence_for<As...>{}, std::forward<As>(args)...);
    return actor_handle<product_type>(
      detail::runtime().create_actor(std::move(req)));
  }

 private:
  const detail::function_entry* entry_;
  detail::actor_options options_;
  bool concurrency_set_ = false;
  bool get_if_exists_ = false;
};

/// Prepares the creation of an actor by its registered factory `f`.
template <class R, class... Args>
actor_creator<R (*)(Args...)> actor(R (*f)(Args...)) {
  static_assert(!std::is_void_v<detail::factory_product_t<R (*)(Args...)>>,
                "lumen::actor: pass a factory returning T* or "
                "std::unique_ptr<T>");
  auto* entry = detail::find_function_by_key(detail::pointer_key(f));
  if (entry == nullptr || entry->kind != detail::function_kind::actor_factory)
    throw function_not_found_error(
      "lumen::actor: factory not registered; add LUMEN_REMOTE(Class::create)");
  return actor_creator<R (*)(Args...)>(*entry);
}

/// The live actor named `name` in namespace `ns`, if any; throws
/// type_mismatch_error if it is not a T.
template <class T>
std::optional<actor_handle<T>> get_actor(const std::string& name,
                                         const std::string& ns = "") {
  auto ptr = detail::runtime().find_actor(name, ns, detail::type_hash<T>());
  if (!ptr)
    return std::nullopt;
  return actor_handle<T>(std::move(ptr));
}

/// Kills the actor: the one instance, whichever process made it or found
/// it (get_actor in another driver kills for every driver). Pending calls
/// fail with actor_died_error; with `no_restart` false, an actor with
/// restarts left is re-created instead.
template <class T>
void kill(const actor_handle<T>& handle, bool no_restart = true) {
  if (!handle.valid())
    throw error("lumen::kill: invalid (default-constructed) actor_handle");
  detail::runtime().kill_actor(handle.ptr(), no_restart);
}

/// Ends the current actor from inside one of its methods: the calling
/// method's result and every later call fail with actor_died_error, and
/// the actor is not restarted. Throws lumen::error outside an actor.
[[noreturn]] void exit_actor();

/// Whether the actor running the current method was restarted at least
/// once. False outside an actor.
bool was_current_actor_restarted();

/// Encodes a handle as the actor's id; the containing object keeps the
/// actor alive for as long as the container lives.
template <class T>
struct codec<actor_handle<T>> {
  static void encode(detail::writer& w, const actor_handle<T>& x) {
    w.write_pod(static_cast<std::uint8_t>(x.valid() ? 1 : 0));
    if (!x.valid())
      return;
    w.write_pod(x.id().hi);
    w.write_pod(x.id().lo);
    w.add_ref(x.ptr());
  }

  static actor_handle<T> decode(detail::reader& r) {
    auto flag = r.read_pod<std::uint8_t>();
    if (flag == 0)
      return {};
    if (flag != 1)
      throw decode_error("bad actor_handle flag");
    object_id id;
    id.task.hi = r.read_pod<std::uint64_t>();
    id.task.lo = r.read_pod<std::uint64_t>();
    return actor_handle<T>(detail::runtime().lookup_actor(id));
  }
};

} // namespace lumen
