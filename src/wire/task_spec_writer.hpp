// A TaskSpec written word by word, without a capnp::MessageBuilder: the
// lineage stash encodes every submitted task, and the builder's arena,
// segment copy and zeroing cost more than the spec itself.
//
// The output is one flat single-segment Cap'n Proto message that any
// Cap'n Proto reader reads as a TaskSpec (wire/task_spec.capnp) equal to
// the one encode_task_spec would give, without lineage. Its bytes may
// differ from the builder's: empty lists and an empty name are written as
// null pointers, which read as empty. Layouts (data words, pointer count,
// field offsets) follow the generated code; the codec tests decode what
// this writes with the generated readers.
#pragma once

#include <string>

namespace lumen::detail {

struct task_spec;

/// Appends `spec`, without its lineage, as one flat message to `out` and
/// returns true; returns false, with `out` unchanged, for a spec it does
/// not write (an argument that is not exactly one of value and ref, an
/// error object as an argument, sizes past Cap'n Proto's limits): the
/// builder then reports what is wrong with it.
bool write_task_spec(std::string& out, const task_spec& spec);

} // namespace lumen::detail
