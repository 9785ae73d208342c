// Resource amounts in fixed point, so fractional requests add up exactly.
//
// A `resource_set` maps names ("CPU", "memory", custom names) to amounts in
// units of 1/10000. Plain value; not thread-safe. The few names a set holds
// live in a vector sorted by name; arithmetic keeps names whose amount
// reaches zero (a zero is the same as absent) while the set is small, so
// the scheduler's take and give back per task allocate nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lumen::detail {

/// Name of the CPU resource.
inline constexpr const char* cpu_resource = "CPU";

/// Fixed-point units per whole resource.
inline constexpr std::int64_t resource_units = 10000;

class resource_set {
 public:
  resource_set() = default;

  /// Converts whole amounts; throws lumen::error on a negative or
  /// non-finite amount or an empty name.
  static resource_set from_doubles(const std::map<std::string, double>& xs);

  /// Amount of `name` in whole units.
  double get(const std::string& name) const;

  /// Sets `name` to `amount` whole units (0 removes it).
  void set(const std::string& name, double amount);

  /// Whether every amount in `req` is available here.
  bool fits(const resource_set& req) const;

  /// Adds `other`'s amounts.
  resource_set& operator+=(const resource_set& other);

  /// Subtracts `other`'s amounts; may go negative (oversubscription while a
  /// blocked task wakes up).
  resource_set& operator-=(const resource_set& other);

  /// Whether the set holds no positive amount.
  bool empty() const;

  /// Whole amounts, for display.
  std::map<std::string, double> to_doubles() const;

  /// Whole amounts of every name `names` holds and of every nonzero one
  /// here, zeros included: what is available of a node's total, where a
  /// resource all in use reads 0, never absent.
  std::map<std::string, double>
  to_doubles_over(const resource_set& names) const;

  /// `{CPU: 1.5, GPU: 1}`.
  std::string to_string() const;

  /// Equal amounts for every name (absent counts as zero).
  friend bool operator==(const resource_set& x, const resource_set& y) {
    return x.covers_equal(y) && y.covers_equal(x);
  }

 private:
  using unit_row = std::pair<std::string, std::int64_t>;

  /// The row of `name`, or end().
  std::vector<unit_row>::const_iterator find(const std::string& name) const;

  /// The row of `name`, inserted with 0 if absent.
  std::int64_t& at(const std::string& name);

  /// Drops zeroed names once there are more than keep_zeros_below names.
  void compact();

  static constexpr std::size_t keep_zeros_below = 8;

  /// Whether every nonzero amount here is the same in `other`.
  bool covers_equal(const resource_set& other) const;

  std::vector<unit_row> units_; // sorted by name
};

} // namespace lumen::detail
