// Unit tests of fixed-point resource sets (src/scheduling/resources.hpp):
// exact fractional arithmetic, validation, fitting, oversubscription and
// printing.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "lumen/error.hpp"
#include "scheduling/resources.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

resource_set cpus(double amount) {
  resource_set result;
  result.set(cpu_resource, amount);
  return result;
}

} // namespace

TEST_CASE("resources: fractions add up exactly", "[runtime][resources]") {
  auto sum = cpus(0.1);
  sum += cpus(0.2);
  CHECK(sum == cpus(0.3));
  CHECK(sum.get(cpu_resource) == cpus(0.3).get(cpu_resource));

  // Ten tenths make exactly one whole CPU, and taking them back leaves none.
  resource_set tenths;
  for (int i = 0; i < 10; ++i)
    tenths += cpus(0.1);
  CHECK(tenths == cpus(1));
  CHECK(tenths.get(cpu_resource) == 1.0);
  for (int i = 0; i < 10; ++i)
    tenths -= cpus(0.1);
  CHECK(tenths == resource_set{});
  CHECK(tenths.empty());
  CHECK(tenths.to_doubles().empty());
}

TEST_CASE("resources: an exact fraction fits what it adds up to",
          "[runtime][resources]") {
  auto available = cpus(0.3);
  auto request = cpus(0.1);
  request += cpus(0.2);
  CHECK(available.fits(request));
  available -= request;
  CHECK(available.empty());
  CHECK(available.get(cpu_resource) == 0.0);
  CHECK_FALSE(available.fits(cpus(0.0001)));
}

TEST_CASE("resources: from_doubles, get and set", "[runtime][resources]") {
  auto set = resource_set::from_doubles(
    {{"CPU", 1.5}, {"GPU", 2}, {"memory", 0}, {"custom", 0.0001}});
  CHECK(set.get("CPU") == 1.5);
  CHECK(set.get("GPU") == 2.0);
  CHECK(set.get("custom") == 0.0001);
  CHECK(set.get("memory") == 0.0); // zero amounts are not stored
  CHECK(set.get("unknown") == 0.0);
  CHECK(set.to_doubles() == std::map<std::string, double>{
                              {"CPU", 1.5}, {"GPU", 2.0}, {"custom", 0.0001}});

  set.set("GPU", 0); // removes
  CHECK(set.to_doubles().count("GPU") == 0);
  set.set("GPU", 3);
  CHECK(set.get("GPU") == 3.0);
  CHECK_FALSE(set.empty());
  CHECK(resource_set{}.empty());
}

TEST_CASE("resources: invalid amounts and names throw lumen::error",
          "[runtime][resources]") {
  resource_set set;
  CHECK_THROWS_AS(set.set("CPU", -1), lumen::error);
  CHECK_THROWS_AS(set.set("CPU", -0.0001), lumen::error);
  CHECK_THROWS_AS(set.set("CPU", std::nan("")), lumen::error);
  CHECK_THROWS_AS(set.set("CPU", std::numeric_limits<double>::infinity()),
                  lumen::error);
  CHECK_THROWS_AS(set.set("CPU", -std::numeric_limits<double>::infinity()),
                  lumen::error);
  CHECK_THROWS_AS(set.set("", 1), lumen::error);
  CHECK_THROWS_AS(set.set("CPU", 1e13), lumen::error);
  CHECK(set.empty()); // nothing was stored by the failed calls

  CHECK_THROWS_AS(resource_set::from_doubles({{"GPU", -2}}), lumen::error);
  CHECK_THROWS_AS(resource_set::from_doubles({{"", 1}}), lumen::error);
  CHECK_THROWS_AS(
    resource_set::from_doubles({{"CPU", 1}, {"GPU", std::nan("")}}),
    lumen::error);
  CHECK_NOTHROW(resource_set::from_doubles({{"CPU", 1e12}}));
}

TEST_CASE("resources: fits needs every requested name in full",
          "[runtime][resources]") {
  auto node = resource_set::from_doubles({{"CPU", 4}, {"GPU", 1}});
  CHECK(node.fits(resource_set{}));
  CHECK(node.fits(resource_set::from_doubles({{"CPU", 4}})));
  CHECK(node.fits(resource_set::from_doubles({{"CPU", 2}, {"GPU", 1}})));
  CHECK_FALSE(node.fits(resource_set::from_doubles({{"CPU", 4.0001}})));
  CHECK_FALSE(node.fits(resource_set::from_doubles({{"GPU", 1.5}})));
  CHECK_FALSE(node.fits(resource_set::from_doubles({{"TPU", 1}})));
  CHECK_FALSE(
    node.fits(resource_set::from_doubles({{"CPU", 1}, {"TPU", 0.5}})));
}

