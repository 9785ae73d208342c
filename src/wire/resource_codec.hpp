// Resource amounts (`name -> amount`) in their Cap'n Proto form
// (cluster.capnp's ResourceAmount), shared by the cluster and GCS-table
// codecs.
//
// Thread safety: free functions without shared state.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include "lumen/wire/cluster.capnp.h"
#include "wire/codec_support.hpp"

namespace lumen::detail::wire_support {

/// Writes `in` in its (name) order into `out`, which has in.size() slots.
inline void write_resources(capnp::List<wire::ResourceAmount>::Builder out,
                            const std::map<std::string, double>& in) {
  unsigned int i = 0;
  for (const auto& [name, amount] : in) {
    auto entry = out[i++];
    entry.setName(text(name));
    entry.setAmount(amount);
  }
}

/// Reads resource amounts; fails (decode_error naming `what` and `field`)
/// on an empty or repeated name or an amount that is negative or not
/// finite.
inline std::map<std::string, double>
read_resources(const char* what, const std::string& field,
               capnp::List<wire::ResourceAmount>::Reader in) {
  std::map<std::string, double> result;
  for (unsigned int i = 0; i < in.size(); ++i) {
    auto entry = in[i];
    auto at = [&] {
      return field + "[" + std::to_string(i) + "]";
    };
    auto name = to_std(entry.getName());
    if (name.empty())
      fail(what, at() + ".name is empty");
    auto amount = entry.getAmount();
    if (!std::isfinite(amount) || amount < 0)
      fail(what,
           at() + ".amount is " + num(amount) + ", must be finite and >= 0");
    auto [pos, added] = result.emplace(std::move(name), amount);
    if (!added)
      fail(what, at() + ".name repeats '" + pos->first + "'");
  }
  return result;
}

} // namespace lumen::detail::wire_support
