# Storage format of the GCS's durable tables (RocksDB rows on the head).
#
# The Cap'n Proto form of the rows in src/gcs/gcs_rows.hpp; convert with
# the encode_*/decode_* functions declared there (implemented in
# src/gcs/gcs_rows.cpp). Keys and the layout of the store are in
# src/gcs/gcs_store.hpp. Key-value rows and lineage rows hold the bytes
# they were given, without a struct around them.
#
# Evolution: only add fields with new ordinals at the end of a struct, and
# never renumber or retype one; a head must read the tables an older head
# wrote.

@0xa17eeb683dc0a3bc;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("lumen::wire");

using Cluster = import "cluster.capnp";

# One row of the node table (key "node/<id>").
struct StoredNode {
  order @0 :UInt64;   # Registration order: the view lists nodes by it.
  record @1 :Data;    # The node's last registered NodeRecord message
                      # (cluster.capnp); alive false once declared dead.
}

# One row of the actor table (key "actor/<actor id>").
struct StoredActor {
  name @0 :Text;        # Name within `ns`; "" for an unnamed actor.
  ns @1 :Text;          # Namespace of the name.
  classHash @2 :UInt64; # Fingerprint of the actor's class.
  detached @3 :Bool;    # Lives without handles (until killed).
  hostNode @4 :Text;    # Node id of the node whose host answers calls
                        # (the owner's forwarder, or where the actor is
                        # pinned); "" if unknown.
}

# One bundle of a placement group.
struct StoredBundle {
  resources @0 :List(Cluster.ResourceAmount);  # Sorted by name.
  node @1 :Text;                               # Node id once placed, else "".
}

# One row of the placement group table (key "pg/<group id>").
struct StoredGroup {
  name @0 :Text;                    # The user's name for it (may be "").
  strategy @1 :UInt8;               # pg_strategy_kind.
  placed @2 :Bool;                  # Every bundle is reserved on its node.
  bundles @3 :List(StoredBundle);   # In the user's order.
}
