// The lineage stash's actor, committing to a GCS in the same process.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gcs.hpp"
#include "actors/lineage_stash.hpp"
#include "lineage/lineage_log.hpp"
#include "lineage/lineage_pins.hpp"
#include "lineage/stash.hpp"
#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec.hpp"
#include "wire/task_spec_codec.hpp"

#include "lineage_stash_test_support.hpp"

using namespace std::chrono_literals;
using lumen::task_id;
using lumen::detail::lineage_stash;

namespace {

using namespace stash_test;

using batch = lineage_stash::commit_batch;

template <class Actor>
void stop(caf::actor_system& sys, const Actor& a) {
  caf::scoped_actor self{sys};
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->wait_for(a);
}

/// An actor system with a GCS on a scratch store in `dir`, which hands out
/// its lineage log (unsynced) for a stash in the same process.
struct local_gcs {
  explicit local_gcs(const std::string& dir)
    : db(std::make_shared<lumen::detail::rocks_db>(dir + "/gcs", true)),
      gcs(lumen::make_gcs(sys, unsynced(), db, nullptr, &local)) {}
  static lumen::gcs_timing unsynced() {
    lumen::gcs_timing timing;
    timing.sync_lineage = false;
    return timing;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<lumen::detail::rocks_db> db;
  lumen::detail::local_lineage_log local;
  lumen::gcs_actor gcs;
};

} // namespace

TEST_CASE("lineage stash actor: a GCS in this process gets the batches in "
          "its log, without a message",
          "[lineage]") {
  temp_dir dir{"actor-local"};
  local_gcs g{dir.path};
  auto& sys = g.sys;
  auto& local = g.local;
  auto& gcs = g.gcs;
  REQUIRE(local.log != nullptr);
  CHECK_FALSE(local.sync);
  lumen::detail::lineage_stash stash{dir.path + "/stash"};
  // No GCS handle at all: only the log can take the rows.
  auto actor = lumen::make_lineage_stash(sys, &stash, caf::actor{}, &local);
  constexpr std::uint64_t n = 5000; // more than one segment
  for (std::uint64_t i = 1; i <= n; ++i)
    stash.append(task(i));
  caf::anon_send(actor, lumen::tick_atom::value);
  for (int i = 0; i < 500 && stash.uncommitted() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(stash.uncommitted() == 0);
  CHECK(stash.committed_total() == n);
  CHECK(local.log->size() == n);
  std::string expected;
  lumen::detail::append_task_spec(expected, *task(n));
  CHECK(local.log->find(lumen::task_id{7, n}.to_string()) == expected);
  {
    // The gcs actor reads the same log.
    caf::scoped_actor self{sys};
    std::uint64_t count = 0;
    self->request(gcs, 10s, lumen::lineage_count_atom::value)
      .receive(
        [&](std::uint64_t c) {
          count = c;
        },
        [&](const caf::error&) {});
    CHECK(count == n);
  }
  stop(sys, actor);
  stop(sys, gcs);
}

namespace {

/// The nice value of every thread of this process.
std::vector<int> thread_nices() {
  std::vector<int> out;
  std::error_code ec;
  for (auto& entry :
       std::filesystem::directory_iterator{"/proc/self/task", ec}) {
    auto tid = static_cast<id_t>(std::stol(entry.path().filename().string()));
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, tid);
    if (nice != -1 || errno == 0)
      out.push_back(nice); // else the thread ended meanwhile
  }
  return out;
}

/// Threads of this process whose nice value is `nice`.
long threads_at(int nice) {
  auto all = thread_nices();
  return std::count(all.begin(), all.end(), nice);
}

} // namespace

TEST_CASE("lineage stash actor: its thread runs at a lower priority, the "
          "caller's does not",
          "[lineage]") {
  temp_dir dir{"nice"};
  auto own = [] {
    return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  };
  const int before = own();
  REQUIRE(before + lumen::stash_nice_offset <= 19); // else nothing to see
  const int lowered = before + lumen::stash_nice_offset;
  CHECK(threads_at(lowered) == 0);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  lineage_stash stash{dir.path};
  {
    auto actor = lumen::make_lineage_stash(sys, &stash, caf::actor{});
    {
      // Answering means its behavior was made, on its thread.
      caf::scoped_actor self{sys};
      bool answered = false;
      self->request(actor, 10s, lumen::stats_atom::value)
        .receive(
          [&](std::uint64_t, std::uint64_t) {
            answered = true;
          },
          [&](const caf::error&) {});
      REQUIRE(answered);
    }
    CHECK(threads_at(lowered) == 1);
    CHECK(own() == before);
    stop(sys, actor);
  } // the last handle goes: CAF lets the thread end
  // Its thread ends with it (within a bounded wait).
  for (int i = 0; i < 500 && threads_at(lowered) > 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(threads_at(lowered) == 0);
}

TEST_CASE("lineage stash actor: commits while every core is busy with work "
          "at normal priority",
          "[lineage]") {
  temp_dir dir{"busy"};
  local_gcs g{dir.path};
  auto& sys = g.sys;
  auto& local = g.local;
  lumen::detail::lineage_stash stash{dir.path + "/stash"};
  auto actor = lumen::make_lineage_stash(sys, &stash, caf::actor{}, &local);
  // Two spinning threads a core, each ending by itself after 60 s at most.
  std::atomic<bool> done{false};
  std::vector<std::thread> spinners;
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (unsigned i = 0; i < 2 * cores; ++i)
    spinners.emplace_back([&] {
      while (!done.load(std::memory_order_relaxed) &&
             std::chrono::steady_clock::now() < deadline) {
      }
    });
  constexpr std::uint64_t n = 20'000;
  for (std::uint64_t i = 1; i <= n; ++i)
    stash.append(task(i));
  caf::anon_send(actor, lumen::tick_atom::value);
  // committed_total takes nothing in (uncommitted would, on this thread).
  for (int i = 0; i < 3000 && stash.committed_total() < n; ++i)
    std::this_thread::sleep_for(10ms);
  bool spinning = std::chrono::steady_clock::now() < deadline;
  done = true;
  for (auto& t : spinners)
    t.join();
  CHECK(spinning); // the rows went while the cores were still busy
  CHECK(stash.uncommitted() == 0);
  CHECK(stash.committed_total() == n);
  CHECK(local.log->size() == n);
  stop(sys, actor);
  stop(sys, g.gcs);
}

TEST_CASE("lineage stash actor: lineage collected before its commit never "
          "reaches the GCS's log; lineage collected after it is erased there",
          "[lineage]") {
  temp_dir dir{"collected"};
  local_gcs g{dir.path};
  auto& local = g.local;
  lumen::detail::lineage_stash stash{dir.path + "/stash"};
  lumen::detail::lineage_pins pins;
  auto actor =
    lumen::make_lineage_stash(g.sys, &stash, caf::actor{}, &local, &pins);
  auto wait_committed = [&](std::uint64_t n) {
    for (int i = 0; i < 1000 && stash.committed_total() < n; ++i)
      std::this_thread::sleep_for(10ms);
    REQUIRE(stash.committed_total() == n);
  };
  // Tasks 1..100: half of them freed (collected) before the actor runs.
  for (std::uint64_t i = 1; i <= 100; ++i)
    stash.append(task(i));
  for (std::uint64_t i = 1; i <= 100; i += 2)
    pins.freed(lumen::task_id{7, i});
  caf::anon_send(actor, lumen::tick_atom::value);
  wait_committed(100);
  CHECK(local.log->size() == 50); // the even ones
  // Only their rows were written: the odd ones were not committed, then
  // erased.
  std::string written;
  for (std::uint64_t i = 2; i <= 100; i += 2) {
    std::string spec;
    lumen::detail::append_task_spec(spec, *task(i));
    lumen::detail::append_lineage_row(written, lumen::task_id{7, i}.to_string(),
                                      spec);
  }
  CHECK(local.log->bytes() == written.size());
  CHECK_FALSE(local.log->find(lumen::task_id{7, 1}.to_string()));
  CHECK(local.log->find(lumen::task_id{7, 2}.to_string()));
  // The even ones, freed now that they are committed, are erased.
  for (std::uint64_t i = 2; i <= 100; i += 2)
    pins.freed(lumen::task_id{7, i});
  caf::anon_send(actor, lumen::tick_atom::value);
  for (int i = 0; i < 1000 && local.log->size() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(local.log->size() == 0);
  CHECK(local.log->batches() == 0);
  stop(g.sys, actor);
  stop(g.sys, g.gcs);
}
