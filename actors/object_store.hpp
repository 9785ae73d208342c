// object_store: this node's store of objects and its transfers.
//
// Owns the node's object table (object_table.hpp) and the policy around it:
// local put, get and wait read the table directly, without a message. Moves
// values over inline_limit between nodes (hosts them, records copies, pulls,
// frees), counts the refs other nodes borrow, and reports lost objects.
// Details: docs/architecture.md, "object_store".
//
// Messages it takes (an id is the 20 bytes of id_bytes):
// - (stats) -> object_table::stats: objects, pending, bytes and capacity.
// - (pull, id, offset, length) -> bytes: a chunk of a value held here; with
//   a ticket after the id (encode_ticket), the value goes on the object
//   channel instead and the answer is empty bytes, or an error.
// - (pullrefs, id) -> bytes: the refs nested in a value held here, with
//   their owners (encode_nested), counted as lent to the asking node.
// - (locate, id) -> (node id, size): where a value owned here lives ("" if
//   unknown); for an object awaited here, once a copy exists.
// - (located, id, node id, size) -> void: the value is (also) at that node.
// - (free, id) -> void: the owner dropped the object; free the copy.
// - (host, hosted_object) -> void: keep a result for its remote owner.
// - (fetch, id, owner) -> void: bring the value here; `owner` is the owner's
//   cluster link or store (null: this node owns it).
// - (peers, peer_map) -> void: the peers' links, stores and channels, by
//   node id (from the cluster link's view).
// - (join, reconstruction) -> void: from the runtime: where lost objects go.
// - (pulled, bulk_arrival) / (sent, key, error) -> void: from the object
//   channel's broker: a value for a pull of this store / a pull served.
// Borrowing (object_store_borrow.cpp):
// - (lend, receiver, ref_traffic) -> void: from this node's encoders and
//   decoders: refs sent to `receiver`, refs come home, give-backs.
// - (borrow, node, ids) / (unborrow, ids and counts) -> void: from a peer's
//   store: count one registration per id for `node` / give some back.
// - (giveback) -> void: from the table's borrow hook: give-backs queued.
// - (borrowst) -> (lent objects, their registrations, borrowed entries,
//   their registrations): for tests and the microbenchmark.
//
// Messages it sends:
// - to peers' stores: (pull, ...), (pullrefs, id), (locate, id),
//   (located, id, node id, size) to the owner's once pulled, (free, id) to
//   holders, (borrow, ...) and (unborrow, ...) to owners';
// - (result, ObjectPayload) to a hosted result's owner: where it is kept, or
//   the value (or why not) if it cannot be;
// - (lost, id) to the reconstruction actor; (fetch, id, owner) to itself,
//   to try again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "objects/ref_traffic.hpp"

namespace lumen {

namespace detail {

/// Values larger than this travel by pull, not inside a result message.
inline constexpr std::size_t inline_limit = 256 * 1024;

/// Size of one pulled chunk.
inline constexpr std::size_t chunk_size = 4 * 1024 * 1024;

/// Chunks of one pull in flight at once.
inline constexpr std::size_t chunks_in_flight = 4;

/// How values travel between this node's store and its peers'.
struct transfer_options {
  /// Whether pulls use the object channel (net/bulk_channel.hpp).
  bool direct = false;
  /// The address the object channel listens on (the node's host).
  std::string host = "127.0.0.1";
};

/// A value (or why not) that arrived on the object channel for a pull.
struct bulk_arrival {
  object_id id;
  /// The pull it belongs to (see pull_state::serial).
  std::uint64_t serial = 0;
  std::shared_ptr<object_data> data;
  std::string error;
};

/// Another node of the cluster view, as this node's store sees it.
struct peer_store {
  /// Its cluster link: objects' owners are named by it (tasks and actor
  /// calls come from it).
  caf::actor manager;
  /// Its object store, which this store talks to.
  caf::actor store;
  /// HOST:PORT of its object channel, as its record publishes it ("" if
  /// it has none): the only address this node's channel sends its
  /// values to.
  std::string bulk_address;
};

/// The peers by node id.
using peer_map = std::map<std::string, peer_store>;

/// A result this node keeps for the remote owner of its object.
struct hosted_object {
  object_id id;
  object_ptr value;
  /// The owner's cluster link.
  caf::actor owner;
};

/// The wire form of an object id.
std::vector<char> id_bytes(const object_id& id);

/// An object id from its wire form; throws decode_error.
object_id id_from_bytes(const std::vector<char>& bytes);

} // namespace detail

using pulled_atom = caf::atom_constant<caf::atom("pulled")>;
using sent_atom = caf::atom_constant<caf::atom("sent")>;
using pullrefs_atom = caf::atom_constant<caf::atom("pullrefs")>;

using object_store_actor = caf::typed_actor<
  caf::replies_to<stats_atom>::with<detail::object_table::stats>,
  caf::replies_to<pull_atom, std::vector<char>, std::uint64_t,
                  std::uint64_t>::with<std::vector<char>>,
  caf::replies_to<pullrefs_atom, std::vector<char>>::with<std::vector<char>>,
  caf::replies_to<locate_atom, std::vector<char>>::with<std::string,
                                                        std::uint64_t>,
  caf::reacts_to<located_atom, std::vector<char>, std::string, std::uint64_t>,
  caf::reacts_to<free_atom, std::vector<char>>,
  caf::reacts_to<host_atom, detail::hosted_object>,
  caf::reacts_to<fetch_atom, std::vector<char>, caf::actor>,
  caf::reacts_to<peers_atom, detail::peer_map>,
  caf::reacts_to<join_atom, caf::actor>,
  caf::reacts_to<pulled_atom, detail::bulk_arrival>,
  caf::reacts_to<sent_atom, std::uint64_t, std::string>,
  caf::reacts_to<lend_atom, caf::actor, detail::ref_traffic>,
  caf::reacts_to<borrow_atom, caf::node_id, std::vector<char>>,
  caf::reacts_to<unborrow_atom, std::vector<char>>,
  caf::reacts_to<giveback_atom>,
  caf::replies_to<borrow_stats_atom>::with<std::uint64_t, std::uint64_t,
                                           std::uint64_t, std::uint64_t>>;

/// Registrations of borrowed entries that went, for the store to give
/// back (the table's borrow hook fills it from any thread).
struct give_back_queue {
  std::mutex mtx;
  std::vector<std::tuple<object_id, std::string, std::uint32_t>> items;
};

/// The table's borrow hook for `store`: queues in `q` and wakes the store
/// once per batch.
std::function<void(const object_id&, const std::string&, std::uint32_t)>
make_borrow_hook(object_store_actor store, std::shared_ptr<give_back_queue> q);

/// Spawns the object store around `table`, which must outlive it;
/// `node_id` is this node's id. With `opts.direct`, its object channel
/// (bulk_channel.hpp) listens on `opts.host`, and `*bulk_address` (if
/// given) gets the channel's HOST:PORT for the node's record; if it cannot
/// listen, objects move through the middleman only (logged) and the
/// address stays empty.
object_store_actor make_object_store(caf::actor_system& sys,
                                     detail::object_table* table,
                                     std::string node_id,
                                     detail::transfer_options opts = {},
                                     std::string* bulk_address = nullptr);

} // namespace lumen

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::hosted_object)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::bulk_arrival)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::peer_map)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(lumen::detail::ref_traffic)
