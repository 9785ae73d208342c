// Placement groups: sets of resource bundles reserved together, so that
// the tasks and actors put into them are placed as a unit (gang
// scheduling).
//
//   auto pg = lumen::create_placement_group(
//     {{{"CPU", 1}}, {{"CPU", 1}}}, lumen::pg_strategy::strict_spread);
//   if (pg.wait(std::chrono::seconds(10)))
//     lumen::task(f).placement_group(pg, 0).remote();  // in bundle 0
//   lumen::remove_placement_group(pg);
//
// Strategies, as in Ray: pack (as few nodes as possible), spread (as many
// as possible), strict_pack (one node, or not placed), strict_spread (one
// node per bundle, or not placed). A group waits until the cluster has
// room and stays pending (with a warning on the head) if it never will.
// A task or actor in a group asks for its resources from its bundle (any
// bundle with index -1) instead of from the node's general pool.
//
// Thread safety: a placement_group is a value; the functions may be called
// from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lumen/detail/runtime_api.hpp"
#include "lumen/objects.hpp"

namespace lumen {

/// How a placement group's bundles spread over nodes.
enum class pg_strategy : std::uint8_t {
  pack,
  spread,
  strict_pack,
  strict_spread,
};

/// Where a placement group is (Ray's PENDING, CREATED, REMOVED).
enum class pg_state : std::uint8_t {
  /// Removed, or not known to the cluster.
  removed,
  /// Waiting for room.
  pending,
  /// Its bundles are reserved.
  created,
};

/// Handle to a placement group.
class placement_group {
 public:
  placement_group() = default;

  placement_group(std::string id, std::size_t bundle_count)
    : id_(std::move(id)), bundle_count_(bundle_count) {}

  const std::string& id() const noexcept {
    return id_;
  }

  std::size_t bundle_count() const noexcept {
    return bundle_count_;
  }

  bool valid() const noexcept {
    return !id_.empty();
  }

  /// Whether the group is placed within `timeout` (false if removed).
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return detail::runtime().wait_placement_group(id_,
                                                  detail::to_timeout(timeout));
  }

  /// The group's state now, as the GCS knows it (asks it).
  pg_state state() const;

  /// This handle, asking that tasks and actors placed in the group with
  /// it capture their children: whatever they submit without a placement
  /// of its own (a placement group, spread or node affinity) goes to this
  /// group too (any bundle), and so on down.
  placement_group capture_child_tasks(bool on = true) const {
    auto copy = *this;
    copy.capture_ = on;
    return copy;
  }

  bool captures_child_tasks() const noexcept {
    return capture_;
  }

 private:
  std::string id_;
  std::size_t bundle_count_ = 0;
  bool capture_ = false;
};

/// Asks for a group of `bundles` (each a map of resource amounts, e.g.
/// {{"CPU", 1}}) placed with `strategy`; throws lumen::error for an empty
/// group, an empty bundle, a bad amount, or a `name` taken by a live group
/// in the caller's namespace (lumen::context().ns).
placement_group
create_placement_group(std::vector<std::map<std::string, double>> bundles,
                       pg_strategy strategy = pg_strategy::pack,
                       const std::string& name = "");

/// The live (pending or placed) group named `name` in namespace `ns`
/// (empty: the caller's, see lumen::context().ns), from any node; nullopt
/// if there is none. Names are unique per namespace: create_placement_group
/// with a name taken there throws lumen::error.
std::optional<placement_group> get_placement_group(const std::string& name,
                                                   const std::string& ns = "");

/// Gives the group's resources back; tasks and actors still in it keep
/// running, and new ones that ask for it wait.
void remove_placement_group(const placement_group& pg);

namespace detail {

/// Checks `index` against the group; -1 means any bundle.
void check_bundle_index(const placement_group& pg, int index);

} // namespace detail

} // namespace lumen
