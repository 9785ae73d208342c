// Unit tests of the size limits (max-object-size in the object table,
// max-message-size and max-object-size as `lumen start` options) and of
// config files that are not text at all: every error names the key, the
// file and the line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "cli/start_options.hpp"
#include "lumen/error.hpp"
#include "objects/object_table.hpp"
#include "runtime_object_table_test_support.hpp"

using namespace object_table_test;
using Catch::Matchers::Contains;
using lumen::detail::error_kind;
using lumen::detail::object_table;

namespace {

lumen::cli::settings ini(const std::string& text) {
  return lumen::cli::parse_ini(text, "test.ini",
                               lumen::cli::start_option_specs());
}

lumen::cli::start_options make(const lumen::cli::settings& s) {
  return lumen::cli::make_start_options(s);
}

} // namespace

TEST_CASE("limits: max_object_size bounds put and fulfill", "[limits]") {
  object_table table{1 << 20};
  CHECK(table.max_object_size() == 1 << 20); // 0: the capacity
  table.set_max_object_size(1000);
  CHECK(table.max_object_size() == 1000);
  // A put at the limit is fine, one byte more is a lumen::error naming it.
  auto ok = table.put(test_id(1), bytes_object(1000));
  CHECK(table.try_get(ok.get())->bytes.size() == 1000);
  CHECK_THROWS_AS(table.put(test_id(2), bytes_object(1001)), lumen::error);
  CHECK_THROWS_WITH(table.put(test_id(2), bytes_object(1001)),
                    "lumen::put: the object is 1001 bytes, more than "
                    "max_object_size (1000 bytes)");
  CHECK(table.get_stats().used_bytes == 1000);
  // A task result above the limit becomes an error object.
  auto pending = table.create_pending(test_id(3));
  CHECK(table.fulfill(test_id(3), bytes_object(5000)));
  auto got = table.try_get(pending.get());
  REQUIRE(got);
  REQUIRE(got->error);
  CHECK(got->error->kind == error_kind::runtime_error);
  CHECK_THAT(got->error->message,
             Contains("is 5000 bytes, more than max_object_size (1000 "
                      "bytes); it was dropped"));
  CHECK(table.get_stats().used_bytes == 1000);
  // A bound above the capacity: the capacity still bounds what is worth
  // pulling.
  object_table small{4096};
  small.set_max_object_size(1 << 30);
  CHECK(small.max_object_size() == 4096);
}

TEST_CASE("limits: max-message-size and max-object-size options", "[limits]") {
  auto d = make(ini("head = true"));
  CHECK(d.node.base.max_message_size == lumen::default_max_message_size);
  CHECK(d.node.base.max_object_size == 0);
  auto o = make(ini("head = true\nmax-message-size = 16Mi\n"
                    "max-object-size = 256Mi\n"));
  CHECK(o.node.base.max_message_size == 16u << 20);
  CHECK(o.node.base.max_object_size == 256u << 20);
  auto fails = [](const std::string& text, const std::string& what) {
    INFO(text);
    CHECK_THROWS_AS(make(ini(text)), lumen::cli::usage_error);
    CHECK_THROWS_WITH(make(ini(text)), what);
  };
  fails("head = true\nmax-message-size = 1Mi",
        "test.ini:2: max-message-size: expected at least 16Mi (16777216 "
        "bytes), got '1Mi'");
  fails("head = true\n\nmax-message-size = lots",
        "test.ini:3: max-message-size: expected a byte size such as 512Mi "
        "or 2G, got 'lots'");
  fails("head = true\nmax-object-size = -1",
        "test.ini:2: max-object-size: expected a byte size such as 512Mi or "
        "2G, got '-1'");
  fails("head = true\nmax-object-size = 3Qi",
        "test.ini:2: max-object-size: unknown size suffix (use K, M, G, T, "
        "Ki, Mi, Gi or Ti), got '3Qi'");
  fails("head = true\nmax-object-size = 1\nmax-object-size = 2",
        "test.ini:3: max-object-size: given twice (first at line 2)");
  lumen::cli::settings cl;
  lumen::cli::add_setting(
    cl, *lumen::cli::find_option(lumen::cli::start_option_specs(), "head"),
    {"true", {}, 0});
  lumen::cli::add_setting(
    cl,
    *lumen::cli::find_option(lumen::cli::start_option_specs(),
                             "max-message-size"),
    {"12", {}, 0});
  CHECK_THROWS_WITH(make(cl), "command line: --max-message-size: expected at "
                              "least 16Mi (16777216 bytes), got '12'");
}

TEST_CASE("limits: config files that are not text name file and line",
          "[limits]") {
  using lumen::cli::usage_error;
  CHECK_THROWS_WITH(ini("head = true\nnum-cpus = 2\x01\n"),
                    "test.ini:2: control character \\x01 at column 13 (a "
                    "config file holds text)");
  CHECK_THROWS_WITH(ini(std::string{"head = true\n\n\nport = 1\0\n", 23}),
                    "test.ini:4: control character \\x00 at column 9 (a "
                    "config file holds text)");
  CHECK_THROWS_WITH(ini("head = true\n\xff\xfe = 1\n"),
                    Contains("test.ini:2: unknown key '\\xff\\xfe' (known "
                             "keys: head,"));
  CHECK_THROWS_WITH(ini("\xfe\xed\xfa\xce\n"),
                    "test.ini:1: expected 'key = value', got "
                    "'\\xfe\\xed\\xfa\\xce'");
  // A value with a control character is quoted with it escaped.
  CHECK_THROWS_WITH(make(ini("head = true\nnum-cpus = \"2\x7f\"")),
                    "test.ini:2: control character \\x7f at column 14 (a "
                    "config file holds text)");
  CHECK(lumen::cli::in_quotes("a\tb\x1b") == "'a\\x09b\\x1b'");
  // Files that are no config files at all.
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() /
             ("lumen-limits-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto specs = lumen::cli::start_option_specs();
  CHECK_THROWS_WITH(lumen::cli::read_ini_file(dir.string(), specs),
                    "cannot read config file '" + dir.string() +
                      "': it is a directory");
  CHECK_THROWS_WITH(lumen::cli::read_ini_file("/dev/zero", specs),
                    "config file '/dev/zero' is larger than 1048576 bytes; "
                    "is it a config file?");
  auto junk = (dir / "junk.ini").string();
  {
    std::ofstream out{junk, std::ios::binary};
    // Deterministic binary junk: bytes 0..255, repeated.
    for (int i = 0; i < 4096; ++i)
      out.put(static_cast<char>(i * 131 % 256));
  }
  CHECK_THROWS_AS(lumen::cli::read_ini_file(junk, specs), usage_error);
  CHECK_THROWS_WITH(lumen::cli::read_ini_file(junk, specs),
                    Contains(junk + ":1: "));
  fs::remove_all(dir);
}
