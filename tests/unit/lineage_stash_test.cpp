// The lineage stash on a real RocksDB store in a fresh directory, and its
// actor committing to a GCS in the same process.
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
#include "lineage/stash.hpp"
#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"
#include "wire/task_spec.hpp"
#include "wire/task_spec_codec.hpp"

using namespace std::chrono_literals;
using lumen::task_id;
using lumen::detail::lineage_stash;

namespace {

/// A fresh directory, removed at the end of the test.
struct temp_dir {
  explicit temp_dir(const std::string& tag)
    : path((std::filesystem::temp_directory_path() /
            ("lumen-stash-" + tag + "-" + std::to_string(getpid())))
             .string()) {
    std::filesystem::remove_all(path);
  }
  ~temp_dir() {
    std::filesystem::remove_all(path);
  }
  std::string path;
};

task_id tid(std::uint64_t n) {
  return task_id{0, n};
}

using batch = lineage_stash::commit_batch;

/// A batch's rows, in order (their count is checked too); they view
/// `b.rows`.
std::vector<lumen::detail::lineage_row_view> rows_of(const batch& b) {
  auto rows = lumen::detail::split_lineage_batch(*b.rows);
  REQUIRE(rows);
  REQUIRE(rows->size() == b.count);
  std::vector<lumen::detail::lineage_row_view> out;
  for (auto& row : *rows)
    out.push_back(row.first);
  return out;
}

std::vector<std::string> specs_of(const batch& b) {
  std::vector<std::string> out;
  for (auto& row : rows_of(b))
    out.emplace_back(row.spec);
  return out;
}

/// The ids as text.
std::vector<std::string> ids_of(const batch& b) {
  std::vector<std::string> out;
  for (auto& row : rows_of(b))
    out.emplace_back(row.id);
  return out;
}

/// A reference counted on its own (no object table).
lumen::detail::ref_ptr free_ref(lumen::object_id id) {
  auto* r = new lumen::detail::ref_header;
  r->id = id;
  r->on_zero = [](lumen::detail::ref_header* p) noexcept {
    delete p;
  };
  return lumen::detail::ref_ptr::adopt(r);
}

std::shared_ptr<const lumen::detail::task_spec> task(std::uint64_t n) {
  auto spec = std::make_shared<lumen::detail::task_spec>();
  spec->id = lumen::task_id{7, n};
  spec->function = "f";
  spec->return_id = lumen::object_id{spec->id, 1};
  return spec;
}

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

/// Waits (up to 10 s) until process `pid`, a child, has exited without
/// reaping it: /proc shows it as a zombie.
bool wait_zombie(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() &&
        line[close + 2] == 'Z')
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace

TEST_CASE("lineage stash: rows go to the GCS batch, then away", "[lineage]") {
  temp_dir dir{"flow"};
  lineage_stash s{dir.path};
  CHECK(s.append(tid(1), "one", {}));
  CHECK_FALSE(s.append(tid(2), "two", {tid(1)}));
  CHECK_FALSE(s.append(tid(1), "again", {})); // kept once
  auto batch = s.next_commit_batch(10);
  CHECK(specs_of(batch) == std::vector<std::string>{"one", "two"});
  CHECK(s.next_commit_batch(10).empty());     // in flight
  CHECK(s.append(tid(3), "three", {tid(2)})); // nothing waited to be sent
  CHECK(s.uncommitted() == 3);
  s.committed(batch.seq);
  CHECK(s.uncommitted() == 1);
  CHECK(s.committed_total() == 2);
  CHECK_FALSE(s.find(tid(1)));
  CHECK(s.find(tid(3)) == std::optional<std::string>{"three"});
}

TEST_CASE("lineage stash: a failed batch is sent again", "[lineage]") {
  temp_dir dir{"retry"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  auto batch = s.next_commit_batch(10);
  REQUIRE(batch.count == 1);
  CHECK(s.next_commit_batch(10).empty()); // in flight
  s.retry(batch.seq);
  auto again = s.next_commit_batch(10);
  CHECK(specs_of(again) == std::vector<std::string>{"one"});
}

TEST_CASE("lineage stash: a committed segment's buffer serves the next one",
          "[lineage]") {
  temp_dir dir{"recycle"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {});
  auto first = s.next_commit_batch(10);
  const auto* buffer = first.rows.get();
  first.rows.reset();
  s.committed(first.seq);
  s.append(tid(3), "three", {});
  auto second = s.next_commit_batch(10);
  CHECK(second.rows.get() == buffer);
  CHECK(specs_of(second) == std::vector<std::string>{"three"});
  CHECK_FALSE(s.find(tid(1)));
  CHECK(s.find(tid(3)) == std::optional<std::string>{"three"});
  // A batch still held keeps its buffer: the next segment gets another.
  s.committed(second.seq);
  s.append(tid(4), "four", {});
  auto third = s.next_commit_batch(10);
  CHECK(third.rows.get() != second.rows.get());
  CHECK(specs_of(second) == std::vector<std::string>{"three"});
  CHECK(specs_of(third) == std::vector<std::string>{"four"});
}

TEST_CASE("lineage stash: a row goes to disk one flush after it came",
          "[lineage]") {
  temp_dir dir{"delay"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {});
  CHECK(s.has_unflushed());
  CHECK(s.flush_to_disk() == 0); // too young
  auto batch = s.next_commit_batch(1);
  s.committed(batch.seq); // row 1 committed in time: never written
  CHECK(s.flush_to_disk() == 1);
  CHECK_FALSE(s.has_unflushed());
  CHECK(s.flush_to_disk() == 0);
  s.append(tid(3), "three", {});
  CHECK(s.flush_to_disk(true) == 1); // all, young or not
}

TEST_CASE("lineage stash: rows in flight are not written until a batch fails",
          "[lineage]") {
  temp_dir dir{"inflight"};
  lineage_stash s{dir.path};
  s.append(tid(1), "one", {});
  auto batch = s.next_commit_batch(10);
  CHECK(s.flush_to_disk() == 0);
  CHECK(s.flush_to_disk() == 0); // old enough, but in flight
  s.retry(batch.seq);            // the GCS did not answer
  CHECK(s.flush_to_disk() == 0); // young again
  CHECK(s.flush_to_disk() == 1); // waited a period unsent: on disk
  CHECK(s.uncommitted() == 1);
}

TEST_CASE("lineage stash: rows not committed survive a restart of the node",
          "[lineage]") {
  temp_dir dir{"restart"};
  {
    lineage_stash s{dir.path};
    s.append(tid(1), "one", {});
    s.append(tid(2), "two", {});
    s.flush_to_disk();
    CHECK(s.flush_to_disk() == 2);
    auto first = s.next_commit_batch(1);
    REQUIRE(ids_of(first) == std::vector<std::string>{tid(1).to_string()});
    s.committed(first.seq);        // deleted on disk
    s.append(tid(3), "three", {}); // written when the stash closes
  }
  lineage_stash s{dir.path};
  CHECK(s.uncommitted() == 2);
  auto batch = s.next_commit_batch(10);
  auto specs = specs_of(batch);
  auto ids = ids_of(batch);
  REQUIRE(specs.size() == 2);
  if (ids[0] == tid(3).to_string()) {
    std::swap(ids[0], ids[1]);
    std::swap(specs[0], specs[1]);
  }
  CHECK(ids[0] == tid(2).to_string());
  CHECK(specs[0] == "two");
  CHECK(ids[1] == tid(3).to_string());
}

TEST_CASE("lineage stash: uncommitted ancestors follow dependencies",
          "[lineage]") {
  temp_dir dir{"ancestors"};
  lineage_stash s{dir.path};
  // 1 <- 2 <- 4, 3 <- 4; 1 is committed.
  s.append(tid(1), "one", {});
  s.append(tid(2), "two", {tid(1)});
  s.append(tid(3), "three", {});
  s.append(tid(4), "four", {tid(2), tid(3)});
  auto first = s.next_commit_batch(1);
  REQUIRE(ids_of(first) == std::vector<std::string>{tid(1).to_string()});
  s.committed(first.seq);
  auto got = s.uncommitted_ancestors({tid(4)});
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"four", "three", "two"});
  CHECK(s.uncommitted_ancestors({tid(1)}).empty());
  CHECK(s.uncommitted_ancestors({tid(9)}).empty());
}

