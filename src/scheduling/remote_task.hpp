// Moving tasks and their results between nodes: the conversions the node
// manager applies at each end.
//
// A task travels with its small ref arguments (at most inline_limit bytes,
// held here) replaced by their values; larger ones, and values held on
// other nodes, travel as refs that the receiving node pulls (see
// object_store.hpp), asking the owner where a copy is. A result travels
// back inline when small, else as its location.
//
// Thread safety: pure functions over thread-safe tables.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "objects/object_table.hpp"
#include "objects/ref_traffic.hpp"
#include "wire/cluster_types.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

/// The wire form of `task`; small ref arguments held here are inlined.
/// `lineage`: the uncommitted ancestor specs that travel with it.
/// Every ref it writes carries its owner's node id; with `traffic`, they
/// go to traffic->lent (the caller hands them to the store with the
/// receiver, so that their owners count it as a borrower).
std::vector<char> encode_for_peer(const task_spec& task,
                                  const object_table& table,
                                  std::size_t inline_limit,
                                  std::vector<std::string> lineage = {},
                                  ref_traffic* traffic = nullptr);

/// A task received from a peer. Refs (arguments and nested) unknown here
/// get pending entries, and their ids go to `to_fetch`. Throws
/// decode_error for bad bytes.
/// With `traffic`, a ref whose owner is another node becomes a borrowed
/// entry (object_table::borrow), one owned here goes to traffic->home.
task_ptr decode_from_peer(const std::vector<char>& bytes, object_table& table,
                          std::vector<object_id>& to_fetch,
                          ref_traffic* traffic = nullptr);

/// As above, for a frame of a batch (src/wire/frames.hpp).
task_ptr decode_from_peer(std::string_view bytes, object_table& table,
                          std::vector<object_id>& to_fetch,
                          ref_traffic* traffic = nullptr);

/// The wire form of a task's result, value inline; a value too large for
/// one message becomes an error result that says so (never throws for
/// size).
/// With `table`, nested refs carry their owners; with `traffic` too, they
/// go to traffic->lent.
std::vector<char> encode_result(const object_id& id, const object_ptr& obj,
                                const object_table* table = nullptr,
                                ref_traffic* traffic = nullptr);

/// The wire form of a result whose value stays at node `node`.
std::vector<char> encode_location(const object_id& id, const std::string& node,
                                  std::uint64_t size);

/// A result received from a peer: the value, or (held elsewhere) nullptr
/// with `location` and `size`.
struct received_result {
  object_id id;
  object_ptr value;
  std::string location;
  std::uint64_t size = 0;
};

/// Nested refs with owners resolve as in decode_from_peer (with
/// `traffic`), pending ones fetched only when read.
received_result decode_result(const std::vector<char>& bytes,
                              object_table& table,
                              ref_traffic* traffic = nullptr);

/// As above, for a frame of a batch (src/wire/frames.hpp).
received_result decode_result(std::string_view bytes, object_table& table,
                              ref_traffic* traffic = nullptr);

/// The refs nested in `obj` (held here, over inline_limit), with their
/// owners, for a node pulling its bytes: an ObjectPayload with `nested` and
/// `nestedOwners` and no bytes. They go to traffic->lent, for the caller
/// to hand to its store with the puller. Empty if `obj` holds no refs.
std::vector<char> encode_nested(const object_id& id, const object_data& obj,
                                const object_table& table,
                                ref_traffic& traffic);

/// The refs `encode_nested` wrote for `id`, resolved as decode_result's
/// (borrowed entries, `traffic` filled); throws decode_error for bad bytes
/// or another object's list.
std::vector<ref_ptr> decode_nested(const std::vector<char>& bytes,
                                   const object_id& id, object_table& table,
                                   ref_traffic& traffic);

} // namespace lumen::detail
