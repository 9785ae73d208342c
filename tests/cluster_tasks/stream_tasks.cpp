// The functions behind stream_tasks.hpp, registered with LUMEN_REMOTE.
#include "stream_tasks.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <lumen/lumen.hpp>

#include "cluster_tasks.hpp"

namespace stream_tasks {

namespace {

void append_line(const std::string& path, const std::string& line) {
  if (path.empty())
    return;
  std::ofstream out{path, std::ios::app};
  out << line << '\n';
  out.flush();
}

void nap(int ms) {
  if (ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

} // namespace

std::tuple<int, std::string, std::vector<char>> split3(int x,
                                                       std::int64_t blob) {
  return {x * 2, lumen::node_id(), cluster_tasks::make_blob(blob, x)};
}

std::pair<int, int> divmod(int a, int b) {
  if (b == 0)
    throw std::domain_error("divmod by zero");
  return {a / b, a % b};
}

std::pair<int, std::string> nap_pair(std::string path, int ms, int x) {
  append_line(path, lumen::node_id());
  nap(ms);
  return {x, lumen::node_id()};
}

lumen::generator<std::int64_t> count_to(std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    co_yield i;
}

lumen::generator<std::string> count_marked(std::string path, std::int64_t n,
                                           int ms) {
  auto node = lumen::node_id();
  for (std::int64_t i = 0; i < n; ++i) {
    append_line(path, std::to_string(i));
    co_yield node + ":" + std::to_string(i);
    nap(ms);
  }
}

lumen::generator<int> throw_after(int n) {
  for (int i = 0; i < n; ++i)
    co_yield i;
  throw std::runtime_error("boom after " + std::to_string(n));
}

lumen::generator<std::int64_t> count_noted(std::string path, std::int64_t n,
                                           int ms) {
  append_line(path, lumen::node_id());
  for (std::int64_t i = 0; i < n; ++i) {
    co_yield i;
    nap(ms);
  }
}

Splitter* Splitter::create(int base) {
  return new Splitter{base};
}

std::tuple<int, std::string> Splitter::both(int x) {
  return {base + x, lumen::node_id()};
}

lumen::generator<int> Splitter::upto(int n) {
  for (int i = 0; i < n; ++i)
    co_yield base + i;
}

lumen::generator<std::string> Splitter::marked(std::string path,
                                               std::int64_t n) {
  auto node = lumen::node_id();
  for (std::int64_t i = 0; i < n; ++i) {
    append_line(path, std::to_string(i));
    co_yield node + ":" + std::to_string(i);
  }
}

std::int64_t sum_upto(lumen::actor_handle<Splitter> a, int n) {
  std::int64_t sum = 0;
  for (auto ref : a.task(&Splitter::upto).max_unconsumed(8).remote(n))
    sum += lumen::get(ref);
  return sum;
}

std::size_t count_lines(const std::string& path) {
  std::ifstream in{path};
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    ++n;
  return n;
}

} // namespace stream_tasks

LUMEN_REMOTE(stream_tasks::split3, stream_tasks::divmod, stream_tasks::nap_pair,
             stream_tasks::count_to, stream_tasks::count_marked,
             stream_tasks::throw_after, stream_tasks::count_noted,
             stream_tasks::sum_upto);
LUMEN_REMOTE(stream_tasks::Splitter::create, &stream_tasks::Splitter::both,
             &stream_tasks::Splitter::upto, &stream_tasks::Splitter::marked);
