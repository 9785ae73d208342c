// The lineage_stash actor committing to a GCS in the same process: real
// actors, a real stash and a scratch RocksDB store with its batch file.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/gcs.hpp"
#include "actors/lineage_stash.hpp"
#include "cluster/lineage_log.hpp"
#include "lineage/lineage_stash.hpp"
#include "runtime/task_spec.hpp"
#include "storage/kv_store.hpp"
#include "wire/task_spec_codec.hpp"

using namespace std::chrono_literals;

namespace {

/// A fresh directory, removed at the end of the test.
struct temp_dir {
  explicit temp_dir(const std::string& tag)
    : path((std::filesystem::temp_directory_path() /
            ("lumen-stash-actor-" + tag + "-" + std::to_string(getpid())))
             .string()) {
    std::filesystem::remove_all(path);
  }
  ~temp_dir() {
    std::filesystem::remove_all(path);
  }
  std::string path;
};

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

} // namespace

TEST_CASE("lineage stash actor: a GCS in this process gets the batches in "
          "its log, without a message",
          "[lineage]") {
  temp_dir dir{"local"};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto db = std::make_shared<lumen::detail::kv_store>(dir.path + "/gcs", true);
  lumen::gcs_timing timing;
  timing.sync_lineage = false;
  lumen::detail::local_lineage_log local;
  auto gcs = lumen::make_gcs(sys, timing, db, nullptr, &local);
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