TEST_CASE("lineage stash: a task's spec and its dependencies", "[lineage]") {
  temp_dir dir{"spec"};
  lineage_stash s{dir.path};
  lumen::detail::task_spec t;
  t.id = tid(7);
  t.function = "f";
  t.return_id = lumen::object_id{t.id, 1};
  lumen::detail::task_arg by_task;
  by_task.ref = free_ref(lumen::object_id{tid(5), 1});
  lumen::detail::task_arg by_put;
  by_put.ref = free_ref(lumen::object_id{tid(6), lumen::object_id::put_flag});
  t.args = {by_task, by_put};
  t.lineage = {"an ancestor"}; // travels with the task, not stashed with it
  CHECK(lumen::detail::task_deps(t) == std::vector<task_id>{tid(5)});
  CHECK(lumen::detail::stash_task(s, t));
  auto spec = s.find(tid(7));
  REQUIRE(spec);
  auto [id, deps] = lumen::detail::spec_deps(*spec);
  CHECK(id == tid(7));
  CHECK(deps == std::vector<task_id>{tid(5)});
  CHECK_THROWS_AS(lumen::detail::spec_deps("garbage!"), lumen::decode_error);
}

TEST_CASE("lineage stash: a queued task is encoded when taken in, then let go",
          "[lineage]") {
  temp_dir dir{"queued"};
  lineage_stash s{dir.path};
  auto t = std::make_shared<lumen::detail::task_spec>();
  t->id = tid(7);
  t->function = "f";
  t->return_id = lumen::object_id{t->id, 1};
  lumen::detail::task_arg by_task;
  by_task.ref = free_ref(lumen::object_id{tid(5), 1});
  t->args = {by_task};
  // As the stash encodes it (task_spec_codec_test checks that it reads
  // back as the spec).
  std::string expected;
  lumen::detail::append_task_spec(expected, *t);
  CHECK(s.append(std::shared_ptr<const lumen::detail::task_spec>{t}));
  CHECK(t.use_count() == 2); // queued as it is
  CHECK(s.find(tid(7)) == std::optional<std::string>{expected});
  CHECK(t.use_count() == 1); // encoded: its arguments are not held
  auto batch = s.next_commit_batch();
  CHECK(specs_of(batch) == std::vector<std::string>{expected});
}