TEST_CASE("resources: subtraction may go negative, and then nothing fits",
          "[runtime][resources]") {
  auto available = cpus(1);
  available -= cpus(1.5);
  CHECK(available.get(cpu_resource) == -0.5);
  CHECK(available.empty()); // holds no positive amount
  CHECK_FALSE(available.fits(cpus(0.0001)));
  CHECK(available.fits(resource_set{}));
  available += cpus(0.5);
  CHECK(available == resource_set{});
  available += cpus(1);
  CHECK(available == cpus(1));

  // Subtracting a name the set does not hold yields a negative entry.
  resource_set none;
  none -= resource_set::from_doubles({{"GPU", 2}});
  CHECK(none.get("GPU") == -2.0);
  CHECK_FALSE(none == resource_set{});
}

TEST_CASE("resources: amounts are kept to a ten-thousandth",
          "[runtime][resources]") {
  CHECK(resource_units == 10000);
  CHECK(cpus(0.12344).get(cpu_resource) == 0.1234);
  CHECK(cpus(0.12346).get(cpu_resource) == 0.1235);
  CHECK(cpus(1.0 / 3).get(cpu_resource) == 0.3333);
  // Three thirds round to 0.9999, which is not one whole CPU.
  resource_set thirds;
  for (int i = 0; i < 3; ++i)
    thirds += cpus(1.0 / 3);
  CHECK(thirds.get(cpu_resource) == 0.9999);
  CHECK(cpus(1).fits(thirds));
}

TEST_CASE("resources: to_string lists names in order", "[runtime][resources]") {
  CHECK(resource_set{}.to_string() == "{}");
  CHECK(cpus(1.5).to_string() == "{CPU: 1.5}");
  CHECK(resource_set::from_doubles({{"GPU", 1}, {"CPU", 1.5}}).to_string() ==
        "{CPU: 1.5, GPU: 1}");
}

TEST_CASE("resources: names that come and go leave nothing behind",
          "[runtime][resources]") {
  // As placement group bundles do: each adds a name of its own to the
  // node's capacity and takes it away again.
  auto node = resource_set::from_doubles({{"CPU", 2}});
  const auto before = node;
  for (int i = 0; i < 1000; ++i) {
    auto bundle = resource_set::from_doubles(
      {{"CPU_group_" + std::to_string(i), 1}, {"CPU", 0.5}});
    node += bundle;
    CHECK(node.get("CPU_group_" + std::to_string(i)) == 1);
    node -= bundle;
  }
  CHECK(node == before);
  CHECK(node.to_doubles() == std::map<std::string, double>{{"CPU", 2}});
  CHECK(node.to_string() == "{CPU: 2}");
  // A name at zero reads as absent, and zero amounts never block a fit.
  auto busy = node;
  busy -= node;
  CHECK(busy.get("CPU") == 0);
  CHECK(busy.empty());
  CHECK(busy.to_string() == "{}");
  CHECK(busy.fits(resource_set{}));
  CHECK_FALSE(busy.fits(node));
}

TEST_CASE("resources: what is available of a total keeps its zeros",
          "[runtime][resources]") {
  auto total = resource_set::from_doubles({{"CPU", 2}, {"ssd", 1}});
  auto available = total;
  available -= resource_set::from_doubles({{"CPU", 2}});
  // to_doubles leaves CPU out; what a node reports keeps it, at 0.
  CHECK(available.to_doubles() == std::map<std::string, double>{{"ssd", 1}});
  CHECK(available.to_doubles_over(total) ==
        std::map<std::string, double>{{"CPU", 0}, {"ssd", 1}});
  // Also once the zero row was dropped (many names), and for a name set
  // to 0 outright.
  resource_set none;
  none.set("CPU", 0);
  CHECK(none.to_doubles_over(total) ==
        std::map<std::string, double>{{"CPU", 0}, {"ssd", 0}});
  // Names only here still show.
  auto extra = resource_set::from_doubles({{"gpu", 1}});
  CHECK(extra.to_doubles_over(total) ==
        std::map<std::string, double>{{"CPU", 0}, {"gpu", 1}, {"ssd", 0}});
}
