// Issue 24's wire fields and small pieces: a TaskSpec's namespace,
// captured placement group and retried exception types, an actor's
// captured group, the exact-type match of retry_exceptions<E...>, the
// count behind max_pending_calls, and placement group names per
// namespace.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "lumen/detail/exception_names.hpp"
#include "lumen/error.hpp"
#include "node/pg_names.hpp"
#include "objects/object_table.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/pending_calls.hpp"
#include "scheduling/retry_on.hpp"
#include "task_spec_test_support.hpp"
#include "wire/cluster_types.hpp"
#include "wire/task_spec_codec.hpp"
#include "wire/task_spec_writer.hpp"

using namespace lumen;
using namespace lumen::detail;
using namespace task_spec_test;

TEST_CASE("context wire: a TaskSpec keeps ns, capturePg and retryOn",
          "[wire][context]") {
  auto spec = sample_spec();
  spec.ns = "team";
  spec.options.capture_pg = "0123456789abcdef0123456789abcdef";
  spec.options.retry_exceptions = true;
  spec.options.retry_on = {"std::invalid_argument", "my::error"};
  recording_resolver resolver;
  auto bytes = bytes_of(encode_task_spec(spec));
  auto back = decode_task_spec(bytes.data(), bytes.size(), resolver.fn());
  check_equal(spec, back);
  // The direct writer leaves a list of types to the builder...
  std::string direct;
  CHECK_FALSE(write_task_spec(direct, spec));
  // ...and writes the namespace and the group itself.
  spec.options.retry_on.clear();
  CHECK(write_task_spec(direct, spec));
  auto again = decode_task_spec(direct.data(), direct.size(), resolver.fn());
  check_equal(spec, again);
  // Absent fields read as empty.
  auto plain = sample_spec();
  auto plain_bytes = bytes_of(encode_task_spec(plain));
  auto p =
    decode_task_spec(plain_bytes.data(), plain_bytes.size(), resolver.fn());
  CHECK(p.ns.empty());
  CHECK(p.options.capture_pg.empty());
  CHECK(p.options.retry_on.empty());
}

TEST_CASE("context wire: actor options keep the captured group",
          "[wire][context]") {
  remote_actor_options x;
  x.options.ns = "team";
  x.options.capture_pg = "pg-id";
  auto buf = encode_actor_options(x);
  auto y = decode_actor_options(buf.data(), buf.size());
  CHECK(y.options.capture_pg == "pg-id");
  CHECK(y.options.ns == "team");
  x.options.capture_pg.clear();
  buf = encode_actor_options(x);
  CHECK(decode_actor_options(buf.data(), buf.size()).options.capture_pg == "");
}

TEST_CASE("context: retry_exceptions matches the exact type thrown",
          "[context]") {
  auto thrown = [](const std::string& type) {
    return make_error_object(error_kind::task_failed, "m", type, "t");
  };
  auto invalid = exception_type_name(typeid(std::invalid_argument));
  CHECK(invalid == "std::invalid_argument");
  CHECK(retried_type({}, thrown("anything")));
  CHECK(retried_type({invalid}, thrown("std::invalid_argument")));
  CHECK_FALSE(retried_type({invalid}, thrown("std::out_of_range")));
  CHECK_FALSE(retried_type({exception_type_name(typeid(std::logic_error))},
                           thrown("std::invalid_argument")));
  CHECK_FALSE(retried_type({invalid}, nullptr));
}

TEST_CASE("context: pending_calls counts up to its limit", "[context]") {
  pending_calls p{2};
  CHECK(p.try_enter());
  CHECK(p.try_enter());
  CHECK_FALSE(p.try_enter());
  CHECK(p.count() == 2);
  p.leave();
  CHECK(p.try_enter());
  CHECK_FALSE(p.try_enter());
}

TEST_CASE("context: inherit_context captures only unplaced children",
          "[context]") {
  std::string pg = "g1";
  context_info info;
  info.capture_pg = &pg;
  task_options plain;
  inherit_context(info, plain);
  CHECK(plain.pg_id == "g1");
  CHECK(plain.pg_bundle == -1);
  CHECK(plain.capture_pg == "g1");
  task_options own;
  own.pg_id = "g2";
  inherit_context(info, own);
  CHECK(own.pg_id == "g2");
  CHECK(own.capture_pg.empty());
  task_options spread;
  spread.strategy = scheduling_strategy::spread;
  inherit_context(info, spread);
  CHECK(spread.pg_id.empty());
  actor_options actor;
  inherit_context(info, actor);
  CHECK(actor.pg_id == "g1");
  context_info none;
  task_options untouched;
  inherit_context(none, untouched);
  CHECK(untouched.pg_id.empty());
}

TEST_CASE("context: placement group names are kept per namespace",
          "[context]") {
  CHECK(pg_name_key("", "g") == "g");
  CHECK(pg_name_key("team", "g") != pg_name_key("other", "g"));
  CHECK(pg_name_key("team", "g") != pg_name_key("", "g"));
  CHECK(pg_name_key("team", "").empty());
  CHECK_THROWS_AS(pg_name_key("a\x1f"
                              "b",
                              "g"),
                  lumen::error);
}