TEST_CASE("lineage stash: take_in takes queued rows in a chunk at a time",
          "[lineage]") {
  temp_dir dir{"take-in"};
  lineage_stash s{dir.path};
  constexpr std::uint64_t n = 1000;
  std::vector<std::shared_ptr<const lumen::detail::task_spec>> tasks;
  for (std::uint64_t k = 0; k < n; ++k) {
    tasks.push_back(task(k));
    s.append(tasks.back());
  }
  // Between chunks (while take_in yields) rows keep coming from another
  // thread, and a look-up takes in whatever is still queued.
  std::thread appender{[&] {
    for (std::uint64_t k = n; k < 2 * n; ++k)
      s.append(task(k));
  }};
  s.take_in(7);
  // Taken in: encoded, and the stash holds the tasks no more.
  for (auto& t : tasks)
    CHECK(t.use_count() == 1);
  appender.join();
  CHECK(s.find(lumen::task_id{7, 2 * n - 1}));
  CHECK(s.uncommitted() == 2 * n);
  // Every row once, in the order appended.
  std::vector<std::string> ids;
  for (auto b = s.next_commit_batch(); !b.empty(); b = s.next_commit_batch())
    for (auto& id : ids_of(b))
      ids.push_back(id);
  REQUIRE(ids.size() == 2 * n);
  for (std::uint64_t k = 0; k < 2 * n; ++k)
    CHECK(ids[k] == lumen::task_id{7, k}.to_string());
}

TEST_CASE("lineage stash: rows are found across full segments", "[lineage]") {
  temp_dir dir{"segments"};
  lineage_stash s{dir.path};
  // A chain 1 <- 2 <- ... longer than a segment.
  const std::uint64_t n = lineage_stash::segment_rows + 10;
  for (std::uint64_t k = 1; k <= n; ++k)
    s.append(tid(k), "spec " + std::to_string(k),
             k > 1 ? std::vector<task_id>{tid(k - 1)} : std::vector<task_id>{});
  CHECK(s.uncommitted() == n);
  CHECK(s.find(tid(1)) == std::optional<std::string>{"spec 1"});
  CHECK(s.find(tid(n)) ==
        std::optional<std::string>{"spec " + std::to_string(n)});
  CHECK_FALSE(s.find(tid(n + 1)));
  CHECK(s.uncommitted_ancestors({tid(n)}).size() == n);
  // One segment per batch; the second holds the rest.
  auto first = s.next_commit_batch();
  CHECK(first.count == lineage_stash::segment_rows);
  auto rest = s.next_commit_batch();
  CHECK(rest.count == 10);
  s.committed(first.seq);
  CHECK_FALSE(s.find(tid(1)));
  CHECK(s.uncommitted_ancestors({tid(n)}).size() == 10);
  s.committed(rest.seq);
  CHECK(s.uncommitted() == 0);
  CHECK(s.committed_total() == n);
}

