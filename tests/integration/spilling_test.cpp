// Integration tests: object spilling (issue 5, item 6). Live objects of 4x
// the store's memory spill to a real directory and come back exact; a put
// fails only when memory and the spill capacity are both exhausted; the
// node's spill directory goes at shutdown.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "lumen/lumen.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using lumen_it::patience;

namespace {

namespace fs = std::filesystem;

/// Elements of a 1 MiB vector.
constexpr std::size_t sp_mib = (1u << 20) / sizeof(std::uint32_t);

std::vector<std::uint32_t> sp_pattern(int seed) {
  std::vector<std::uint32_t> v(sp_mib);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::uint32_t>(i * 2654435761u) ^
           static_cast<std::uint32_t>(seed * 40503);
  return v;
}

std::uint64_t sp_sum_of(const std::vector<std::uint32_t>& v) {
  std::uint64_t s = 0;
  for (auto x : v)
    s += x;
  return s;
}

std::vector<std::uint32_t> sp_make(int seed) {
  return sp_pattern(seed);
}

std::uint64_t sp_sum(std::vector<std::uint32_t> v) {
  return sp_sum_of(v);
}

/// A fresh directory under the system's temp directory, removed at the end.
class sp_temp_dir {
 public:
  sp_temp_dir() {
    auto tmpl = (fs::temp_directory_path() / "lumen-it-spill-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }

  ~sp_temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }

  sp_temp_dir(const sp_temp_dir&) = delete;
  sp_temp_dir& operator=(const sp_temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

 private:
  std::string path_;
};

/// Regular files anywhere below `dir`.
std::size_t sp_files_below(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file())
      ++n;
  return n;
}

bool sp_empty_dir(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

} // namespace

LUMEN_REMOTE(sp_make, sp_sum);

TEST_CASE("spilling: live objects of 4x the store's memory come back exact",
          "[spilling]") {
  sp_temp_dir tmp;
  {
    lumen::init_guard guard{lumen::config{.num_cpus = 2,
                                          .object_store_memory = 8 << 20,
                                          .spill_directory = tmp.path()}};
    // 32 live objects of 1 MiB: half put here, half task results.
    std::vector<lumen::object_ref<std::vector<std::uint32_t>>> refs;
    for (int i = 0; i < 16; ++i)
      refs.push_back(lumen::put(sp_pattern(i)));
    for (int i = 16; i < 32; ++i)
      refs.push_back(lumen::task(sp_make).remote(i));
    REQUIRE(lumen::wait(refs, refs.size(), patience).ready.size() ==
            refs.size());
    auto st = lumen_it::snapshot();
    CHECK(st.objects >= 32);
    CHECK(st.object_bytes <= st.object_capacity);
    CHECK(st.spilled_objects >= 24);
    CHECK(st.spilled_bytes >= std::size_t{24} << 20);
    CHECK(sp_files_below(tmp.path()) >= 24);
    // `wait` only looked: nothing came back from disk for it.
    CHECK(st.restored_objects == 0);
    // Every value, read back twice, in two orders.
    for (int round = 0; round < 2; ++round)
      for (int k = 0; k < 32; ++k) {
        auto i = round == 0 ? k : 31 - k;
        auto v = lumen::get(refs[static_cast<std::size_t>(i)], patience);
        REQUIRE(v == sp_pattern(i));
      }
    CHECK(lumen_it::snapshot().restored_objects >= 24);
    // Spilled values as task arguments, and several gets at once.
    std::vector<lumen::object_ref<std::uint64_t>> sums;
    for (auto& r : refs)
      sums.push_back(lumen::task(sp_sum).remote(r));
    auto values = lumen::get(sums, patience);
    for (int i = 0; i < 32; ++i)
      CHECK(values[static_cast<std::size_t>(i)] == sp_sum_of(sp_pattern(i)));
    for (std::size_t i = 0; i < 32; i += 4) {
      auto four =
        lumen::get(std::vector<lumen::object_ref<std::vector<std::uint32_t>>>(
                     refs.begin() + static_cast<std::ptrdiff_t>(i),
                     refs.begin() + static_cast<std::ptrdiff_t>(i + 4)),
                   patience);
      for (std::size_t j = 0; j < 4; ++j)
        CHECK(four[j] == sp_pattern(static_cast<int>(i + j)));
    }
    // Freed objects take their files with them (the sums' lineage holds
    // their arguments, so those go too).
    refs.clear();
    sums.clear();
    REQUIRE(lumen_it::await_idle());
    CHECK(lumen_it::eventually([&] {
      return sp_files_below(tmp.path()) == 0;
    }));
    st = lumen_it::snapshot();
    CHECK(st.spilled_objects == 0);
    CHECK(st.object_bytes == 0);
  }
  // The node's spill directory went with it; the one given stays.
  CHECK(sp_empty_dir(tmp.path()));
}

TEST_CASE("spilling: put throws object_store_full_error once memory and the "
          "spill capacity are both exhausted",
          "[spilling][capacity]") {
  sp_temp_dir tmp;
  lumen::init_guard guard{lumen::config{.num_cpus = 2,
                                        .object_store_memory = 4 << 20,
                                        .spill_directory = tmp.path(),
                                        .spill_capacity = 3 << 20}};
  // About 3 of these fit in memory and 2 on disk.
  std::vector<lumen::object_ref<std::vector<std::uint32_t>>> refs;
  std::string message;
  for (int i = 0; i < 20 && message.empty(); ++i) {
    try {
      refs.push_back(lumen::put(sp_pattern(i)));
    } catch (const lumen::object_store_full_error& e) {
      message = e.what();
    }
  }
  REQUIRE_FALSE(message.empty());
  // More went in than memory alone holds.
  CHECK(refs.size() >= 4);
  CHECK(refs.size() <= 6);
  CHECK_THAT(message, Catch::Contains("does not fit in memory") &&
                        Catch::Contains(tmp.path()) &&
                        Catch::Contains("is full"));
  // Everything stored reads back, and the node keeps serving.
  for (std::size_t i = 0; i < refs.size(); ++i)
    CHECK(lumen::get(refs[i], patience) == sp_pattern(static_cast<int>(i)));
  CHECK(lumen::get(lumen::task(sp_sum).remote(refs.front()), patience) ==
        sp_sum_of(sp_pattern(0)));
  // Frees make room again, on disk and in memory.
  refs.erase(refs.begin(), refs.begin() + 3);
  auto again = lumen::put(sp_pattern(100));
  CHECK(lumen::get(again, patience) == sp_pattern(100));
}

TEST_CASE("spilling: a task result that fits neither memory nor disk fails "
          "with object_store_full_error",
          "[spilling][capacity]") {
  sp_temp_dir tmp;
  lumen::init_guard guard{lumen::config{.num_cpus = 2,
                                        .object_store_memory = 3 << 20,
                                        .spill_directory = tmp.path(),
                                        .spill_capacity = 1}};
  auto a = lumen::put(sp_pattern(1));
  auto b = lumen::put(sp_pattern(2));
  auto c = lumen::task(sp_make).remote(3);
  CHECK_THROWS_AS(lumen::get(c, patience), lumen::object_store_full_error);
  // The values it could not push out are intact.
  CHECK(lumen::get(a, patience) == sp_pattern(1));
  CHECK(lumen::get(b, patience) == sp_pattern(2));
}

TEST_CASE("spilling: without a spill directory values spill under the "
          "runtime directory, removed at shutdown",
          "[spilling]") {
  sp_temp_dir tmp;
  auto* old = std::getenv("LUMEN_RUNTIME_DIR");
  std::string saved = old != nullptr ? old : "";
  ::setenv("LUMEN_RUNTIME_DIR", tmp.path().c_str(), 1);
  std::string node_dir;
  {
    lumen::init_guard guard{
      lumen::config{.num_cpus = 2, .object_store_memory = 4 << 20}};
    node_dir = tmp.path() + "/spill/lumen-spill-" + lumen::node_id();
    std::vector<lumen::object_ref<std::vector<std::uint32_t>>> refs;
    for (int i = 0; i < 8; ++i)
      refs.push_back(lumen::put(sp_pattern(i)));
    CHECK(fs::is_directory(node_dir));
    CHECK(sp_files_below(node_dir) >= 4);
    for (int i = 0; i < 8; ++i)
      CHECK(lumen::get(refs[static_cast<std::size_t>(i)], patience) ==
            sp_pattern(i));
  }
  CHECK_FALSE(fs::exists(node_dir));
  if (old != nullptr)
    ::setenv("LUMEN_RUNTIME_DIR", saved.c_str(), 1);
  else
    ::unsetenv("LUMEN_RUNTIME_DIR");
}

TEST_CASE("spilling: a bad threshold fails init with a clear message",
          "[spilling]") {
  CHECK_THROWS_WITH(
    lumen::init(lumen::config{.num_cpus = 2, .object_spilling_threshold = 0}),
    Catch::Contains("object_spilling_threshold"));
  CHECK_FALSE(lumen::is_initialized());
}

TEST_CASE("spilling: a node serves pulls of values it spilled",
          "[spilling][cluster]") {
  // One worker with 8 MiB of memory keeps 32 MiB of results for the driver.
  cluster_it::test_cluster cluster{1, 2, {"--object-store-memory 8Mi"}};
  lumen::init_guard g{lumen::config{.address = cluster.address()}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::string worker;
  for (auto& n : lumen::nodes())
    if (!n.driver && !n.head && n.alive)
      worker = n.id;
  REQUIRE_FALSE(worker.empty());
  constexpr std::int64_t mib = 1 << 20;
  std::vector<lumen::object_ref<std::vector<char>>> blobs;
  for (int i = 0; i < 32; ++i)
    blobs.push_back(lumen::task(cluster_tasks::make_blob)
                      .node_affinity(worker)
                      .remote(mib, i));
  REQUIRE(lumen::wait(blobs, blobs.size(), 120s).ready.size() == 32);
  // The worker spilled into its own directory under its runtime dir (its
  // writes may still be on their way when the last result is announced).
  auto dir = cluster.dir() + "/spill/lumen-spill-" + worker;
  CHECK(lumen_it::eventually([&] {
    return sp_files_below(dir) >= 20;
  }));
  // Each value comes here by pull, read back from the worker's disk.
  for (int i = 0; i < 32; ++i)
    REQUIRE(lumen::get(blobs[static_cast<std::size_t>(i)], 120s) ==
            cluster_tasks::make_blob(mib, i));
}
