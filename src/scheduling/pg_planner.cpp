// Placement group planning.
#include "scheduling/pg_planner.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

/// Bundle index -> index into the alive nodes.
using assignment = std::vector<std::size_t>;

/// Candidate tries before the exhaustive search of pack and spread gives
/// up; the greedy first answer takes one try per bundle.
constexpr std::size_t search_budget = 100000;

const char* strategy_name(pg_strategy_kind x) {
  switch (x) {
  case pg_strategy_kind::pack:
    return "pack";
  case pg_strategy_kind::spread:
    return "spread";
  case pg_strategy_kind::strict_pack:
    return "strict_pack";
  case pg_strategy_kind::strict_spread:
    return "strict_spread";
  }
  return "unknown";
}

resource_set sum_of(const std::vector<resource_set>& xs) {
  resource_set result;
  for (auto& x : xs)
    result += x;
  return result;
}

std::optional<assignment>
plan_strict_pack(const std::vector<resource_set>& bs,
                 const std::vector<resource_set>& cs) {
  auto sum = sum_of(bs);
  for (std::size_t n = 0; n < cs.size(); ++n)
    if (cs[n].fits(sum))
      return assignment(bs.size(), n);
  return std::nullopt;
}

// -- strict spread: maximum bipartite matching (Kuhn) -------------------------

// Finds bundle `b` a node: a free one if any (so an easy case keeps node
// order), otherwise one whose owner can move elsewhere.
bool augment(std::size_t b, const std::vector<resource_set>& bs,
             const std::vector<resource_set>& cs, std::vector<bool>& seen,
             std::vector<std::optional<std::size_t>>& owner, assignment& out) {
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t n = 0; n < cs.size(); ++n) {
      if (seen[n] || owner[n].has_value() != (pass == 1) || !cs[n].fits(bs[b]))
        continue;
      seen[n] = true;
      if (pass == 0 || augment(*owner[n], bs, cs, seen, owner, out)) {
        owner[n] = b;
        out[b] = n;
        return true;
      }
    }
  }
  return false;
}

std::optional<assignment> plan_distinct(const std::vector<resource_set>& bs,
                                        const std::vector<resource_set>& cs) {
  if (bs.size() > cs.size())
    return std::nullopt;
  assignment out(bs.size(), 0);
  std::vector<std::optional<std::size_t>> owner(cs.size());
  for (std::size_t b = 0; b < bs.size(); ++b) {
    std::vector<bool> seen(cs.size(), false);
    if (!augment(b, bs, cs, seen, owner, out))
      return std::nullopt;
  }
  return out;
}

// -- pack and spread: greedy order, exhaustive bounded search -----------------

enum class search_outcome { found, none, gave_up };

class shared_search {
 public:
  shared_search(const std::vector<resource_set>& bs,
                std::vector<resource_set> cs, bool pack)
    : bs_(bs), free_(std::move(cs)), count_(free_.size(), 0),
      out_(bs.size(), 0), pack_(pack) {}

  search_outcome run() {
    return step(0);
  }

  const assignment& result() const {
    return out_;
  }

 private:
  // How many of bundles `from`.. fit into `cap` when filled in order.
  std::size_t greedy_fill(std::size_t from, resource_set cap) const {
    std::size_t result = 0;
    for (auto b = from; b < bs_.size(); ++b)
      if (cap.fits(bs_[b])) {
        cap -= bs_[b];
        ++result;
      }
    return result;
  }

  // Nodes to try for bundle `b`, most preferred first. Pack: nodes in use
  // (in node order), then the node holding most of the remaining bundles.
  // Spread: the nodes with fewest bundles of this group first.
  std::vector<std::size_t> candidates(std::size_t b) const {
    std::vector<std::size_t> order;
    std::vector<std::size_t> score(free_.size(), 0);
    for (std::size_t n = 0; n < free_.size(); ++n) {
      if (!free_[n].fits(bs_[b]))
        continue;
      order.push_back(n);
      if (!pack_)
        score[n] = count_[n];
      else if (count_[n] == 0)
        score[n] = bs_.size() + 1 - greedy_fill(b, free_[n]);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) {
                       return score[x] < score[y];
                     });
    return order;
  }

  search_outcome step(std::size_t b) {
    if (b == bs_.size())
      return search_outcome::found;
    // Nodes left with equal capacity are interchangeable for the rest of
    // the search: try only the first (preferred) of them.
    std::vector<const resource_set*> tried;
    for (auto n : candidates(b)) {
      auto same = [&](const resource_set* x) {
        return *x == free_[n];
      };
      if (std::any_of(tried.begin(), tried.end(), same))
        continue;
      if (++steps_ > search_budget)
        return search_outcome::gave_up;
      tried.push_back(&free_[n]);
      free_[n] -= bs_[b];
      ++count_[n];
      out_[b] = n;
      auto r = step(b + 1);
      free_[n] += bs_[b];
      --count_[n];
      if (r != search_outcome::none)
        return r;
    }
    return search_outcome::none;
  }

  const std::vector<resource_set>& bs_;
  std::vector<resource_set> free_;
  std::vector<std::size_t> count_;
  assignment out_;
  bool pack_;
  std::size_t steps_ = 0;
};