TEST_CASE("lineage stash: on a full disk its writes fail with a clear "
          "error, the rows stay in memory and reach the disk once space is "
          "back",
          "[lineage][disk]") {
  if (::geteuid() != 0) {
    WARN("cannot mount a tmpfs here (not root)");
    return;
  }
  temp_dir mnt{"full"};
  std::filesystem::create_directories(mnt.path);
  REQUIRE(std::system(
            ("mount -t tmpfs -o size=64m tmpfs " + mnt.path + " 2>/dev/null")
              .c_str()) == 0);
  struct unmount {
    std::string path;
    ~unmount() {
      (void)std::system(("umount -l " + path).c_str());
    }
  } guard{mnt.path};
  lineage_stash s{mnt.path + "/stash"};
  // Leave less than a store needs.
  auto filler = mnt.path + "/filler";
  auto free = std::filesystem::space(mnt.path).available;
  REQUIRE(std::system(("fallocate -l " + std::to_string(free - (16u << 20)) +
                       " " + filler)
                        .c_str()) == 0);
  s.append(tid(1), std::string(1 << 20, 'a'), {});
  s.append(tid(2), "two", {});
  CHECK_THROWS_WITH(s.flush_to_disk(true),
                    Catch::Contains("disk is full") &&
                      Catch::Contains("free space there"));
  CHECK(s.uncommitted() == 2);
  CHECK(s.find(tid(2)) == std::optional<std::string>{"two"});
  std::filesystem::remove(filler);
  CHECK(s.flush_to_disk(true) == 2);
}

TEST_CASE("lineage stash: rows of a node that died are adopted", "[lineage]") {
  temp_dir parent{"orphans"};
  // A process id that is surely not running: a child that has exited.
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0)
    _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  auto dead = parent.path + "/" + std::to_string(pid);
  {
    lineage_stash s{dead};
    s.append(tid(1), "one", {});
    s.append(tid(2), "two", {});
    s.flush_to_disk();
  }
  // A live node's stash (its lock held: open here) is left alone.
  auto live = parent.path + "/" + std::to_string(getppid());
  lineage_stash live_stash{live};
  live_stash.append(tid(3), "three", {});
  live_stash.flush_to_disk();
  lineage_stash own{parent.path + "/" + std::to_string(getpid())};
  CHECK(own.adopt_orphans() == 2);
  CHECK(own.find(tid(1)) == std::optional<std::string>{"one"});
  CHECK_FALSE(own.find(tid(3)));
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(live));
  own.flush_to_disk();
  CHECK(own.next_commit_batch(10).count == 2);
}

TEST_CASE("lineage stash: rows of a node that died are adopted while its "
          "process is a zombie not yet reaped",
          "[lineage]") {
  // kill(pid, 0) still finds a zombie; its stash's lock is gone with it.
  temp_dir parent{"zombie"};
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0)
    _exit(0);
  // Exited, not reaped: a zombie, as a SIGKILLed node is until its parent
  // waits for it.
  REQUIRE(wait_zombie(pid));
  auto dead = parent.path + "/" + std::to_string(pid);
  {
    lineage_stash s{dead}; // its rows, as the node left them
    s.append(tid(1), "one", {});
    s.flush_to_disk();
  }
  REQUIRE(::kill(pid, 0) == 0);
  lineage_stash own{parent.path + "/" + std::to_string(getpid())};
  CHECK(own.adopt_orphans() == 1);
  CHECK(own.find(tid(1)) == std::optional<std::string>{"one"});
  CHECK_FALSE(std::filesystem::exists(dead));
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST_CASE("lineage stash: remove_dead removes the stashes of ended nodes "
          "only",
          "[lineage]") {
  temp_dir parent{"remove_dead"};
  auto ended = parent.path + "/" + std::to_string(getppid());
  {
    lineage_stash s{ended};
    s.append(tid(1), "one", {});
    s.flush_to_disk();
  }
  auto live = parent.path + "/" + std::to_string(getpid());
  lineage_stash live_stash{live};
  live_stash.append(tid(2), "two", {});
  live_stash.flush_to_disk();
  std::filesystem::create_directory(parent.path + "/not-a-pid");
  CHECK(lineage_stash::remove_dead(parent.path) == 1);
  CHECK_FALSE(std::filesystem::exists(ended));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(parent.path + "/not-a-pid"));
  CHECK(live_stash.find(tid(2)) == std::optional<std::string>{"two"});
  CHECK(lineage_stash::remove_dead(parent.path + "/missing") == 0);
}

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
