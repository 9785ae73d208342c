// Moving tasks and their results between nodes: the conversions the node
// manager applies at each end.
//
// A task is sent with its ref arguments replaced by their values (the
// sending node owns them and holds them locally), so the receiving node
// needs nothing else to run it; the result comes back as an
// ObjectPayload. Refs nested inside values are sent by id and resolve on
// the receiving node only if it knows them.
//
// Thread safety: pure functions over thread-safe tables.
#pragma once

#include <vector>

#include "cluster/cluster_types.hpp"
#include "runtime/object_table.hpp"
#include "runtime/task_spec.hpp"

namespace lumen::detail {

/// The wire form of `task` with every ref argument replaced by its value;
/// throws lumen::error if an argument is not ready here.
std::vector<char> encode_for_peer(const task_spec& task,
                                  const object_table& table);

/// A task received from a peer; nested refs resolve through `table`.
/// Throws decode_error for bad bytes or unknown nested refs.
task_ptr decode_from_peer(const std::vector<char>& bytes, object_table& table);

/// The wire form of a task's result.
std::vector<char> encode_result(const object_id& id, const object_ptr& obj);

/// A result received from a peer, with its object id.
std::pair<object_id, object_ptr> decode_result(const std::vector<char>& bytes,
                                               object_table& table);

} // namespace lumen::detail