std::pair<search_outcome, assignment>
plan_on(const std::vector<resource_set>& bs, pg_strategy_kind strategy,
        std::vector<resource_set> cs) {
  std::optional<assignment> x;
  switch (strategy) {
  case pg_strategy_kind::strict_pack:
    x = plan_strict_pack(bs, cs);
    break;
  case pg_strategy_kind::strict_spread:
    x = plan_distinct(bs, cs);
    break;
  case pg_strategy_kind::spread:
    x = plan_distinct(bs, cs);
    if (x)
      break;
    [[fallthrough]];
  case pg_strategy_kind::pack: {
    shared_search s{bs, std::move(cs), strategy == pg_strategy_kind::pack};
    auto r = s.run();
    return {r, r == search_outcome::found ? s.result() : assignment{}};
  }
  }
  if (x)
    return {search_outcome::found, std::move(*x)};
  return {search_outcome::none, {}};
}

std::string infeasible_reason(const std::vector<resource_set>& bs,
                              pg_strategy_kind strategy,
                              const std::vector<resource_set>& totals) {
  for (std::size_t b = 0; b < bs.size(); ++b)
    if (std::none_of(totals.begin(), totals.end(), [&](const resource_set& t) {
          return t.fits(bs[b]);
        }))
      return "bundle " + std::to_string(b) + " " + bs[b].to_string() +
             " fits no alive node";
  std::string prefix = strategy_name(strategy);
  switch (strategy) {
  case pg_strategy_kind::strict_pack:
    return prefix + ": the bundles together " + sum_of(bs).to_string() +
           " fit no alive node";
  case pg_strategy_kind::strict_spread:
    if (bs.size() > totals.size())
      return prefix + ": " + std::to_string(bs.size()) +
             " bundles need as many distinct nodes, " +
             std::to_string(totals.size()) + " alive";
    return prefix + ": no alive nodes hold the bundles on distinct nodes";
  default:
    return prefix + ": the bundles together " + sum_of(bs).to_string() +
           " fit no combination of alive nodes";
  }
}

} // namespace

pg_plan_result plan_placement_group(const std::vector<resource_set>& bundles,
                                    pg_strategy_kind strategy,
                                    const std::vector<node_capacity>& nodes) {
  if (bundles.empty())
    throw error("a placement group needs at least one bundle");
  for (std::size_t b = 0; b < bundles.size(); ++b)
    if (bundles[b].empty())
      throw error("placement group bundle " + std::to_string(b) +
                  " is empty; every bundle must reserve some resource");
  std::vector<const node_capacity*> alive;
  std::set<std::string> ids;
  for (auto& n : nodes) {
    if (!n.alive)
      continue;
    if (!ids.insert(n.id).second)
      throw error("placement group planning: duplicate node id '" + n.id + "'");
    alive.push_back(&n);
  }
  std::vector<resource_set> available;
  std::vector<resource_set> totals;
  for (auto* n : alive) {
    available.push_back(n->available);
    totals.push_back(n->total);
  }
  pg_plan_result result;
  auto [now, where] = plan_on(bundles, strategy, std::move(available));
  if (now == search_outcome::found) {
    result.kind = pg_plan_result::placed;
    for (auto n : where)
      result.nodes.push_back(alive[n]->id);
    return result;
  }
  auto idle = plan_on(bundles, strategy, totals).first;
  if (idle == search_outcome::none) {
    result.kind = pg_plan_result::infeasible;
    result.reason = infeasible_reason(bundles, strategy, totals);
    return result;
  }
  result.kind = pg_plan_result::wait;
  result.reason = std::string{strategy_name(strategy)} + ": the bundles " +
                  sum_of(bundles).to_string() +
                  " do not fit the resources available now";
  if (idle == search_outcome::gave_up || now == search_outcome::gave_up)
    result.reason += " (the search for a placement was cut short)";
  return result;
}

std::string bundle_resource_name(const std::string& resource,
                                 const std::string& pg_id, std::size_t index) {
  if (resource.empty())
    throw error("bundle resource name: resource must not be empty");
  if (pg_id.empty())
    throw error("bundle resource name: placement group id must not be empty");
  return resource + "_group_" + std::to_string(index) + "_" + pg_id;
}

resource_set bundle_resources(const resource_set& bundle,
                              const std::string& pg_id, std::size_t index) {
  resource_set result;
  for (auto& [name, amount] : bundle.to_doubles())
    result.set(bundle_resource_name(name, pg_id, index), amount);
  return result;
}

std::string any_bundle_resource_name(const std::string& resource,
                                     const std::string& pg_id) {
  return resource + "_group_" + pg_id;
}

resource_set reserved_bundle(const resource_set& bundle,
                             const std::string& pg_id, std::size_t index) {
  auto result = bundle_resources(bundle, pg_id, index);
  for (auto& [name, amount] : bundle.to_doubles())
    result.set(any_bundle_resource_name(name, pg_id),
               amount + result.get(any_bundle_resource_name(name, pg_id)));
  return result;
}

} // namespace lumen::detail
