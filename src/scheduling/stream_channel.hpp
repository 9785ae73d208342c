// Streaming generators: the channel between a generator's execution and
// the stream its caller reads (include/lumen/generator.hpp).
//
// The caller's node keeps one `stream_state` per streaming task, made
// when it is submitted (open_local_stream) and registered by task id
// until the caller's stream is dropped. Item k of task t is the object
// {t, k + 2} ({t, 1} is the task's own return: the item count, or the
// error the generator ended with); the caller's node puts it in its table
// when the caller reads it.
//
// The execution writes through a `stream_channel`, found in its
// execution_context:
// - on the caller's node, straight into the stream_state;
// - on another node (open_remote_stream, made by the cluster link for a
//   task from a peer), in batches: items queue in the channel, and one
//   (stream, batch, producer link) message at a time goes to the owner's
//   cluster link, which hands it to on_stream_items. The owner answers
//   (stream_ack, ack) with how many items the caller read, or that the
//   stream is gone (on_stream_ack finds the channel by task id).
//
// Backpressure: push blocks while `max_unconsumed` (0: no bound) items
// it pushed are unread. Items arrive in index order; a re-execution
// (retry after a node died, or retry_exceptions) yields from index 0 again
// and the caller's node drops the items it has (generators must be
// deterministic, as for lineage). Stopping: once the stream is dropped or
// stopped (stream_stop, for lumen::cancel), push returns false and the
// generator is destroyed at its current co_yield.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "lumen/detail/object_data.hpp"
#include "lumen/detail/stream_api.hpp"
#include "lumen/ids.hpp"

namespace lumen {

/// (stream, batch, producer link): items for the owner's cluster link.
using stream_atom = caf::atom_constant<caf::atom("stream")>;
/// (streamack, ack): to the producer's cluster link.
using stream_ack_atom = caf::atom_constant<caf::atom("streamack")>;
/// (streamflush, channel): a producer's channel asks its own link to send.
using stream_flush_atom = caf::atom_constant<caf::atom("streamflsh")>;

} // namespace lumen

namespace lumen::detail {

class object_table;

/// The producer's end of one stream.
class stream_channel {
 public:
  virtual ~stream_channel();

  /// Hands item `index` over; blocks while too many are unread. Returns
  /// false once the stream is gone (the generator stops).
  virtual bool push(std::uint64_t index, object_data&& item) = 0;

  /// Sends what is queued; called before the task's result goes out, so
  /// that the items arrive first.
  virtual void finish() {}

  /// Sends what is queued now (on the cluster link, for a remote channel).
  virtual void flush() {}
};

using stream_channel_ptr = std::shared_ptr<stream_channel>;

/// The caller's side of the stream of task `task`, whose return `end` is
/// pending in `table`: registers it and returns the channel an execution
/// on this node writes to.
std::shared_ptr<stream_channel> open_local_stream(const task_id& task,
                                                  std::uint32_t max_unconsumed,
                                                  object_table& table,
                                                  const ref_ptr& end);

/// The channel of a streaming task sent here by the node whose cluster
/// link is `owner`; `self_link` is this node's link (acks come to it).
std::shared_ptr<stream_channel> open_remote_stream(const task_id& task,
                                                   std::uint32_t max_unconsumed,
                                                   caf::actor owner,
                                                   caf::actor self_link);

/// A batch of items from a producer on another node (`from`: its link).
void on_stream_items(const std::vector<char>& batch, object_table& table,
                     const caf::actor& from);

/// An ack from the caller's node for a producer running here.
void on_stream_ack(const std::vector<char>& ack);

} // namespace lumen::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::stream_channel_ptr)
