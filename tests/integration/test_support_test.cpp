// The test support itself: a test driver that dies without tearing its
// cluster down (a crash, SIGKILL, ctest's timeout) leaves no node behind
// (node_spawner.hpp starts nodes that die with the process that started
// them).
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cluster_support.hpp"
#include "gcs_durable_support.hpp"

namespace {

/// Reads from `fd` up to a newline, waiting at most `limit` in all.
std::string read_line(int fd, std::chrono::seconds limit) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buf[512];
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  return line;
}

} // namespace

TEST_CASE("test support: the nodes of a SIGKILLed test driver end with it",
          "[cluster][cleanup]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  // The driver: starts a head and a worker (as every cluster test does),
  // reports their pids and waits to be killed; it never tears them down.
  pid_t driver = ::fork();
  REQUIRE(driver >= 0);
  if (driver == 0) {
    ::close(fds[0]);
    try {
      cluster_it::test_cluster cluster{1, 1};
      std::string msg = cluster.dir();
      for (auto& f : cluster.nodes())
        msg += " " + f.at("pid");
      msg += "\n";
      if (::write(fds[1], msg.data(), msg.size()) !=
          static_cast<ssize_t>(msg.size()))
        ::_exit(2);
      for (;;)
        ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(fds[1]);
  auto line = read_line(fds[0], std::chrono::seconds(120));
  ::close(fds[0]);
  std::istringstream in{line};
  std::string dir;
  in >> dir;
  std::vector<int> pids;
  for (int pid; in >> pid;)
    pids.push_back(pid);
  INFO("the driver reported: " << line);
  // Whatever happens below, nothing stays.
  struct cleanup {
    pid_t driver;
    std::string dir;
    std::vector<int>* pids;
    ~cleanup() {
      ::kill(driver, SIGKILL);
      ::waitpid(driver, nullptr, 0);
      for (int pid : *pids)
        if (!durable_it::gone(pid))
          ::kill(pid, SIGKILL);
      if (dir.rfind("/tmp/lumen-it-", 0) == 0)
        cluster_it::run("rm -rf " + dir);
    }
  } guard{driver, dir, &pids};
  REQUIRE(pids.size() == 2);
  for (int pid : pids)
    CHECK_FALSE(durable_it::gone(pid));

  REQUIRE(::kill(driver, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(driver, &status, 0) == driver);
  CHECK(WIFSIGNALED(status));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto all_gone = [&pids] {
    for (int pid : pids)
      if (!durable_it::gone(pid))
        return false;
    return true;
  };
  while (!all_gone() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int pid : pids) {
    INFO("node pid " << pid);
    CHECK(durable_it::gone(pid));
  }
}
