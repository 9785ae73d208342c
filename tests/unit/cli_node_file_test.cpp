// Unit tests of node files (the reader, the check that a pid still belongs
// to the node that wrote its file) and of `lumen stop`'s logic, on child
// processes of the test.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/node_file.hpp"
#include "cli/stop_nodes.hpp"

using namespace lumen::cli;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

/// A fresh runtime directory with `nodes/`, removed at the end.
struct temp_runtime_dir {
  fs::path path;

  explicit temp_runtime_dir(const std::string& name) {
    path = fs::temp_directory_path() /
           ("lumen-cli-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path / "nodes");
  }

  ~temp_runtime_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }

  std::string str() const {
    return path.string();
  }
};

void write_node_file(const temp_runtime_dir& dir, pid_t pid,
                     const std::string& role) {
  std::ofstream{node_file_path(dir.str(), pid)}
    << "pid=" << pid << "\nrole=" << role << "\nid=" << role << pid
    << "\naddress=127.0.0.1:" << 40000 + pid % 1000 << "\n";
}

/// Forks a child that sleeps until signalled; with `ignore_term` it ignores
/// SIGTERM. Returns once the child has set up its signal handling.
pid_t spawn_sleeper(bool ignore_term) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls: the test process may have threads.
    ::signal(SIGTERM, ignore_term ? SIG_IGN : SIG_DFL);
    char c = 'x';
    (void)!::write(fds[1], &c, 1);
    for (;;)
      ::pause();
  }
  ::close(fds[1]);
  char c;
  REQUIRE(::read(fds[0], &c, 1) == 1);
  ::close(fds[0]);
  return pid;
}

} // namespace

TEST_CASE("cli: node files parse as key=value lines", "[cli]") {
  auto f = parse_node_file("pid=42\nrole=head\nid=abc\naddress=127.0.0.1:6390"
                           "\n");
  REQUIRE(f);
  CHECK(f->pid == 42);
  CHECK(f->role == "head");
  CHECK(f->head());
  CHECK(f->id == "abc");
  CHECK(f->address == "127.0.0.1:6390");
  // Comments, blank lines, CRLF, other keys and any order are fine.
  auto g = parse_node_file("# node\r\n\r\nversion=1\r\naddress=h:1\r\n"
                           "id=x=y\r\nrole=worker\r\npid=7\r\n");
  REQUIRE(g);
  CHECK(g->pid == 7);
  CHECK_FALSE(g->head());
  CHECK(g->id == "x=y");
  CHECK(g->address == "h:1");
  std::string why;
  CHECK_FALSE(parse_node_file("", &why));
  CHECK(why == "no valid 'pid' line");
  CHECK_FALSE(parse_node_file("pid=abc\nrole=head\nid=a\naddress=h:1", &why));
  CHECK(why == "no valid 'pid' line");
  CHECK_FALSE(parse_node_file("pid=-3\nrole=head\nid=a\naddress=h:1"));
  CHECK_FALSE(parse_node_file("pid=1\nid=a\naddress=h:1", &why));
  CHECK(why == "no valid 'role' line");
  CHECK_FALSE(parse_node_file("pid=1\nrole=head\naddress=h:1", &why));
  CHECK(why == "no valid 'id' line");
  // A file cut short while being written lacks its last key.
  CHECK_FALSE(parse_node_file("pid=1\nrole=head\nid=a\naddr", &why));
  CHECK(why == "no valid 'address' line");
}

TEST_CASE("cli: node files are read from the runtime directory", "[cli]") {
  temp_runtime_dir dir{"read"};
  CHECK(read_node_files(dir.str() + "/missing").empty());
  write_node_file(dir, 300, "worker");
  write_node_file(dir, 20, "head");
  std::ofstream{dir.path / "nodes" / "55.node"} << "pid=55\n";
  std::ofstream{dir.path / "nodes" / "notes.txt"} << "x";
  std::vector<bad_node_file> bad;
  auto files = read_node_files(dir.str(), &bad);
  REQUIRE(files.size() == 2);
  CHECK(files[0].pid == 20);
  CHECK(files[0].head());
  CHECK(files[0].path == node_file_path(dir.str(), 20).string());
  CHECK(files[0].written != fs::file_time_type{});
  CHECK(files[1].pid == 300);
  REQUIRE(bad.size() == 1);
  CHECK_THAT(bad[0].path, Contains("55.node"));
  CHECK(bad[0].why == "no valid 'role' line");
}

