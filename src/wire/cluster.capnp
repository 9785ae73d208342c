# Wire format of what nodes tell each other about themselves and objects.
#
# The Cap'n Proto form of lumen::detail::node_record, cluster_view and
# object_payload (src/wire/cluster_types.hpp), sent between nodes and the
# GCS. Convert with the encode_*/decode_* functions declared there
# (implemented in src/wire/cluster_codec.cpp); nothing else should build
# these by hand.
#
# Ids and error infos are the structs of task_spec.capnp. Maps travel as
# lists of name/value entries, sorted by name (the std::map's order).
#
# Evolution: only add fields with new ordinals at the end of a struct, and
# never renumber or retype one.

@0xb6c7c7f3ee2784b9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("lumen::wire");

using Spec = import "task_spec.capnp";

# One entry of a resource map (node_record.total / .available).
struct ResourceAmount {
  name @0 :Text;       # Resource name ("CPU", "GPU", ...); non-empty, unique.
  amount @1 :Float64;  # Quantity; finite and >= 0, may be fractional.
}

# A name with a count: an infeasible shape or an actor state.
struct NamedCount {
  name @0 :Text;     # Shape description or actor state ("alive", ...).
  count @1 :UInt64;  # How many (a std::size_t).
}

# What the running tasks of one job hold on a node (lumen::detail::job_hold).
struct JobHold {
  job @0 :Text;                        # The job: 32 lowercase hex digits.
  tasks @1 :UInt64;                    # Its tasks running on the node.
  resources @2 :List(ResourceAmount);  # What they hold, sorted by name.
}

# One node as the GCS and every node's scheduler see it
# (lumen::detail::node_record).
struct NodeRecord {
  id @0 :Text;                          # 32 lowercase hex digits.
  address @1 :Text;                     # HOST:PORT of the middleman; "" none.
  head @2 :Bool;                        # The head node (runs the GCS).
  driver @3 :Bool;                      # A driver (lumen::init with address).
  alive @4 :Bool = true;                # False once the GCS declared it dead.
  total @5 :List(ResourceAmount);       # Resources it has, sorted by name.
  available @6 :List(ResourceAmount);   # Resources now free, sorted by name.
  objectStoreUsed @7 :UInt64;           # Bytes in its object store; may
                                        # exceed the capacity while spilling.
  objectStoreCapacity @8 :UInt64;       # Object store capacity in bytes.
  infeasible @9 :List(NamedCount);      # Waiting work no node can hold:
                                        # shape and count, in the node's
                                        # order (names may repeat).
  actors @10 :List(NamedCount);         # Actors hosted, counted by state;
                                        # sorted by state, states unique.
  bulkAddress @11 :Text;                # HOST:PORT of its object channel
                                        # (net/bulk_channel.hpp); ""
                                        # none (objects via the middleman).
  taskActorsSpawned @12 :UInt64;        # Task actors spawned on it so far.
  taskExecutions @13 :UInt64;           # Task executions ended on it so far
                                        # (retries and rebuilds included).
  held @14 :List(JobHold);              # Resources running tasks hold, by
                                        # job; sorted by job, jobs unique.
  startedMs @15 :UInt64;                # Set by the GCS: when it first
                                        # registered the node (Unix ms).
  endedMs @16 :UInt64;                  # Set by the GCS: when it declared
                                        # the node dead (Unix ms); 0 alive.
}

# Every node the GCS knows, dead ones included (lumen::detail::cluster_view).
struct ClusterView {
  version @0 :UInt64;          # Bumped whenever a node joins, dies or changes.
  nodes @1 :List(NodeRecord);  # The nodes, in the GCS's order.
}

# A task's result on its way from the node that ran it to the node that owns
# it (lumen::detail::object_payload).
struct ObjectPayload {
  id @0 :Spec.ObjectId;            # The object.
  bytes @1 :Data;                  # object_data.bytes; empty for an error.
  nested @2 :List(Spec.ObjectId);  # Ids of the refs nested in the value.
  hasError @3 :Bool;               # Whether this is an error object.
  error @4 :Spec.ErrorInfo;        # The error; set if and only if hasError.
  location @5 :Text;               # Node id holding the value when it is
                                   # not inline (bytes empty); else empty.
  size @6 :UInt64;                 # Size of the value held at `location`.
  nestedOwners @7 :List(Text);     # Node id owning each of `nested` (same
                                   # length), or empty: owners unknown.
}

# How an actor placed on another node is made and kept; travels with the
# factory call (a TaskSpec whose function is the factory and whose id is
# the actor's id).
struct ActorOptions {
  classHash @0 :UInt64;              # Fingerprint of the actor's class.
  hasNumCpus @1 :Bool;               # Whether numCpus was given.
  numCpus @2 :Float64;               # CPUs held while the actor lives.
  resources @3 :List(ResourceAmount);# Custom resources held.
  name @4 :Text;                     # Name within `ns` (may be empty).
  ns @5 :Text;                       # Namespace of the name.
  maxConcurrency @6 :Int32;          # Calls running at once, >= 1.
  maxRestarts @7 :Int32;             # Re-creations allowed, -1: no limit.
  maxTaskRetries @8 :Int32;          # Reruns of calls lost to a restart.
  detached @9 :Bool;                 # Lives without handles.
  restarted @10 :Bool;               # Replaces an instance that died.
  capturePg @11 :Text;               # Placement group id its tasks and
                                     # actors go to (actor_options.
                                     # capture_pg); "" none.
}
