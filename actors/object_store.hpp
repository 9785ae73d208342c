// object_store: this node's store of objects and its transfers.
//
// Owns the policy around the node's object_table. Local `put`, `get` and
// `wait` go to the table directly, without a message, so that a ready
// object costs a lock and no context switch. The table spills values to
// disk past its high-water mark and reads them back on demand
// (object_table.hpp), so a pull of a spilled value is served from a value
// read back into memory. Between nodes it moves values
// too large to travel inside a result (more than inline_limit bytes):
//
// - The node that ran a task for another node keeps the value ("hosts"
//   it) and tells the owner where it is.
// - The owner remembers every node holding a copy; a node that needs the
//   value pulls it from one of them in chunks of chunk_size bytes, a few
//   chunks in flight, into one buffer allocated up front (a 1 GiB object
//   never has a second whole copy in flight). Concurrent fetches of one
//   object share one pull.
// - When the owner drops its last reference, it tells every holder to
//   free its copy.
//
// - Bytes of a pull travel on the object channel (net/bulk_channel.hpp,
//   a CAF broker of the node's middleman, on the same transport as the
//   control traffic: TLS too) when both nodes have it (the default in a
//   cluster; off with object_transfer_mode::middleman): the puller sends a
//   one-time ticket naming its own channel inside a pull request; the
//   holder checks that the ticket names the channel the asking node
//   publishes in the cluster view (record bulk_address), else refuses and
//   logs it, and streams the whole value there; the puller's channel
//   takes it only with that ticket. A holder without the channel answers
//   the request with an error, and the pull goes on in chunks through the
//   middleman as above.
//
// It owns the node's object table (object_table.hpp states the contract
// under which the local fast path reads it directly). Peers talk to it
// directly: each node registers its store's handle with the GCS next to
// its cluster link's, the cluster view carries both, and the cluster link
// hands this store the peers' stores (peers). No object message passes
// through a cluster link; an owner named by its cluster link (as tasks
// and actor calls name it) is reached through its node's store.
//
// Messages:
// - (stats) -> object_table::stats: objects, pending, bytes and capacity.
// - (pull, id, offset, length) -> bytes: a chunk of a value held here.
//   With a ticket after the id's 20 bytes (bulk_ticket.hpp,
//   encode_ticket), the chunk goes on the object channel instead, to the
//   asking node's published channel, which the ticket must name; the
//   answer (no bytes) comes once the puller has acknowledged it; an error
//   if it could not be sent, if the ticket was refused, or if this node
//   has no channel.
// - (pulled, bulk_arrival) -> void: from the channel's broker, a value (or
//   the failure of its transfer) for a pull of this store.
// - (sent, key, error) -> void: from the channel's broker, a pull served
//   on it ("" on success).
// - (locate, id) -> (node id, size): where the value of an object owned
//   here lives ("" if unknown).
// - (located, id, node id, size) -> void: the value is (also) at that node.
// - (free, id) -> void: the owner dropped the object; free the copy.
// - (host, hosted_object) -> void: keep a result for its remote owner.
// - (fetch, id, owner) -> void: bring the value here (into the pending
//   entry for it), asking the owner's store where it is; `owner` is the
//   owner's cluster link or store (null: this node owns it).
// - (peers, peer_map) -> void: the current peers' cluster links and
//   stores, by node id (from the cluster view). An
//   object owned here whose every known copy was on nodes that left is
//   lost: the reconstruction actor (reconstruction.hpp) hears (lost, id)
//   and rebuilds it.
// - (join, reconstruction) -> void: where lost objects are reported (sent
//   by the runtime, which spawns the reconstruction actor).
//
// Borrowing (docs/architecture.md, "Borrowing"; object_store_borrow.cpp):
// - (lend, receiver, ref_traffic) -> void: from this node's encoders and
//   decoders: refs put on the wire for `receiver`'s node (their owners
//   count one registration each for it: here, or forwarded as `borrow`),
//   refs owned here that came back (each consumes one registration for
//   this node), registrations to give back at once.
// - (borrow, node, ids) -> void: from a peer's store: count one
//   registration per id (20 bytes each) for CAF node `node`.
// - (unborrow, ids and counts) -> void: from a peer's store: that node
//   gives back registrations (24 bytes per entry: id, count).
// - (giveback) -> void: from the table's borrow hook: send the
//   registrations of borrowed entries that went to their owners, one
//   `unborrow` per owner.
// - (borrowst) -> (lent objects, their registrations, borrowed entries,
//   their registrations): for tests and the microbenchmark.
// The owner keeps an object while any node holds a registration (a pin on
// its entry); a borrower's node that leaves loses its registrations, and
// an owner's node that leaves fails its borrowed pending entries with
// owner_died.
//
// The owner answers `locate` for an object it awaits (being computed or
// rebuilt) once a copy exists, not with "unknown"; a pull from a node that
// dies is, on the owner, a lost object, and elsewhere a new `locate`.
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
  object_ptr data;
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

using object_store_actor = caf::typed_actor<
  caf::replies_to<stats_atom>::with<detail::object_table::stats>,
  caf::replies_to<pull_atom, std::vector<char>, std::uint64_t,
                  std::uint64_t>::with<std::vector<char>>,
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

/// Spawns the object store around `table`, which must outlive it;
/// `node_id` is this node's id. With `opts.direct`, its object channel
/// (bulk_channel.hpp) listens on `opts.host`, and `*bulk_address` (if
/// given) gets the channel's HOST:PORT for the node's record; if it cannot
/// listen, objects move through the middleman only (logged) and the
/// address stays empty.
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
