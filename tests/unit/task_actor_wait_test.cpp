// A task actor whose argument is not ready yet waits for it on the object
// table (actors/task_actor.hpp, step 1): it runs the call once the value
// comes, and a waiting actor that is stopped does not stay alive through
// the table's listener (which would keep its task, and the task's ref to
// the very entry it waits on, for ever).
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <lumen/codec.hpp>
#include <lumen/remote.hpp>

#include "actors/task_actor.hpp"
#include "objects/object_table.hpp"
#include "scheduling/worker_pool.hpp"
#include "wire/task_spec.hpp"

namespace task_actor_wait_test {

int plus_one(int x) {
  return x + 1;
}

} // namespace task_actor_wait_test

LUMEN_REMOTE(task_actor_wait_test::plus_one);

namespace {

using namespace lumen;
using namespace lumen::detail;

/// A task calling plus_one on the value of `arg`, returning into `ret`.
task_ptr plus_one_task(const ref_ptr& arg, const object_id& ret) {
  auto t = std::make_shared<task_spec>();
  t->id = task_id{0x51, 7};
  t->function = "task_actor_wait_test::plus_one";
  t->options.name = "plus_one";
  t->args.push_back(task_arg{nullptr, arg});
  t->return_id = ret;
  return t;
}

/// Waits (bounded) until `f` holds.
template <class F>
bool eventually(F f) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace

TEST_CASE("task actor: runs the call once an argument it waited for comes",
          "[task_actor]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{2});
  caf::actor_system sys{cfg};
  object_table table{1 << 20};
  worker_pool pool{1};
  object_id arg_id{task_id{0x51, 1}, 1};
  object_id ret_id{task_id{0x51, 7}, 1};
  auto arg = table.create_pending(arg_id);
  auto ret = table.create_pending(ret_id);
  REQUIRE(find_function("task_actor_wait_test::plus_one") != nullptr);
  caf::scoped_actor self{sys};
  auto* w = pool.acquire();
  auto actor = spawn_task_actor(self.ptr(), plus_one_task(arg, ret_id), w,
                                &table, scheduler_actor{});
  CHECK_FALSE(table.ready(ret.get()));
  table.fulfill(arg_id, std::make_shared<object_data>(to_object(41)));
  auto got =
    table.wait({ret.get()}, 1,
               std::chrono::steady_clock::now() + std::chrono::seconds(30));
  REQUIRE(got[0]);
  REQUIRE_FALSE(got[0]->error);
  CHECK(from_object<int>(*got[0]) == 42);
  pool.release(w);
  pool.stop();
}

TEST_CASE("task actor: one stopped while it waits for an argument is freed",
          "[task_actor]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{2});
  caf::actor_system sys{cfg};
  object_table table{1 << 20};
  object_id arg_id{task_id{0x52, 1}, 1};
  // The value never comes to this node: the entry stays pending.
  auto arg = table.create_pending(arg_id);
  auto task = plus_one_task(arg, object_id{task_id{0x52, 7}, 1});
  std::weak_ptr<task_spec> weak_task = task;
  caf::scoped_actor self{sys};
  // No worker: the actor waits before it needs one.
  auto actor = spawn_task_actor(self.ptr(), std::move(task), nullptr, &table,
                                scheduler_actor{});
  self->monitor(actor);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  bool down = false;
  self->receive(
    [&](const caf::down_msg&) {
      down = true;
    },
    caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(down);
  actor = nullptr;
  // Nothing holds the actor now but what the table keeps for the pending
  // entry: its task (and so its ref to this entry) must go.
  CHECK(eventually([&] {
    return weak_task.expired();
  }));
}
