// Fixed-point resource arithmetic.
#include "scheduling/resources.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

std::int64_t to_units(const std::string& name, double amount) {
  if (name.empty())
    throw error("resource name must not be empty");
  if (!std::isfinite(amount) || amount < 0)
    throw error("resource '" + name +
                "' must be a finite, non-negative amount");
  if (amount > 1e12)
    throw error("resource '" + name + "' is too large");
  return static_cast<std::int64_t>(std::llround(amount * resource_units));
}

} // namespace

resource_set
resource_set::from_doubles(const std::map<std::string, double>& xs) {
  resource_set result;
  for (auto& [name, amount] : xs)
    result.set(name, amount);
  return result;
}

std::vector<resource_set::unit_row>::const_iterator
resource_set::find(const std::string& name) const {
  auto i = std::lower_bound(units_.begin(), units_.end(), name,
                            [](const unit_row& row, const std::string& n) {
                              return row.first < n;
                            });
  return i != units_.end() && i->first == name ? i : units_.end();
}

void resource_set::compact() {
  // A few zeroed names (CPU while every CPU is busy) stay, so that the
  // per-task take and give back allocate nothing; many (placement group
  // bundles that came and went) would make every look-up slower.
  if (units_.size() <= keep_zeros_below)
    return;
  units_.erase(std::remove_if(units_.begin(), units_.end(),
                              [](const unit_row& r) {
                                return r.second == 0;
                              }),
               units_.end());
}

std::int64_t& resource_set::at(const std::string& name) {
  auto i = std::lower_bound(units_.begin(), units_.end(), name,
                            [](const unit_row& row, const std::string& n) {
                              return row.first < n;
                            });
  if (i == units_.end() || i->first != name)
    i = units_.emplace(i, name, 0);
  return i->second;
}

bool resource_set::covers_equal(const resource_set& other) const {
  for (auto& [name, u] : units_) {
    if (u == 0)
      continue;
    auto i = other.find(name);
    if (i == other.units_.end() || i->second != u)
      return false;
  }
  return true;
}

double resource_set::get(const std::string& name) const {
  auto i = find(name);
  return i == units_.end() ? 0.0
                           : static_cast<double>(i->second) / resource_units;
}

void resource_set::set(const std::string& name, double amount) {
  auto u = to_units(name, amount);
  if (u == 0) {
    auto i = find(name);
    if (i != units_.end())
      units_.erase(i);
  } else {
    at(name) = u;
  }
}

bool resource_set::fits(const resource_set& req) const {
  for (auto& [name, u] : req.units_) {
    if (u <= 0)
      continue;
    auto i = find(name);
    if (i == units_.end() || i->second < u)
      return false;
  }
  return true;
}

resource_set& resource_set::operator+=(const resource_set& other) {
  for (auto& [name, u] : other.units_)
    if (u != 0)
      at(name) += u;
  compact();
  return *this;
}

resource_set& resource_set::operator-=(const resource_set& other) {
  for (auto& [name, u] : other.units_)
    if (u != 0)
      at(name) -= u;
  compact();
  return *this;
}

bool resource_set::empty() const {
  for (auto& kv : units_)
    if (kv.second > 0)
      return false;
  return true;
}

std::map<std::string, double> resource_set::to_doubles() const {
  std::map<std::string, double> result;
  for (auto& [name, u] : units_)
    if (u != 0)
      result.emplace(name, static_cast<double>(u) / resource_units);
  return result;
}

std::map<std::string, double>
resource_set::to_doubles_over(const resource_set& names) const {
  auto result = to_doubles();
  for (auto& [name, u] : names.units_)
    if (u != 0)
      result.emplace(name, 0.0);
  return result;
}

std::string resource_set::to_string() const {
  std::ostringstream out;
  out << '{';
  bool first = true;
  for (auto& [name, u] : units_) {
    if (u == 0)
      continue;
    if (!first)
      out << ", ";
    first = false;
    out << name << ": " << static_cast<double>(u) / resource_units;
  }
  out << '}';
  return out.str();
}

} // namespace lumen::detail
