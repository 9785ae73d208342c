// run_node, query_status and their helpers: a node as a process.
#include "node/node_process.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gcs.hpp"
#include "actors/gcs_client.hpp"
#include "gcs/declared_dead.hpp"
#include "log/log.hpp"
#include "lumen/error.hpp"
#include "lumen/init.hpp"
#include "net/guard_state.hpp"
#include "net/tls_files.hpp"
#include "net/transport.hpp"
#include "node/embedded_runtime.hpp"
#include "wire/cluster_types.hpp"

namespace lumen::detail {

std::string runtime_dir_default() {
  if (auto* env = std::getenv("LUMEN_RUNTIME_DIR"); env != nullptr && *env)
    return env;
  return "/tmp/lumen-" + std::to_string(getuid());
}

std::string gcs_dir_of(const node_config& cfg) {
  if (!cfg.gcs_dir.empty())
    return cfg.gcs_dir;
  if (cfg.port == 0)
    return {};
  auto dir = cfg.runtime_dir.empty() ? runtime_dir_default() : cfg.runtime_dir;
  return dir + "/gcs-" + std::to_string(cfg.port);
}

void load_libraries(const std::vector<std::string>& paths) {
  for (auto& path : paths) {
    // Kept loaded for the life of the process: its registrations stay.
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      auto* why = dlerror();
      throw error("cannot load '" + path + "': " + (why ? why : "unknown"));
    }
  }
}

namespace {

void make_dirs(const std::string& path) {
  std::string prefix;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      prefix = path.substr(0, i);
      mkdir(prefix.c_str(), 0700);
    }
  }
}

/// Writes the node file atomically (write, then rename), so a reader never
/// sees half of it.
std::string write_node_file(const std::string& dir, const node_config& cfg,
                            const std::string& id, const std::string& address) {
  auto nodes = dir + "/nodes";
  make_dirs(nodes);
  auto path = nodes + "/" + std::to_string(getpid()) + ".node";
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp};
    out << "pid=" << getpid() << "\n"
        << "role=" << (cfg.head ? "head" : "worker") << "\n"
        << "id=" << id << "\n"
        << "address=" << address << "\n";
    if (!out)
      throw error("cannot write node file " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw error("cannot write node file " + path);
  return path;
}

} // namespace

int run_node(const node_config& cfg) {
  // Every thread the runtime starts inherits this mask, so SIGTERM and
  // SIGINT reach only the sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A file that may not grow (RLIMIT_FSIZE) fails the write (EFBIG), which
  // the stores report, instead of killing the node.
  std::signal(SIGXFSZ, SIG_IGN);
  // A node process is ours: everything it creates (logs, node files, GCS,
  // stash and spill files) is private.
  ::umask(077);
  std::string node_file;
  // Declared dead by the GCS (gcs/declared_dead.hpp): stop as SIGTERM
  // would, then end with declared_dead_exit_status, for a supervisor to
  // start the node again under a new id.
  static std::atomic<bool> dead{false};
  dead = false;
  reset_declared_dead();
  set_declared_dead_handler([](const std::string&) {
    dead = true;
    ::kill(::getpid(), SIGTERM);
  });
  try {
    load_libraries(cfg.load);
    start_runtime(cfg);
    auto* rt = current_embedded_runtime();
    auto dir =
      cfg.runtime_dir.empty() ? runtime_dir_default() : cfg.runtime_dir;
    node_file = write_node_file(dir, cfg, rt->node_id(), rt->address());
    detail::log_info((cfg.head ? "head" : "worker"), " node ", rt->node_id(),
                     " listening on ", rt->address());
  } catch (const std::exception& e) {
    detail::log_error("cannot start the node: ", e.what());
    shutdown();
    set_declared_dead_handler({});
    return 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  if (dead) {
    detail::log_error("stopping: this node was declared dead by the GCS; it "
                      "ends with exit status ",
                      declared_dead_exit_status,
                      " so that a supervisor starts it again as a new node");
  } else {
    detail::log_info("stopping (signal ", sig, ")");
  }
  std::remove(node_file.c_str());
  shutdown();
  set_declared_dead_handler({});
  return dead ? declared_dead_exit_status : 0;
}

cluster_status query_status(const std::string& address,
                            std::chrono::milliseconds timeout,
                            const config& security) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    throw error("bad address '" + address + "': expected HOST:PORT");
  auto host = address.substr(0, colon);
  auto port = static_cast<std::uint16_t>(
    std::strtoul(address.c_str() + colon + 1, nullptr, 10));
  if (tls_configured(security.tls))
    check_tls_files(security.tls);
  caf::actor_system_config sys_cfg;
  register_wire_types(sys_cfg);
  configure_transport(sys_cfg);
  set_connection_limits(sys_cfg, security);
  sys_cfg.set("scheduler.max-threads", std::size_t{2});
  caf::actor_system sys{sys_cfg};
  start_transport(sys, security.tls);
  struct transport_stopper {
    caf::actor_system& sys;
    ~transport_stopper() {
      stop_transport(sys);
    }
  } stopper{sys};
  std::vector<char> bytes;
  std::string why;
  std::uint64_t committed_lineage = 0;
  {
    auto connected = connect_gcs(sys, host, port, security.token, timeout);
    if (!connected.error.empty())
      throw error(connected.error);
    auto gcs = connected.gcs;
    caf::scoped_actor self{sys};
    self->request(gcs, timeout, view_atom::value)
      .receive(
        [&](std::vector<char>& b) {
          bytes = std::move(b);
        },
        [&](const caf::error& err) {
          why = sys.render(err);
        });
    if (!bytes.empty())
      self->request(gcs, timeout, lineage_count_atom::value)
        .receive(
          [&](std::uint64_t n) {
            committed_lineage = n;
          },
          [&](const caf::error&) {});
    caf::logger::set_current_actor_system(nullptr);
  }
  if (bytes.empty())
    throw error("the head at " + address + " did not answer: " + why);
  auto view = decode_cluster_view(bytes.data(), bytes.size());
  cluster_status result;
  result.committed_lineage = committed_lineage;
  std::map<std::string, std::size_t> infeasible;
  for (auto& n : view.nodes) {
    result.nodes.push_back(n);
    if (!n.alive)
      continue;
    for (auto& [shape, count] : n.infeasible)
      infeasible[shape] += count;
    for (auto& [state, count] : n.actors)
      result.actors[state] += count;
  }
  result.infeasible.assign(infeasible.begin(), infeasible.end());
  return result;
}

} // namespace lumen::detail
