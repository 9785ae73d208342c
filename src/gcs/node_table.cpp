// The GCS's node table.
#include "gcs/node_table.hpp"

#include <algorithm>
#include <chrono>

namespace lumen::detail {

namespace {

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
}

bool same_state(const node_record& x, const node_record& y) {
  return x.address == y.address && x.head == y.head && x.driver == y.driver &&
         x.total == y.total && x.available == y.available &&
         x.object_store_used == y.object_store_used &&
         x.object_store_capacity == y.object_store_capacity &&
         x.infeasible == y.infeasible && x.actors == y.actors &&
         x.task_executions == y.task_executions &&
         x.task_actors_spawned == y.task_actors_spawned && x.held == y.held;
}

} // namespace

bool node_table::update(node_record rec, clock::time_point now) {
  auto i = rows_.find(rec.id);
  if (i == rows_.end()) {
    rec.alive = true;
    rec.started_ms = unix_ms();
    rec.ended_ms = 0;
    auto id = rec.id;
    rows_.emplace(id, row{std::move(rec), now, next_order_++});
    ++version_;
    return true;
  }
  auto& r = i->second;
  if (!r.rec.alive)
    return false;
  r.last_seen = now;
  rec.alive = true;
  rec.started_ms = r.rec.started_ms; // the GCS's, not the node's
  rec.ended_ms = 0;
  if (!same_state(r.rec, rec)) {
    r.rec = std::move(rec);
    ++version_;
  }
  return true;
}

void node_table::restore(node_record rec, std::uint64_t order,
                         clock::time_point now) {
  if (rows_.count(rec.id) > 0)
    return;
  if (!rec.alive) {
    rec.available.clear();
    rec.infeasible.clear();
    rec.held.clear();
  }
  auto id = rec.id;
  rows_.emplace(id, row{std::move(rec), now, order});
  next_order_ = std::max(next_order_, order + 1);
  ++version_;
}

const node_record* node_table::find(const std::string& id) const {
  auto i = rows_.find(id);
  return i == rows_.end() ? nullptr : &i->second.rec;
}

std::uint64_t node_table::order(const std::string& id) const {
  auto i = rows_.find(id);
  return i == rows_.end() ? 0 : i->second.order;
}

bool node_table::mark_dead(const std::string& id) {
  auto i = rows_.find(id);
  if (i == rows_.end() || !i->second.rec.alive)
    return false;
  auto& rec = i->second.rec;
  rec.alive = false;
  rec.ended_ms = unix_ms();
  rec.available.clear();
  rec.infeasible.clear();
  rec.held.clear();
  ++version_;
  return true;
}

std::vector<std::string> node_table::expire(clock::time_point now,
                                            std::chrono::milliseconds timeout) {
  std::vector<std::string> result;
  for (auto& [id, r] : rows_)
    if (r.rec.alive && now - r.last_seen > timeout)
      result.push_back(id);
  return result;
}

bool node_table::alive(const std::string& id) const {
  auto i = rows_.find(id);
  return i != rows_.end() && i->second.rec.alive;
}

std::vector<const node_record*> node_table::records() const {
  std::vector<const row*> rows;
  for (auto& kv : rows_)
    rows.push_back(&kv.second);
  std::sort(rows.begin(), rows.end(), [](const row* x, const row* y) {
    return x->order < y->order;
  });
  std::vector<const node_record*> result;
  result.reserve(rows.size());
  for (auto* r : rows)
    result.push_back(&r->rec);
  return result;
}

cluster_view node_table::view() const {
  std::vector<const row*> rows;
  for (auto& kv : rows_)
    rows.push_back(&kv.second);
  std::sort(rows.begin(), rows.end(), [](const row* x, const row* y) {
    return x->order < y->order;
  });
  cluster_view result;
  result.version = version_;
  for (auto* r : rows)
    result.nodes.push_back(r->rec);
  return result;
}

} // namespace lumen::detail
