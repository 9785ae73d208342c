// Unit tests of the process-wide function registry
// (include/lumen/detail/registry.hpp, src/api/registry.cpp): splitting
// LUMEN_REMOTE's argument text into names, registering and finding entries
// by name and by pointer key, and the re-registration rules.
//
// The registry is process-wide and shared with every other test in this
// executable: each test uses names and keys of its own.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/error.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

object_data invoke_one(const std::vector<object_ptr>&) {
  object_data result;
  result.bytes.append("1", 1);
  return result;
}

object_data invoke_two(const std::vector<object_ptr>&) {
  object_data result;
  result.bytes.append("2", 1);
  return result;
}

function_entry make_entry(std::string name, invoke_fn fn,
                          std::size_t arity = 0) {
  function_entry entry;
  entry.name = std::move(name);
  entry.invoke = fn;
  entry.arity = arity;
  return entry;
}

using names = std::vector<std::string>;

} // namespace

// -- split_remote_names
// --------------------------------------------------------

TEST_CASE("registry: split_remote_names splits at top-level commas",
          "[runtime][registry]") {
  CHECK(split_remote_names("&Counter::add, ns::f, g<int, 2>") ==
        names{"Counter::add", "ns::f", "g<int, 2>"});
  CHECK(split_remote_names("f") == names{"f"});
  CHECK(split_remote_names("f,g") == names{"f", "g"});
  CHECK(split_remote_names("h<std::map<int, long>>, k") ==
        names{"h<std::map<int, long>>", "k"});
  CHECK(split_remote_names("a<(1, 2)>, b[0], c") // brackets nest too
        == names{"a<(1, 2)>", "b[0]", "c"});
}

TEST_CASE("registry: split_remote_names trims whitespace, newlines and '&'",
          "[runtime][registry]") {
  CHECK(split_remote_names("  f  ,\tg\t") == names{"f", "g"});
  CHECK(split_remote_names("\n  &ns::f,\n  &Counter::add\n") ==
        names{"ns::f", "Counter::add"});
  CHECK(split_remote_names("& f") == names{"f"});
  CHECK(split_remote_names("::g, &::ns::h") == names{"g", "ns::h"});
  // Inner whitespace is kept as written.
  CHECK(split_remote_names("g<int,\n 2>") == names{"g<int,\n 2>"});
}

TEST_CASE("registry: split_remote_names rejects empty names",
          "[runtime][registry]") {
  CHECK_THROWS_AS(split_remote_names(""), lumen::error);
  CHECK_THROWS_AS(split_remote_names("   "), lumen::error);
  CHECK_THROWS_AS(split_remote_names("f,"), lumen::error);
  CHECK_THROWS_AS(split_remote_names(",f"), lumen::error);
  CHECK_THROWS_AS(split_remote_names("f,,g"), lumen::error);
  CHECK_THROWS_AS(split_remote_names("f, &, g"), lumen::error);
}

// -- register and find
// ---------------------------------------------------------

TEST_CASE("registry: functions are found by name and by key",
          "[runtime][registry]") {
  register_function(make_entry("runtime_registry_test::find", &invoke_one, 2),
                    "runtime_registry_test:key:find");
  auto* by_name = find_function("runtime_registry_test::find");
  REQUIRE(by_name != nullptr);
  CHECK(by_name->name == "runtime_registry_test::find");
  CHECK(by_name->invoke == &invoke_one);
  CHECK(by_name->arity == 2);
  CHECK(by_name->invoke({}).bytes.size() == 1);
  auto* by_key = find_function_by_key("runtime_registry_test:key:find");
  CHECK(by_key == by_name);

  CHECK(find_function("runtime_registry_test::nothing") == nullptr);
  CHECK(find_function_by_key("runtime_registry_test:key:nothing") == nullptr);
  CHECK(find_function("runtime_registry_test::fin") == nullptr);
  CHECK(find_function("") == nullptr);
  // Look-ups take a string_view: a name inside a longer buffer works.
  std::string text = "[runtime_registry_test::find]";
  CHECK(find_function(std::string_view{text}.substr(1, text.size() - 2)) ==
        by_name);
}

