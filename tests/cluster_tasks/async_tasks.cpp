// The functions behind async_tasks.hpp, registered with LUMEN_REMOTE.
#include "async_tasks.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <lumen/cluster.hpp>
#include <lumen/objects.hpp>
#include <lumen/remote.hpp>
#include <lumen/runtime_context.hpp>
#include <lumen/task.hpp>

namespace async_tasks {

std::int64_t slow_value(std::int64_t v, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return v;
}

std::int64_t failing_value(std::string msg) {
  throw std::runtime_error(msg);
}

std::string node_of() {
  return lumen::node_id();
}

Waiter* Waiter::create() {
  return new Waiter;
}

lumen::async<std::int64_t> Waiter::add_to(lumen::object_ref<std::int64_t> r,
                                          std::int64_t add) {
  std::int64_t v = co_await r;
  co_return v + add;
}

lumen::async<std::int64_t> Waiter::via_task(std::int64_t v, int ms) {
  co_return co_await lumen::task(slow_value).remote(v, ms);
}

lumen::async<std::string> Waiter::nap(int ms) {
  co_await lumen::sleep_for(std::chrono::milliseconds(ms));
  co_return lumen::node_id();
}

lumen::async<std::vector<std::string>> Waiter::context_after(int ms) {
  co_await lumen::sleep_for(std::chrono::milliseconds(ms));
  auto c = lumen::context();
  std::string cpu;
  if (auto i = c.resources.find("CPU"); i != c.resources.end())
    cpu = "CPU=" + std::to_string(i->second);
  co_return std::vector<std::string>{c.actor_id.to_string(), c.ns, cpu};
}

lumen::async<std::string> Waiter::relay(lumen::actor_handle<Waiter> other,
                                        int ms) {
  std::string theirs = co_await other.task(&Waiter::nap).remote(ms);
  co_return lumen::node_id() + "/" + theirs;
}

lumen::async<int> Waiter::track(int ms) {
  ++in_flight;
  max_in_flight = std::max(max_in_flight, in_flight);
  co_await lumen::sleep_for(std::chrono::milliseconds(ms));
  --in_flight;
  co_return max_in_flight;
}

int Waiter::peak() const {
  return max_in_flight;
}

lumen::async<int> Waiter::fail_after(int ms, std::string msg) {
  co_await lumen::sleep_for(std::chrono::milliseconds(ms));
  throw std::domain_error(msg);
}

lumen::async<std::string>
Waiter::catch_failure(lumen::object_ref<std::int64_t> r) {
  try {
    co_await r;
  } catch (const lumen::error& e) {
    co_return std::string("caught: ") + e.what();
  }
  co_return "not caught";
}

std::string Waiter::catch_failure_sync(lumen::object_ref<std::int64_t> r) {
  try {
    lumen::get(r);
  } catch (const lumen::error& e) {
    return std::string("caught: ") + e.what();
  }
  return "not caught";
}

lumen::async<int> Waiter::then_inside(std::int64_t v, int ms) {
  lumen::task(slow_value)
    .remote(v, ms)
    .then([this](lumen::outcome<std::int64_t> o) {
      then_value = o.value();
    });
  co_return 1;
}

std::int64_t Waiter::then_seen() const {
  return then_value;
}

lumen::async<int> Waiter::quit_after(int ms) {
  co_await lumen::sleep_for(std::chrono::milliseconds(ms));
  lumen::exit_actor();
}

lumen::async<std::string> Waiter::append(std::string x, int ms) {
  co_await lumen::sleep_for(std::chrono::milliseconds(ms));
  log += x;
  co_return log;
}

} // namespace async_tasks

LUMEN_REMOTE(async_tasks::slow_value, async_tasks::failing_value,
             async_tasks::node_of);
LUMEN_REMOTE(async_tasks::Waiter::create, &async_tasks::Waiter::add_to,
             &async_tasks::Waiter::via_task, &async_tasks::Waiter::nap,
             &async_tasks::Waiter::context_after, &async_tasks::Waiter::relay,
             &async_tasks::Waiter::track, &async_tasks::Waiter::peak,
             &async_tasks::Waiter::fail_after,
             &async_tasks::Waiter::catch_failure,
             &async_tasks::Waiter::catch_failure_sync,
             &async_tasks::Waiter::append, &async_tasks::Waiter::then_inside,
             &async_tasks::Waiter::then_seen, &async_tasks::Waiter::quit_after);
