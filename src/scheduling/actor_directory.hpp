// The actor directory: every actor this process knows, by id and by name.
//
// An entry is what an `actor_handle` points to. Its count is the number of
// handles in the process (including handles nested in objects and task
// arguments), plus one the directory holds for a detached actor. When the
// count reaches zero the entry is erased and the host is told the actor is
// orphaned, which kills a non-detached actor. Names are unique per
// namespace and released when the actor dies.
//
// Thread safety: all members may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "scheduling/actor_spec.hpp"

namespace lumen::detail {

class actor_directory {
 public:
  actor_directory();
  ~actor_directory();

  actor_directory(const actor_directory&) = delete;
  actor_directory& operator=(const actor_directory&) = delete;

  /// Throws lumen::error if `name` is taken in `ns` (an empty name is
  /// never taken).
  void check_name(const std::string& name, const std::string& ns) const;

  /// Reserves `name` in `ns` for an actor that is not in the directory (a
  /// native CAF actor); throws lumen::error if it is taken.
  void reserve_name(const std::string& name, const std::string& ns,
                    const task_id& owner);

  /// Releases a name reserved by `owner`.
  void release_name(const std::string& name, const std::string& ns,
                    const task_id& owner);

  /// Adds an actor whose calls go to `link`; throws lumen::error if its
  /// name is taken in its namespace.
  ref_ptr add(const actor_spec& spec, std::shared_ptr<actor_link> link);

  /// Where calls to the actor go.
  static actor_link& link_of(const ref_header* h) noexcept;

  /// The actor's count of unanswered calls from this process, if it was
  /// created here with max_pending_calls; else null.
  static const std::shared_ptr<pending_calls>&
  pending_of(const ref_header* h) noexcept;

  /// Fingerprint of the actor's class.
  static std::uint64_t class_of(const ref_header* h) noexcept;

  /// A counted reference to the actor named `name` in `ns`, or empty;
  /// throws type_mismatch_error if its class differs from `class_hash`.
  ref_ptr find(const std::string& name, const std::string& ns,
               std::uint64_t class_hash);

  /// A counted reference to the actor with this id, or empty.
  ref_ptr lookup(const task_id& id);

  /// The actor is dead for good: releases its name and, for a detached
  /// actor, the directory's own count.
  void dead(const task_id& id);

  /// Drops every link (at shutdown); later calls find no actor.
  void close();

  /// Actors known to the directory.
  std::size_t size() const;

  /// The actor's slot: a small number naming it while it is in the
  /// directory (reused once it has gone), which the return entries of its
  /// calls keep (object_table::set_actor_slot) for lumen::cancel.
  static std::uint32_t slot_of(const ref_header* h) noexcept;

  /// Where calls to the actor in `slot` go; null if the slot is free.
  std::shared_ptr<actor_link> link_at(std::uint32_t slot) const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

} // namespace lumen::detail