TEST_CASE("cli: a pid taken by a newer process is not the node", "[cli]") {
  temp_runtime_dir dir{"alive"};
  write_node_file(dir, ::getpid(), "worker");
  auto f = read_node_file(node_file_path(dir.str(), ::getpid()).string());
  REQUIRE(f);
  CHECK(process_alive(::getpid()));
  CHECK(node_alive(*f));
  // A file written long before this process started names an older one.
  f->written -= std::chrono::hours(24 * 365);
  CHECK_FALSE(node_alive(*f));
  auto child = spawn_sleeper(false);
  CHECK(process_alive(child));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  CHECK_FALSE(process_alive(child));
}

TEST_CASE("cli: stop ends workers, then the head, forcefully if needed",
          "[cli]") {
  temp_runtime_dir dir{"stop"};
  auto worker = spawn_sleeper(false);
  auto stubborn = spawn_sleeper(true);
  auto head = spawn_sleeper(false);
  write_node_file(dir, worker, "worker");
  write_node_file(dir, stubborn, "worker");
  write_node_file(dir, head, "head");
  write_node_file(dir, 999999999, "worker"); // no such process
  std::ostringstream out;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(stop_nodes(dir.str(), std::chrono::milliseconds(300), out) == 0);
  auto took = std::chrono::steady_clock::now() - t0;
  auto text = out.str();
  INFO(text);
  CHECK(took < std::chrono::seconds(5));
  CHECK_FALSE(process_alive(worker));
  CHECK_FALSE(process_alive(stubborn));
  CHECK_FALSE(process_alive(head));
  CHECK(read_node_files(dir.str()).empty());
  CHECK_THAT(text, Contains("removed stale node file") &&
                     Contains("(pid 999999999 is gone)"));
  CHECK_THAT(text,
             Contains("stopping worker node worker" + std::to_string(worker)));
  CHECK_THAT(text,
             Contains("stopped worker node worker" + std::to_string(worker)));
  CHECK_THAT(text, Contains("worker node worker" + std::to_string(stubborn)) &&
                     Contains("did not stop within 0.3 s: sending "
                              "SIGKILL"));
  CHECK_THAT(text, Contains("stopped head node head" + std::to_string(head)));
  // Workers first, head last.
  auto last_worker = text.rfind("stopped worker node");
  auto head_stop = text.find("stopping head node");
  CHECK(last_worker < head_stop);
  std::ostringstream again;
  CHECK(stop_nodes(dir.str(), std::chrono::milliseconds(300), again) == 0);
  CHECK_THAT(again.str(), Contains("no running nodes under " + dir.str()));
}

TEST_CASE("cli: stop clears unreadable node files of dead pids", "[cli]") {
  temp_runtime_dir dir{"stale"};
  std::ofstream{dir.path / "nodes" / "999999998.node"} << "garbage\n";
  auto alive = spawn_sleeper(false);
  // A running process's half-written file stays.
  std::ofstream{node_file_path(dir.str(), alive)} << "pid=" << alive << "\n";
  std::ostringstream out;
  CHECK(stop_nodes(dir.str(), std::chrono::milliseconds(100), out) == 0);
  INFO(out.str());
  CHECK_THAT(out.str(), Contains("removed unreadable node file") &&
                          Contains("999999998.node (no valid 'pid' "
                                   "line)"));
  CHECK_THAT(out.str(), Contains("skipping"));
  CHECK_FALSE(fs::exists(dir.path / "nodes" / "999999998.node"));
  CHECK(fs::exists(node_file_path(dir.str(), alive)));
  ::kill(alive, SIGKILL);
  ::waitpid(alive, nullptr, 0);
}
