# Wire format of a task spec and of the error an error object carries.
#
# The Cap'n Proto form of lumen::detail::task_spec (src/wire/task_spec.hpp)
# and lumen::detail::error_info (include/lumen/detail/object_data.hpp), sent
# between nodes and stored in the lineage stash. Convert with
# src/wire/task_spec_codec.hpp; nothing else should build these by hand.
#
# Evolution: only add fields with new ordinals at the end of a struct, and
# never renumber or retype one. Decoders reject union members they do not
# know, so a new Arg alternative needs every node upgraded first.

@0xeb4a186033528249;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("lumen::wire");

# 128-bit task id (lumen::task_id).
struct TaskId {
  hi @0 :UInt64;  # High 64 bits.
  lo @1 :UInt64;  # Low 64 bits.
}

# Object id (lumen::object_id): the creating task plus an index.
struct ObjectId {
  task @0 :TaskId;   # Task that created the object.
  index @1 :UInt32;  # Return values count from 1; put objects set bit 31.
}

# One custom resource demand of a task (an entry of task_options.resources).
struct Resource {
  name @0 :Text;       # Resource name; non-empty, unique within a TaskSpec.
  amount @1 :Float64;  # Amount needed; finite and >= 0, may be fractional.
}

# An argument passed by value: the encoded bytes travel inline.
struct ValueArg {
  bytes @0 :Data;                   # object_data.bytes: fingerprint + value.
  nestedRefs @1 :List(ObjectId);    # Ids of object_data.refs, in order.
  nestedOwners @2 :List(Text);      # Node id owning each of nestedRefs (same
                                    # length), or empty: owners unknown (a
                                    # spec from the stash).
}

# One argument of a task, in call order: inline value or object reference.
struct Arg {
  union {
    value @0 :ValueArg;  # Inline value (task_arg.value).
    ref @1 :ObjectId;    # Object the executor fetches first (task_arg.ref).
  }
  owner @2 :Text;        # Node id owning `ref` ("" unknown; unset for values).
}

# Everything needed to run one task execution (lumen::detail::task_spec).
struct TaskSpec {
  id @0 :TaskId;               # This task's id, derived from parent.
  parent @1 :TaskId;           # Task (or driver root) that submitted it.
  depth @2 :UInt32;            # Nesting depth; 0 for a driver's tasks.
  function @3 :Text;           # Registered function name; non-empty.
  name @4 :Text;               # Display name (task_options.name); may be "".
  args @5 :List(Arg);          # Arguments in call order.
  numCpus @6 :Float64;         # CPUs needed; finite and >= 0.
  resources @7 :List(Resource);  # Custom resources, sorted by name.
  maxRetries @8 :Int32;        # task_options.max_retries, copied as is.
  returnId @9 :ObjectId;       # Where the return value goes.
  attempt @10 :UInt32;         # 0 for the first execution, counting retries.
  retryExceptions @11 :Bool;   # task_options.retry_exceptions.
  lineage @12 :List(Data);     # Uncommitted ancestor specs (task_spec.lineage),
                               # each an encoded TaskSpec.
  job @13 :TaskId;             # The job (task_spec.job): the node id, as
                               # 128 bits, of the driver whose code
                               # submitted it or its ancestors; 0 unknown.
  stream @14 :UInt32;          # 0: not a streaming task; else 1 +
                               # task_options.max_unconsumed (a generator).
  ns @15 :Text;                # The job's namespace (task_spec.ns); "" the
                               # default one.
  capturePg @16 :Text;         # Placement group id its children go to
                               # (task_options.capture_pg); "" none.
  retryOn @17 :List(Text);     # Exception types retried
                               # (task_options.retry_on); empty: all.
}

# The error an error object carries (lumen::detail::error_info).
struct ErrorInfo {
  kind @0 :UInt8;       # A lumen::detail::error_kind value.
  typeName @1 :Text;    # Demangled type of the exception user code threw.
  message @2 :Text;     # Its what().
  taskName @3 :Text;    # Name of the task whose code threw.
}
