// The functions behind context_tasks.hpp.
#include "context_tasks.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>

#include <caf/scoped_actor.hpp>

#include <lumen/lumen.hpp>

namespace context_tasks {

std::vector<std::string> info() {
  auto c = lumen::context();
  std::vector<std::string> result{c.job_id.to_string(),
                                  c.task_id.to_string(),
                                  c.in_actor() ? c.actor_id.to_string()
                                               : std::string{},
                                  c.node_id,
                                  c.ns,
                                  c.was_actor_restarted() ? "restarted" : ""};
  for (auto& [name, amount] : c.resources)
    result.push_back(name + "=" + std::to_string(amount));
  return result;
}

std::vector<std::string> child_info() {
  return lumen::get(lumen::task(info).remote(), std::chrono::seconds(60));
}

std::string make_named_probe(std::string name) {
  auto p = lumen::actor(Probe::create).name(name).detached().remote();
  return lumen::get(p.task(&Probe::node).remote(), std::chrono::seconds(60));
}

bool probe_visible(std::string name) {
  return lumen::get_actor<Probe>(name).has_value();
}

int add_via_native(std::string name, int a, int b) {
  auto h = lumen::get_native_actor<native_adder>(name);
  if (!h)
    return -1;
  return ask_native(*h, a, b);
}

int fail_with(std::string path, int kind) {
  {
    std::ofstream out{path, std::ios::app};
    out << "run\n";
  }
  if (kind == 1)
    throw std::invalid_argument("kind 1");
  if (kind == 2)
    throw std::out_of_range("kind 2");
  throw std::logic_error("other kind");
}

Probe* Probe::create() {
  return new Probe;
}

std::vector<std::string> Probe::info() {
  return context_tasks::info();
}

int Probe::fail() {
  throw std::runtime_error("probe failed");
}

std::string Probe::node() {
  return lumen::node_id();
}

native_adder::behavior_type make_native_adder(int offset) {
  return {
    [offset](int x, int y) {
      return x + y + offset;
    },
    [](where_atom) {
      return lumen::node_id();
    },
  };
}

int ask_native(const native_adder& a, int x, int y) {
  lumen::detail::caf_thread_guard guard;
  caf::scoped_actor self{lumen::detail::native_system()};
  int result = -1;
  self->request(a, std::chrono::seconds(30), x, y)
    .receive(
      [&](int r) {
        result = r;
      },
      [&](caf::error&) {});
  return result;
}

std::string native_node(const native_adder& a) {
  lumen::detail::caf_thread_guard guard;
  caf::scoped_actor self{lumen::detail::native_system()};
  std::string result;
  self->request(a, std::chrono::seconds(30), where_atom::value)
    .receive(
      [&](std::string& r) {
        result = std::move(r);
      },
      [&](caf::error&) {});
  return result;
}

} // namespace context_tasks

LUMEN_REMOTE(context_tasks::info, context_tasks::child_info,
             context_tasks::make_named_probe, context_tasks::probe_visible,
             context_tasks::add_via_native, context_tasks::fail_with);
LUMEN_REMOTE(context_tasks::Probe::create, &context_tasks::Probe::info,
             &context_tasks::Probe::fail, &context_tasks::Probe::node);
LUMEN_NATIVE(context_tasks::native_adder, context_tasks::make_native_adder);
