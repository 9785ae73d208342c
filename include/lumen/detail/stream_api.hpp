// The runtime functions behind lumen::generator and lumen::object_ref_stream
// (src/scheduling/stream_channel.hpp has the whole story).
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

/// The caller's side of one stream.
struct stream_state;

/// The stream of the streaming task whose return is `end`; throws
/// lumen::error if the task was not submitted as a stream here.
std::shared_ptr<stream_state> stream_adopt(const ref_ptr& end);

/// The next item, or an empty ref at the end; throws the generator's
/// error once its items are read, timeout_error after `timeout`.
ref_ptr stream_next(stream_state& s, std::chrono::nanoseconds timeout);

/// Items read so far.
std::uint64_t stream_consumed(const stream_state& s);

/// Ends the stream here and stops its producer (at its next co_yield).
void stream_close(stream_state& s);

/// Stops the stream of task `task` read on this node, as stream_close
/// does (for lumen::cancel). False if there is none.
bool stream_stop(const task_id& task);

/// Streams open on this node.
std::size_t open_streams();

/// The running execution's stream, or nullptr (not a stream: items are
/// dropped, as when lineage runs a generator again for its count).
void* stream_producer();

/// Hands item `index` over; false once the stream is gone.
bool stream_push(void* channel, std::uint64_t index, object_data&& item);

/// Sends what is queued before the task's result goes out.
void stream_finish(void* channel);

} // namespace lumen::detail
