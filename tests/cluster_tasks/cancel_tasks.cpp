#include "cancel_tasks.hpp"

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include <lumen/cancel.hpp>
#include <lumen/lumen.hpp>

namespace cancel_tasks {

namespace {

void append(const std::string& path, const std::string& line) {
  std::ofstream out{path, std::ios::app};
  out << line << '\n';
  out.flush();
}

} // namespace

std::string spin(std::string path, int max_ms) {
  append(path, "start " + lumen::node_id());
  auto deadline =
    std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  while (!lumen::cancelled() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  append(path, lumen::cancelled() ? "cancelled" : "timeout");
  return lumen::node_id();
}

int mark(std::string path) {
  append(path, "ran");
  return 1;
}

std::string parent(std::string path, int kids, std::string kid_node,
                   int max_ms) {
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < kids; ++i) {
    auto t = lumen::task(spin).num_cpus(0);
    if (!kid_node.empty())
      t.node_affinity(kid_node);
    refs.push_back(t.remote(path + "." + std::to_string(i), max_ms));
  }
  return spin(path, max_ms);
}

Spinner* Spinner::create() {
  return new Spinner;
}

std::string Spinner::spin(std::string path, int max_ms) {
  return cancel_tasks::spin(std::move(path), max_ms);
}

int Spinner::mark(std::string path) {
  return cancel_tasks::mark(std::move(path));
}

} // namespace cancel_tasks

LUMEN_REMOTE(cancel_tasks::spin, cancel_tasks::mark, cancel_tasks::parent);
LUMEN_REMOTE(cancel_tasks::Spinner::create, &cancel_tasks::Spinner::spin,
             &cancel_tasks::Spinner::mark);
