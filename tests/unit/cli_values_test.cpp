// Unit tests of the value parsers of the `lumen` tool: numbers, booleans,
// byte sizes, HOST:PORT addresses and the `--resources` JSON object.
#include <catch2/catch.hpp>

#include <string>

#include "cli/values.hpp"

using namespace lumen::cli;
using Catch::Matchers::Contains;

TEST_CASE("cli: numbers and booleans", "[cli]") {
  CHECK(parse_number("2") == 2);
  CHECK(parse_number("0.5") == 0.5);
  CHECK(parse_number("1e3") == 1000);
  CHECK_THROWS_AS(parse_number(""), value_error);
  CHECK_THROWS_AS(parse_number("2x"), value_error);
  CHECK_THROWS_AS(parse_number("inf"), value_error);
  CHECK_THROWS_AS(parse_number("nan"), value_error);
  CHECK(parse_non_negative("0") == 0);
  CHECK_THROWS_WITH(parse_non_negative("-1"),
                    "expected a non-negative number, got '-1'");
  CHECK(parse_unsigned("65535", 65535) == 65535);
  CHECK_THROWS_WITH(parse_unsigned("65536", 65535),
                    "expected an integer from 0 to 65535, got '65536'");
  CHECK_THROWS_AS(parse_unsigned("-1"), value_error);
  CHECK_THROWS_AS(parse_unsigned("1.5"), value_error);
  for (auto t : {"true", "yes", "on", "1"})
    CHECK(parse_bool(t));
  for (auto f : {"false", "no", "off", "0"})
    CHECK_FALSE(parse_bool(f));
  CHECK_THROWS_WITH(parse_bool("maybe"), "expected true or false, got 'maybe'");
}

TEST_CASE("cli: byte sizes take decimal and binary suffixes", "[cli]") {
  CHECK(parse_size("0") == 0);
  CHECK(parse_size("1073741824") == 1073741824);
  CHECK(parse_size("18446744073709551615") == 18446744073709551615ull);
  CHECK(parse_size("1K") == 1000);
  CHECK(parse_size("1Ki") == 1024);
  CHECK(parse_size("512M") == 512000000);
  CHECK(parse_size("512Mi") == 512ull << 20);
  CHECK(parse_size("2G") == 2000000000);
  CHECK(parse_size("2Gi") == 2ull << 30);
  CHECK(parse_size("1.5Gi") == 3ull << 29);
  CHECK(parse_size("2 GiB") == 2ull << 30);
  CHECK(parse_size("3GB") == 3000000000);
  CHECK(parse_size("1Ti") == 1ull << 40);
  CHECK(parse_size("100B") == 100);
  CHECK_THROWS_WITH(parse_size("12X"),
                    Contains("unknown size suffix") && Contains("'12X'"));
  CHECK_THROWS_WITH(parse_size("1Gx"), Contains("unknown size suffix"));
  CHECK_THROWS_WITH(parse_size("1gi"), Contains("unknown size suffix"));
  CHECK_THROWS_WITH(parse_size("G"), Contains("expected a byte size"));
  CHECK_THROWS_WITH(parse_size("-1G"), Contains("expected a byte size"));
  CHECK_THROWS_WITH(parse_size(""), Contains("expected a byte size"));
  CHECK_THROWS_WITH(parse_size("1..5G"), Contains("expected a byte size"));
  CHECK_THROWS_WITH(parse_size("99999999Ti"), Contains("too large"));
  CHECK_THROWS_AS(parse_size("18446744073709551616"), value_error);
}

TEST_CASE("cli: addresses are HOST:PORT", "[cli]") {
  auto a = parse_address("127.0.0.1:6390");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 6390);
  CHECK(parse_address("head.example:1").host == "head.example");
  CHECK(parse_address("[::1]:6390").host == "[::1]");
  CHECK_THROWS_WITH(parse_address("foo"), "expected HOST:PORT, got 'foo'");
  CHECK_THROWS_AS(parse_address(":6390"), value_error);
  CHECK_THROWS_WITH(parse_address("h:0"), Contains("port from 1 to 65535"));
  CHECK_THROWS_WITH(parse_address("h:65536"), Contains("port from 1"));
  CHECK_THROWS_WITH(parse_address("h:"), Contains("port from 1"));
  CHECK_THROWS_WITH(parse_address("::1:6390"), Contains("needs brackets"));
  CHECK_THROWS_AS(parse_address("a b:1"), value_error);
}

TEST_CASE("cli: resources JSON objects parse", "[cli]") {
  CHECK(parse_resources("{}").empty());
  CHECK(parse_resources("  { }  ").empty());
  auto r = parse_resources(R"({"ssd": 1, "accelerator": 0.5, "big": 2e3})");
  CHECK(r.size() == 3);
  CHECK(r["ssd"] == 1);
  CHECK(r["accelerator"] == 0.5);
  CHECK(r["big"] == 2000);
  CHECK(parse_resources("{\"a\\\"b\":0}").count("a\"b") == 1);
  CHECK(parse_resources("{\n\t\"x\" :\n 3 }")["x"] == 3);
}

TEST_CASE("cli: resources JSON errors say what and where", "[cli]") {
  auto fails = [](const char* text, const char* what) {
    INFO(text);
    CHECK_THROWS_WITH(parse_resources(text), Contains(what));
  };
  fails("", "expected '{' to open the object, got the end at position 1");
  fails("[1]", "expected '{' to open the object at position 1");
  fails("{ssd: 1}", "expected a resource name in double quotes at position 2");
  fails(R"({"ssd" 1})", "expected ':' after \"ssd\" at position 8");
  fails(R"({"ssd": })", "expected a number for \"ssd\" at position 9");
  fails(R"({"ssd": "1"})", "expected a number for \"ssd\" at position 9");
  fails(R"({"ssd": -1})", "negative amount -1 for \"ssd\" at position 9");
  fails(R"({"ssd": 1e999})", "amount of \"ssd\" out of range at position 9");
  fails(R"({"ssd": 1 "x": 2})", "expected ',' or '}' after the amount of "
                                "\"ssd\" at position 11");
  fails(R"({"ssd": 1,})", "expected a resource name in double quotes at "
                          "position 11");
  fails(R"({"ssd": 1, "ssd": 2})", "resource \"ssd\" given twice at position "
                                   "12");
  fails(R"({"": 1})", "empty resource name at position 2");
  fails(R"({"CPU": 1})", "set CPUs with num-cpus");
  fails(R"({"ssd": 1} x)", "unexpected text after the closing '}' at "
                           "position 12");
  fails(R"({"ssd)", "unterminated string at position 2");
  fails(R"({"s\qd": 1})", "unsupported escape '\\q' at position 4");
  fails(R"({"ssd": 1)", "expected ',' or '}' after the amount of \"ssd\", "
                        "got the end at position 10");
  fails(R"({"ssd": .5})", "expected a number for \"ssd\" at position 9");
  fails(R"({"ssd": 1.})", "expected a number for \"ssd\" at position 9");
}
