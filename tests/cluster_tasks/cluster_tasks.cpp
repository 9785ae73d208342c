// The functions behind cluster_tasks.hpp, registered with LUMEN_REMOTE.
#include "cluster_tasks.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <lumen/lumen.hpp>

namespace cluster_tasks {

std::string where(int x) {
  return lumen::node_id() + ":" + std::to_string(x);
}

std::vector<char> make_blob(std::int64_t n, int seed) {
  std::vector<char> result(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    result[static_cast<std::size_t>(i)] =
      static_cast<char>((i * 31 + seed) % 251);
  return result;
}

std::string check_blob(std::vector<char> blob, std::int64_t n, int seed) {
  bool ok = static_cast<std::int64_t>(blob.size()) == n;
  for (std::int64_t i = 0; ok && i < n; ++i)
    ok = blob[static_cast<std::size_t>(i)] ==
         static_cast<char>((i * 31 + seed) % 251);
  return lumen::node_id() + (ok ? ":ok" : ":corrupt");
}

std::string nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return lumen::node_id();
}

std::string mark_and_nap(std::string path, int ms) {
  {
    std::ofstream out{path, std::ios::app};
    out << lumen::node_id() << '\n' << std::flush;
    if (!out)
      throw std::runtime_error("mark_and_nap: cannot append to " + path);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return lumen::node_id();
}

Tally* Tally::create(int start) {
  return new Tally{start};
}

int Tally::add(int x) {
  return total += x;
}

std::string Tally::node() {
  return lumen::node_id();
}

bool Tally::restarted() {
  return lumen::was_current_actor_restarted();
}

long long Tally::add_text(std::string text) {
  chars += static_cast<long long>(text.size());
  return chars;
}

Relay* Relay::create(std::vector<lumen::actor_handle<Tally>> tallies) {
  return new Relay{std::move(tallies)};
}

int Relay::take(std::vector<lumen::actor_handle<Tally>> more) {
  tallies.insert(tallies.end(), more.begin(), more.end());
  return static_cast<int>(tallies.size());
}

int Relay::drop() {
  auto n = static_cast<int>(tallies.size());
  tallies.clear();
  return n;
}

int Relay::bump(int x) {
  return bump_all(tallies, x);
}

int bump_named(std::string name, int x) {
  auto h = lumen::get_actor<Tally>(name, "it");
  if (!h)
    throw std::runtime_error("no actor named " + name);
  return lumen::get(h->task(&Tally::add).remote(x));
}

std::vector<std::int64_t> chain_start(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::int64_t>(i);
  return v;
}

std::vector<std::int64_t> chain_step(std::vector<std::int64_t> v,
                                     std::int64_t k) {
  for (auto& x : v)
    x += k;
  return v;
}

std::int64_t chain_sum(std::vector<std::int64_t> v) {
  std::int64_t sum = 0;
  for (auto x : v)
    sum += x;
  return sum;
}

int bump_handle(lumen::actor_handle<Tally> h, int x) {
  return lumen::get(h.task(&Tally::add).remote(x));
}

int bump_all(std::vector<lumen::actor_handle<Tally>> hs, int x) {
  std::vector<lumen::object_ref<int>> calls;
  for (auto& h : hs)
    calls.push_back(h.task(&Tally::add).remote(x));
  int sum = 0;
  for (auto v : lumen::get(calls))
    sum += v;
  return sum;
}

} // namespace cluster_tasks

LUMEN_REMOTE(cluster_tasks::where, cluster_tasks::make_blob,
             cluster_tasks::check_blob, cluster_tasks::nap,
             cluster_tasks::bump_named, cluster_tasks::bump_handle,
             cluster_tasks::chain_start, cluster_tasks::chain_step,
             cluster_tasks::chain_sum, cluster_tasks::bump_all,
             cluster_tasks::mark_and_nap);
LUMEN_REMOTE(cluster_tasks::Tally::create, &cluster_tasks::Tally::add,
             &cluster_tasks::Tally::node, &cluster_tasks::Tally::restarted,
             &cluster_tasks::Tally::add_text);
LUMEN_REMOTE(cluster_tasks::Relay::create, &cluster_tasks::Relay::bump,
             &cluster_tasks::Relay::take, &cluster_tasks::Relay::drop);
