// object_store's state and what its files share; private to them:
// object_store.cpp assembles the behavior (serving pulls, locations,
// hosted copies, peers); object_store_pulls.cpp brings values here, in
// chunks through the middleman or on the object channel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/object_store.hpp"
#include "net/bulk_channel.hpp"

namespace lumen::detail_object_store {

/// One value being pulled into this node.
struct pull_state {
  std::string node;
  caf::actor source;
  caf::actor owner;
  std::uint64_t size = 0;
  detail::byte_buffer buffer;
  std::uint64_t next_offset = 0;
  std::uint64_t received = 0;
  std::size_t in_flight = 0;
  /// Tells this pull's answers from those of an earlier pull of the same
  /// object that was given up.
  std::uint64_t serial = 0;
  /// The ticket of its direct transfer, if it uses the object channel.
  std::optional<detail::bulk_ticket> ticket;
  /// The refs nested in the value (pullrefs), once `refs_known`.
  std::vector<detail::ref_ptr> refs;
  bool refs_known = false;
  /// The value, if its bytes came before its refs.
  std::shared_ptr<detail::object_data> arrived;
};

/// Owner side: the registrations borrowers' nodes hold on one object owned
/// here, and the pin on its entry that they make (null once it is gone).
struct lent_object {
  detail::ref_ptr pin;
  std::vector<std::pair<caf::node_id, std::int64_t>> counts;
};

struct store_state {
  detail::object_table* table = nullptr;
  std::string node_id;
  /// Values kept here for their remote owners.
  std::map<object_id, detail::ref_ptr> hosted;
  /// The CAF node of each hosted value's owner: its copies go when that
  /// node leaves the cluster (nobody can free them any more).
  std::map<object_id, caf::node_id> hosted_for;
  /// Owner side: the nodes holding each value, with its size.
  std::map<object_id, std::map<std::string, std::uint64_t>> locations;
  /// Owner side: values wanted here whose location is not known yet.
  std::set<object_id> wanted;
  std::map<object_id, pull_state> pulls;
  std::uint64_t last_pull_serial = 0;
  /// The other nodes of the cluster view, by node id.
  detail::peer_map peers;
  /// Owner side: `locate` requests for objects awaited here.
  std::map<object_id,
           std::vector<caf::typed_response_promise<std::string, std::uint64_t>>>
    locate_waiters;
  /// Borrower side: new `locate`s made after a pull failed, per object.
  std::map<object_id, int> relocations;
  /// The node's reconstruction actor, told of lost objects.
  caf::actor reconstruction;
  /// Holder side: direct transfers being sent, by key.
  std::map<std::uint64_t, caf::typed_response_promise<std::vector<char>>> sends;
  std::uint64_t last_send = 0;
  /// Owner side: objects lent to other nodes (object_store_borrow.cpp).
  std::unordered_map<object_id, lent_object> lent;
  /// Nodes (CAF ids) that left: late registrations for them are ignored.
  std::set<caf::node_id> departed;
  /// Node ids that left: borrowed objects they owned are lost.
  std::set<std::string> departed_ids;
  /// Borrower side: what the table's borrow hook queued.
  std::shared_ptr<give_back_queue> returns;
  /// Borrower side: fetches waiting for their owner to enter the view.
  std::map<object_id, int> owner_waits;
  /// The object channel (null: objects move through the middleman only).
  /// Last, so that it is destroyed (its broker stopped) first.
  std::shared_ptr<detail::bulk_channel> bulk;
  const char* name = "lumen.object_store";
};

using self_ptr = object_store_actor::stateful_pointer<store_state>;

/// The object store of the node of `owner` (a cluster link or an object
/// store of a peer), null if that node is not in this node's view.
caf::actor store_of(const store_state& st, const caf::actor& owner);

/// The owner of `id`, `owner`, is on a node this node's view does not hold
/// (yet): asks again a little later, a few times, then fails the pull.
void owner_unknown(self_ptr self, const object_id& id, caf::actor owner);

/// Forgets the pull of `id`, withdrawing its ticket.
void drop_pull(store_state& st, const object_id& id);

/// Fails every waiter of `id`: its value could not be pulled.
void fail_pull(self_ptr self, const object_id& id, const std::string& why);

/// Starts pulling `id` (`size` bytes) from `node`; `owner` is the owner's
/// cluster link, null if this node owns it. One pull per object.
void start_pull(self_ptr self, const object_id& id, const std::string& node,
                std::uint64_t size, caf::actor owner);

/// A pull from a copy failed (its node died, or it was freed there). The
/// owner tries another copy or has the object rebuilt; a borrower asks the
/// owner again, which answers once a copy exists.
void pull_failed(self_ptr self, const object_id& id, const std::string& why);

// -- borrowing (object_store_borrow.cpp) --------------------------------------

void on_lend(self_ptr self, const caf::actor& receiver,
             detail::ref_traffic& traffic);
void on_borrow(self_ptr self, const caf::node_id& node,
               const std::vector<char>& ids);
void on_unborrow(self_ptr self, const std::vector<char>& entries);
void on_give_back(self_ptr self);
/// Peers left: their registrations go, their borrowed objects fail.
void borrowers_left(self_ptr self, const detail::peer_map& old_peers,
                    const std::set<std::string>& gone);
/// A fetch with no owner named: the entry's lender, if any, is the owner.
/// Returns false if the fetch is dealt with (failed or retried later).
bool owner_for_fetch(self_ptr self, const object_id& id, caf::actor& owner);

/// Stores the pulled value of `id` (whose pull exists) and tells its owner.
/// Once its nested refs are known too (pullrefs).
void finish_pull(self_ptr self, const object_id& id,
                 std::shared_ptr<detail::object_data> data);

} // namespace lumen::detail_object_store
