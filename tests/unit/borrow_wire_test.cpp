// Borrowing on the wire (docs/architecture.md, "Borrowing"): refs carry
// their owners; a node that decodes refs owned elsewhere makes borrowed
// entries that give their registrations back when they go; refs owned
// here come home; tampered owner lists are refused with a named error.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "lumen/error.hpp"
#include "lumen/wire/task_spec.capnp.h"
#include "objects/object_table.hpp"
#include "scheduling/remote_task.hpp"
#include "wire/cluster_types.hpp"
#include "wire/task_spec_codec.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

object_id put_id(std::uint64_t n) {
  return object_id{task_id{7, n}, object_id::put_flag};
}

object_ptr value_with(std::vector<ref_ptr> refs) {
  auto obj = std::make_shared<object_data>();
  obj->bytes.append("abcdefgh", 8);
  obj->refs = std::move(refs);
  return obj;
}

struct given_back {
  std::vector<std::tuple<object_id, std::string, std::uint32_t>> items;
};

} // namespace

TEST_CASE("borrowing: a result's nested refs carry their owners and become "
          "borrowed entries that give their registrations back",
          "[unit][borrow]") {
  object_table owner{1 << 20};
  owner.set_node_id("owner-node");
  object_table borrower{1 << 20};
  borrower.set_node_id("borrower-node");
  given_back back;
  borrower.set_borrow_hook(
    [&](const object_id& id, const std::string& from, std::uint32_t n) {
      back.items.emplace_back(id, from, n);
    });
  auto a = owner.put(put_id(1), value_with({}));
  auto b = owner.put(put_id(2), value_with({}));
  ref_traffic lent;
  auto bytes = encode_result(object_id{task_id{9, 9}, 1}, value_with({a, b, a}),
                             &owner, &lent);
  CHECK(lent.lent.size() == 3); // one registration per ref written
  ref_traffic in;
  auto r = decode_result(bytes, borrower, &in);
  REQUIRE(r.value);
  REQUIRE(r.value->refs.size() == 3);
  CHECK(in.home.empty());
  CHECK(in.give_back.empty());
  CHECK(borrower.lender_of(put_id(1)) == "owner-node");
  CHECK(borrower.owner_of(r.value->refs[0].get()) == "owner-node");
  CHECK_FALSE(borrower.ready(r.value->refs[0].get())); // fetched when read
  CHECK(borrower.borrowed_count() == std::pair<std::size_t, std::size_t>{2, 3});
  r.value.reset();
  REQUIRE(back.items.size() == 2);
  std::uint32_t total = 0;
  for (auto& [id, from, n] : back.items) {
    CHECK(from == "owner-node");
    total += n;
  }
  CHECK(total == 3);
  CHECK(borrower.get_stats().objects == 0);
}

TEST_CASE("borrowing: refs that come back to their owner resolve to its own "
          "entries and consume their registrations",
          "[unit][borrow]") {
  object_table owner{1 << 20};
  owner.set_node_id("owner-node");
  auto a = owner.put(put_id(1), value_with({}));
  object_payload p;
  p.id = object_id{task_id{9, 9}, 1};
  p.bytes.append("abcdefgh", 8);
  p.nested = {put_id(1)};
  p.nested_owners = {"owner-node"};
  auto bytes = encode_object_payload(p);
  ref_traffic in;
  auto r =
    decode_result(std::string_view{bytes.data(), bytes.size()}, owner, &in);
  REQUIRE(r.value);
  REQUIRE(in.home.size() == 1);
  CHECK(in.home[0].get() == a.get());
  CHECK(r.value->refs[0].get() == a.get());
}

TEST_CASE("borrowing: an owner list that does not match the refs is "
          "refused with a decode_error naming it",
          "[unit][borrow]") {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::TaskSpec>();
  root.initId().setHi(1);
  root.initParent();
  root.initReturnId().initTask().setHi(1);
  root.setFunction("f");
  auto args = root.initArgs(1);
  auto value = args[0].initValue();
  value.initBytes(8);
  auto refs = value.initNestedRefs(2);
  refs[0].initTask().setHi(5);
  refs[1].initTask().setHi(6);
  auto owners = value.initNestedOwners(1);
  owners.set(0, "x");
  auto words = capnp::messageToFlatArray(builder);
  auto chars = words.asChars();
  object_table table{1 << 20};
  table.set_node_id("me");
  std::vector<object_id> to_fetch;
  ref_traffic in;
  try {
    decode_from_peer(std::string_view{chars.begin(), chars.size()}, table,
                     to_fetch, &in);
    FAIL("a tampered owner list decoded");
  } catch (const decode_error& e) {
    CHECK(std::string{e.what()}.find("nestedOwners") != std::string::npos);
  }
  CHECK(table.get_stats().objects == 0); // nothing made of it
}
