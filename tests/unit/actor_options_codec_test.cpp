// The actor options a spawn request carries between nodes
// (src/wire/cluster_codec.cpp): every field survives the round trip,
// the restarted flag of a relocated actor included.
#include <catch2/catch.hpp>

#include "wire/cluster_types.hpp"

using namespace lumen;
using namespace lumen::detail;

TEST_CASE("cluster codec: actor options round trip keeps every field",
          "[wire][cluster_codec]") {
  remote_actor_options x;
  x.class_hash = 0xfeedbeef;
  x.options.num_cpus = 0.5;
  x.options.resources = {{"tally", 2}};
  x.options.name = "n";
  x.options.ns = "s";
  x.options.max_concurrency = 3;
  x.options.max_restarts = -1;
  x.options.max_task_retries = 4;
  x.options.detached = true;
  for (bool restarted : {false, true}) {
    x.restarted = restarted;
    auto buf = encode_actor_options(x);
    auto y = decode_actor_options(buf.data(), buf.size());
    CHECK(y.class_hash == x.class_hash);
    CHECK(y.options.num_cpus == x.options.num_cpus);
    CHECK(y.options.resources == x.options.resources);
    CHECK(y.options.name == x.options.name);
    CHECK(y.options.ns == x.options.ns);
    CHECK(y.options.max_concurrency == 3);
    CHECK(y.options.max_restarts == -1);
    CHECK(y.options.max_task_retries == 4);
    CHECK(y.options.detached);
    CHECK(y.restarted == restarted);
  }
}