TEST_CASE("registry: registering the same name and key again is a no-op",
          "[runtime][registry]") {
  register_function(make_entry("runtime_registry_test::same", &invoke_one, 1),
                    "runtime_registry_test:key:same");
  auto* first = find_function("runtime_registry_test::same");
  REQUIRE(first != nullptr);
  register_function(make_entry("runtime_registry_test::same", &invoke_two, 3),
                    "runtime_registry_test:key:same");
  CHECK(find_function("runtime_registry_test::same") == first);
  CHECK(first->invoke == &invoke_one);
  CHECK(first->arity == 1);
  CHECK(find_function_by_key("runtime_registry_test:key:same") == first);
}

TEST_CASE("registry: a new key under a known name resolves to the first "
          "entry",
          "[runtime][registry]") {
  register_function(make_entry("runtime_registry_test::twice", &invoke_one, 1),
                    "runtime_registry_test:key:twice:driver");
  register_function(make_entry("runtime_registry_test::twice", &invoke_two, 1),
                    "runtime_registry_test:key:twice:library");
  auto* entry = find_function("runtime_registry_test::twice");
  REQUIRE(entry != nullptr);
  CHECK(entry->invoke == &invoke_one); // the first registration wins
  CHECK(find_function_by_key("runtime_registry_test:key:twice:driver") ==
        entry);
  CHECK(find_function_by_key("runtime_registry_test:key:twice:library") ==
        entry);
}

TEST_CASE("registry: different names with different keys stay apart",
          "[runtime][registry]") {
  register_function(make_entry("runtime_registry_test::apart_a", &invoke_one),
                    "runtime_registry_test:key:apart_a");
  register_function(make_entry("runtime_registry_test::apart_b", &invoke_two),
                    "runtime_registry_test:key:apart_b");
  auto* a = find_function("runtime_registry_test::apart_a");
  auto* b = find_function("runtime_registry_test::apart_b");
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a != b);
  CHECK(a->invoke == &invoke_one);
  CHECK(b->invoke == &invoke_two);
  CHECK(find_function_by_key("runtime_registry_test:key:apart_a") == a);
  CHECK(find_function_by_key("runtime_registry_test:key:apart_b") == b);
}

TEST_CASE("registry: concurrent registrations and look-ups",
          "[runtime][registry][concurrency]") {
  constexpr int threads = 4;
  constexpr int per_thread = 100;
  std::atomic<int> wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([t, &wrong] {
      for (int i = 0; i < per_thread; ++i) {
        auto suffix = std::to_string(t) + "_" + std::to_string(i);
        auto name = "runtime_registry_test::conc_" + suffix;
        register_function(make_entry(name, &invoke_one),
                          "runtime_registry_test:key:conc_" + suffix);
        auto* e = find_function(name);
        if (e == nullptr || e->name != name)
          ++wrong;
        // Everyone also registers one shared name with a key of its own.
        register_function(make_entry("runtime_registry_test::conc_shared",
                                     t % 2 == 0 ? &invoke_one : &invoke_two),
                          "runtime_registry_test:key:conc_shared_" + suffix);
      }
    });
  for (auto& w : workers)
    w.join();
  CHECK(wrong == 0);
  auto* shared = find_function("runtime_registry_test::conc_shared");
  REQUIRE(shared != nullptr);
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < per_thread; ++i) {
      auto suffix = std::to_string(t) + "_" + std::to_string(i);
      auto* e = find_function("runtime_registry_test::conc_" + suffix);
      REQUIRE(e != nullptr);
      CHECK(find_function_by_key("runtime_registry_test:key:conc_" + suffix) ==
            e);
      CHECK(find_function_by_key("runtime_registry_test:key:conc_shared_" +
                                 suffix) == shared);
    }
}
