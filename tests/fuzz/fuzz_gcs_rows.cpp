// Fuzz target: the GCS's durable tables as a restarted head reads them
// from RocksDB (src/gcs/gcs_store.cpp, src/gcs/gcs_rows.cpp).
//
// The input is a list of rows (fuzz_support.hpp's splitter): per row a
// table byte, the key after the table's prefix and the value. Every input
// goes through gcs_store::load_row, the function gcs_store::load calls for
// each row it scans. One input in `store_every` is also written into a
// real RocksDB store (one per process, its rows erased after each such
// input and a fresh store now and then) and read back by gcs_store::load:
// the scan of a store that erased rows walks their tombstones, which cost
// several times what the decoders do, and RocksDB's own iteration is not
// what is fuzzed here. Damaged rows must be skipped with a reason, never
// crash; every row read must encode and decode to the same encoding. Each
// value is also read as a lineage batch (wire/lineage_batch.hpp), as the
// GCS reads one off the wire.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "fuzz_support.hpp"
#include "gcs/gcs_rows.hpp"
#include "gcs/gcs_store.hpp"
#include "lumen/error.hpp"
#include "storage/rocks_db.hpp"
#include "wire/lineage_batch.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

std::string db_dir;
std::shared_ptr<rocks_db> db;
std::uint64_t inputs = 0;
std::uint64_t stored = 0;

/// One input in this many also goes through RocksDB and gcs_store::load.
constexpr std::uint64_t store_every = 64;

/// Stored inputs between two fresh stores. Erased rows leave tombstones
/// that every later scan walks, and opening a store costs about as much as
/// 100 stored inputs: 128 was the fastest of 32, 128 and 1024 (on tmpfs).
constexpr std::uint64_t reset_every = 128;

void remove_db() {
  db.reset();
  if (!db_dir.empty())
    std::filesystem::remove_all(db_dir);
}

/// The key prefix of table `t`, e.g. "node/".
std::string prefix_of(std::uint8_t t) {
  switch (t % 5) {
  case 0:
    return gcs_store::node_key("");
  case 1:
    return gcs_store::actor_key("");
  case 2:
    return gcs_store::group_key("");
  case 3: {
    auto k = gcs_store::kv_key("", "");
    return k.substr(0, k.size() - 4); // without the namespace length
  }
  default:
    return gcs_store::lineage_prefix();
  }
}

/// Every row read encodes, decodes and encodes again to the same bytes.
void check_rows(const gcs_snapshot& snap) {
  for (auto& n : snap.nodes) {
    auto once = encode_stored_node(n);
    auto again = decode_stored_node(n.rec.id, once.data(), once.size());
    fuzz::require(fuzz::same_bytes(once, encode_stored_node(again)),
                  "a loaded node row encodes the same way twice");
  }
  for (auto& a : snap.actors) {
    auto once = encode_stored_actor(a);
    auto again = decode_stored_actor(a.id, once.data(), once.size());
    fuzz::require(fuzz::same_bytes(once, encode_stored_actor(again)),
                  "a loaded actor row encodes the same way twice");
  }
  for (auto& g : snap.groups) {
    auto once = encode_stored_group(g);
    auto again = decode_stored_group(g.id, once.data(), once.size());
    fuzz::require(fuzz::same_bytes(once, encode_stored_group(again)),
                  "a loaded group row encodes the same way twice");
  }
  for (auto& row : snap.kv)
    fuzz::require(gcs_store::kv_key(row.ns, row.key).size() ==
                    prefix_of(3).size() + 4 + row.ns.size() + row.key.size(),
                  "a loaded key-value row has its namespace and key");
}

/// The rows written into the RocksDB store and read back by
/// gcs_store::load, then erased (or the store replaced).
void through_store(const std::vector<std::string>& keys,
                   const std::vector<std::string>& values) {
  rocks_db::batch rows;
  for (std::size_t i = 0; i < keys.size(); ++i)
    rows.put(keys[i], values[i]);
  db->write(rows, false);
  gcs_snapshot snap;
  {
    gcs_store store{db};
    snap = store.load();
  }
  check_rows(snap);
  if (++stored % reset_every == 0) {
    db.reset();
    rocks_db::destroy(db_dir + "/db");
    db = std::make_shared<rocks_db>(db_dir + "/db", /*scratch=*/true);
  } else {
    rocks_db::batch erase;
    for (auto& k : keys)
      erase.erase(k);
    db->write(erase, false);
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  db_dir = fuzz::scratch_dir("lumen-fuzz-gcs");
  db = std::make_shared<rocks_db>(db_dir + "/db", /*scratch=*/true);
  std::atexit(remove_db);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  fuzz::splitter in{data, size};
  std::vector<std::string> keys;
  std::vector<std::string> values;
  gcs_snapshot direct;
  for (int i = 0; i < 16 && !in.done(); ++i) {
    auto key = prefix_of(in.byte()) + std::string{in.next()};
    auto value = in.next();
    gcs_store::load_row(key, value, direct);
    values.emplace_back(value);
    keys.push_back(std::move(key));
  }
  check_rows(direct);
  if (++inputs % store_every == 0)
    through_store(keys, values);
  // Values as lineage batches, as the GCS reads them off the wire: one
  // that splits packs again to the same bytes.
  for (auto& v : values)
    if (auto split = split_lineage_batch(v)) {
      std::string again;
      for (auto& [row, offset] : *split)
        append_lineage_row(again, row.id, row.spec);
      fuzz::require(again == v, "a lineage batch packs to the same bytes");
    }
  return 0;
}
