// Conversion between task specs / error infos and their Cap'n Proto wire
// form (src/wire/task_spec.capnp), as flat bytes.
//
// Encoding is faithful and does not validate; decoding treats its input as
// untrusted (network or disk), checks structure and meaning, and throws
// `lumen::decode_error` naming what is wrong. Encoded buffers are
// self-delimiting single messages and deterministic: equal specs give equal
// bytes.
//
// Thread safety: free functions without shared state; call from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

/// Turns an object id read from the wire into a counted reference. Called
/// for every `ref` argument and every nested ref of a value argument, in
/// message order, and only once the whole message has been validated.
using ref_resolver = std::function<ref_ptr(const object_id&)>;

/// As ref_resolver, with the node id owning the object as the wire names
/// it ("" when the message names none: a spec from the lineage stash).
using owned_ref_resolver =
  std::function<ref_ptr(const object_id&, const std::string& owner)>;

/// The node id owning a referenced object ("" unknown), written next to
/// each ref (docs/architecture.md, "Borrowing").
using ref_owner_fn = std::function<std::string(const ref_header*)>;

// -- task specs ---------------------------------------------------------------

/// Encodes `spec` as one flat Cap'n Proto message. A value argument
/// contributes its bytes and the ids of its refs; a ref argument its id.
/// Resources are written sorted by name (the map's order).
/// @throws std::invalid_argument if an argument has neither or both of
///         `value` and `ref` set, or its value carries an error (error
///         objects are passed by reference only).
/// @throws lumen::error if the spec cannot be represented, e.g. a value
///         argument of 512 MiB or more.
byte_buffer encode_task_spec(const task_spec& spec);

/// As above, writing each ref's owner (`owner_of`) next to it.
byte_buffer encode_task_spec(const task_spec& spec,
                             const ref_owner_fn& owner_of);

/// Appends the encoding of `spec` without its `lineage` to `out` (what the
/// lineage stash keeps), building it in a first segment this thread
/// reuses when the spec fits in 8 KiB; `out` may have grown if it throws
/// (as encode_task_spec).
void append_task_spec(std::string& out, const task_spec& spec);

/// Decodes a task spec encoded by `encode_task_spec`. `data` needs no
/// particular alignment; `size` must be the exact message size.
/// @throws lumen::decode_error if the bytes are not one well-formed message
///         (size not a positive multiple of 8, truncated, trailing bytes,
///         limits exceeded) or the spec is invalid: empty function name,
///         `numCpus` or a resource amount negative or not finite, empty or
///         duplicate resource name, unknown kind of argument, or `resolve`
///         returning an empty reference.
/// Anything `resolve` throws propagates unchanged.
task_spec decode_task_spec(const char* data, std::size_t size,
                           const ref_resolver& resolve);

/// As above, handing `resolve` each ref's owner too. A nestedOwners list
/// whose length is not that of nestedRefs is refused (decode_error).
task_spec decode_task_spec_owned(const char* data, std::size_t size,
                                 const owned_ref_resolver& resolve);

// -- error infos --------------------------------------------------------------

/// Encodes `info` as one flat Cap'n Proto message.
byte_buffer encode_error_info(const error_info& info);

/// Decodes an error info encoded by `encode_error_info`.
/// @throws lumen::decode_error if the bytes are not one well-formed message
///         or `kind` is not an `error_kind` value.
error_info decode_error_info(const char* data, std::size_t size);

} // namespace lumen::detail
