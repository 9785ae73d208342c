// Fuzz target: lineage stash records (src/lineage/stash.cpp): the
// encoded TaskSpec of each stashed task, as a node reads it back from its
// stash or receives it as lineage with a task, and the stash's bookkeeping
// of the dependencies it finds in them.
//
// The input is a list of records (fuzz_support.hpp's splitter). Each goes
// through spec_deps; the ones it accepts are appended to a real stash (one
// RocksDB store per process), whose uncommitted ancestors are then walked
// (dependencies may form cycles) and committed, which empties it again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "fuzz_support.hpp"
#include "lineage/stash.hpp"
#include "lumen/error.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

std::string stash_dir;
std::unique_ptr<lineage_stash> stash;
std::uint64_t inputs = 0;

void remove_stash() {
  stash.reset();
  if (!stash_dir.empty())
    std::filesystem::remove_all(stash_dir);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  stash_dir = fuzz::scratch_dir("lumen-fuzz-stash");
  stash = std::make_unique<lineage_stash>(stash_dir + "/1");
  std::atexit(remove_stash);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  fuzz::splitter in{data, size};
  std::vector<task_id> deps;
  for (int i = 0; i < 16 && !in.done(); ++i) {
    std::string record{in.next()};
    std::pair<task_id, std::vector<task_id>> parsed;
    try {
      parsed = spec_deps(record);
    } catch (const decode_error&) {
      continue;
    }
    deps.insert(deps.end(), parsed.second.begin(), parsed.second.end());
    deps.push_back(parsed.first);
    stash->append(parsed.first, std::move(record), std::move(parsed.second));
  }
  // Everything the stash hands out was accepted once: it decodes again
  // (a decode_error escaping here ends the run as a crash).
  for (auto& spec : stash->uncommitted_ancestors(deps))
    static_cast<void>(spec_deps(spec));
  // Now and then the rows go to disk too, as the stash actor does.
  if (++inputs % 64 == 0)
    stash->flush_to_disk(true);
  for (auto b = stash->next_commit_batch(); !b.empty();
       b = stash->next_commit_batch())
    stash->committed(b.seq);
  fuzz::require(stash->uncommitted() == 0,
                "committing every row empties the stash");
  return 0;
}
