// `lumen::config`: how `lumen::init` starts or joins a cluster.
//
//   lumen::init(lumen::config{.num_cpus = 2,
//                             .resources = {{"accelerator", 1}}});
//
// Every field has a default that suits the embedded one-node cluster.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace lumen {

/// How task lineage is kept for reconstruction after a node dies.
enum class lineage_mode {
  /// Each node appends specs to its local RocksDB stash without waiting,
  /// forwards uncommitted lineage with the tasks it sends, and commits it
  /// to the GCS in background batches (the default).
  stash,
  /// Each spec is committed to the GCS, durably, before its task may run.
  write_ahead,
  /// No lineage is kept: objects lost with a node are not rebuilt.
  off,
};

/// How object bytes travel between the nodes of a cluster.
enum class object_transfer_mode {
  /// On the object channel between the two object stores: a CAF broker
  /// of each node's middleman, on the node's transport (TLS when the node
  /// has TLS files), whose transfers are taken only with a one-time ticket
  /// the puller sent over the node connection (the default).
  direct,
  /// Inside messages on the node connections (CAF's middleman, and its
  /// TLS when on), in chunks of 4 MiB: slower for large objects.
  middleman,
};

/// TLS between the nodes of a cluster (OpenSSL, on CAF's middleman): PEM
/// files of this node's certificate (chain) and private key, and of the
/// cluster's CA, which must have signed the certificate of every node.
/// Peers are verified on both sides of every connection. Give all three
/// or none (README "Security"; `lumen tls init DIR` makes a test set).
/// Empty here: $LUMEN_TLS_CERTIFICATE, $LUMEN_TLS_KEY, $LUMEN_TLS_CA.
struct tls_config {
  std::string certificate{};
  std::string key{};
  std::string ca{};
};

/// How much a process logs: each level includes the ones after it (`warn`
/// logs warnings and errors); `off` logs nothing. docs/logging.md says
/// what is logged at which level.
enum class log_level {
  /// Every message and reply of note, for following one task by hand.
  trace,
  /// Decisions: where a task runs, why an object is pulled or rebuilt.
  debug,
  /// Life-cycle events: a node starts, joins, stops; a connection opens.
  info,
  /// Something failed and Lumen coped: a dropped connection or message, a
  /// task retried, an actor restarted, an object rebuilt.
  warn,
  /// Something failed and Lumen could not cope: a node cannot start, a
  /// write is lost.
  error,
  /// Nothing.
  off,
};

/// Default of config::log_level in a program that calls `lumen::init` (a
/// driver): warnings and errors, on its stderr.
inline constexpr log_level default_driver_log_level = log_level::warn;

/// Default of config::log_level in a node started by `lumen start`, which
/// writes to its log file.
inline constexpr log_level default_node_log_level = log_level::info;

/// Default of config::max_message_size: 1 GiB, above the largest message
/// Lumen sends (a Cap'n Proto message carries at most 512 MiB).
inline constexpr std::size_t default_max_message_size = std::size_t{1} << 30;

/// Default of config::handshake_timeout, in seconds.
inline constexpr double default_handshake_timeout = 10;

/// Default of config::idle_timeout, in seconds.
inline constexpr double default_idle_timeout = 60;

/// Start-up options of one node (the driver's own node with `init`).
struct config {
  /// `HOST:PORT` of a head node to join; empty starts the embedded
  /// one-node cluster inside this process.
  std::string address{};

  /// CPUs this node offers to tasks and actors; default: the hardware
  /// threads. Each task execution is an ephemeral actor holding its
  /// num_cpus while it runs; it hands the user's call to a worker thread
  /// (never a scheduler thread), and a call blocked in `get` lends its CPU
  /// out until it wakes.
  std::optional<double> num_cpus{};

  /// Custom resources this node offers, e.g. {{"GPU", 2}, {"ssd", 1}}.
  std::map<std::string, double> resources{};

  /// Bytes the object store may hold; 0 means 30% of physical memory.
  std::size_t object_store_memory = 0;
  /// Lineage mode; see lineage_mode.
  lineage_mode lineage = lineage_mode::stash;
  /// Fraction of object_store_memory above which objects with no pending
  /// reader spill to disk, oldest first; above 0 and at most 1.
  double object_spilling_threshold = 0.8;
  /// Directory spilled objects go to: the node writes into a directory of
  /// its own inside it, `lumen-spill-<node id>`, and removes that at
  /// shutdown. Empty: `<runtime directory>/spill` ($LUMEN_RUNTIME_DIR, else
  /// /tmp/lumen-<uid>).
  std::string spill_directory{};
  /// Bytes the spill directory may hold for this node; 0: until the disk
  /// is full. `put` throws object_store_full_error only when memory and
  /// this are both exhausted.
  std::size_t spill_capacity = 0;
  /// How objects travel between nodes; see object_transfer_mode.
  object_transfer_mode object_transfer = object_transfer_mode::direct;
  /// TLS to the cluster's nodes; see tls_config. Used only when joining a
  /// cluster (or starting a head); the embedded cluster opens no port.
  tls_config tls{};
  /// The cluster token this node presents to the head (at least 16
  /// characters); empty: $LUMEN_TOKEN. A head with a token admits only
  /// nodes and drivers that present it (README "Security").
  std::string token{};
  /// Largest message this node reads from a connection, in bytes; a peer
  /// announcing a larger one is cut off (logged) before anything is
  /// allocated, and a larger outgoing one is dropped (logged). At least 16
  /// MiB; default_max_message_size by default.
  std::size_t max_message_size = default_max_message_size;
  /// Largest object this node stores, in bytes: a larger `put` throws
  /// lumen::error, a larger task result fails its `get`, a larger value
  /// announced by a peer is not pulled. 0: the object store's capacity
  /// (object_store_memory), which no object can pass anyway.
  std::size_t max_object_size = 0;
  /// Seconds a new connection to or from this node has to finish its
  /// handshake (TLS, then CAF's); a peer that has not is cut off (logged).
  /// 0: no limit.
  double handshake_timeout = default_handshake_timeout;
  /// Seconds a connection may stay silent (nodes send heartbeats every
  /// second); a silent one is closed (logged). 0: no limit.
  double idle_timeout = default_idle_timeout;
  /// Bytes that partly received messages may hold on this node, all
  /// connections together; a message that would pass it closes its
  /// connection (logged). 0: max_message_size. At least max_message_size.
  std::size_t frame_memory = 0;
  /// Least severe level logged; empty: $LUMEN_LOG_LEVEL (trace, debug,
  /// info, warn, error or off), else default_driver_log_level in a
  /// driver and default_node_log_level in a node started by `lumen start`.
  std::optional<lumen::log_level> log_level{};
  /// File the log goes to (appended to, its directory created). Warnings
  /// and errors still go to stderr too, unless stderr is that file. Empty:
  /// $LUMEN_LOG_FILE, else none (all to stderr) in a driver, and
  /// `<runtime directory>/logs/<role>-<pid>.log` in a node started by
  /// `lumen start` in the background.
  std::string log_file{};
  /// The namespace named actors, native actors and placement groups made
  /// or looked up without one go to, here and in every task and actor
  /// this driver's code submits (lumen::context().ns). Empty:
  /// $LUMEN_NAMESPACE, else the default namespace "".
  std::string ns{};
};

/// Default share of physical memory given to the object store.
inline constexpr double default_object_store_fraction = 0.3;

} // namespace lumen
