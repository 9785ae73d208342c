// Helpers shared by the lineage stash's unit tests
// (lineage_stash_test.cpp, lineage_stash_orphans_test.cpp,
// lineage_stash_actor_test.cpp): a scratch directory, ids and task specs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "lineage/stash.hpp"
#include "lumen/ids.hpp"
#include "wire/task_spec.hpp"

namespace stash_test {

using lumen::task_id;

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

inline task_id tid(std::uint64_t n) {
  return task_id{0, n};
}

inline std::shared_ptr<const lumen::detail::task_spec> task(std::uint64_t n) {
  auto spec = std::make_shared<lumen::detail::task_spec>();
  spec->id = lumen::task_id{7, n};
  spec->function = "f";
  spec->return_id = lumen::object_id{spec->id, 1};
  return spec;
}

/// Appends row `id` alone, sends it and has it committed: the stash's
/// committed rows grow by one.
inline void commit_one(lumen::detail::lineage_stash& s, task_id id) {
  s.append(id, "row", {});
  REQUIRE(s.uncommitted() == 1);
  auto b = s.next_commit_batch(10);
  REQUIRE(b.count == 1);
  b.rows.reset();
  s.committed(b.seq);
}

} // namespace stash_test
