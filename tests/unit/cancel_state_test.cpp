// Unit tests of the pieces cancels are made of: the cancel inbox (a
// burst of cancels reaches the scheduler as one batch), the queue's
// remove_if (one pass removes every cancelled task, the rest keep their
// order), the error a cancelled task ends with, and how a cancel finds an
// actor call's host (the actor's directory slot in the call's entry).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "lumen/cancel.hpp"
#include "objects/object_table.hpp"
#include "scheduling/actor_directory.hpp"
#include "scheduling/cancel_state.hpp"
#include "scheduling/local_scheduler.hpp"
#include "scheduling/resources.hpp"
#include "wire/task_spec.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

task_ptr make_task(std::string name, double cpus = 1) {
  auto t = std::make_shared<task_spec>();
  t->id = task_id::derive(task_id{1, 2}, std::hash<std::string>{}(name));
  t->function = std::string(1, 'f');
  t->options.name = std::move(name);
  t->options.num_cpus = cpus;
  return t;
}

resource_set cpus(double n) {
  resource_set r;
  r.set(cpu_resource, n);
  return r;
}

} // namespace

TEST_CASE("cancel: the inbox tells the scheduler once per batch", "[cancel]") {
  cancel_inbox inbox;
  CHECK(inbox.add({task_id{0, 1}, false, true}));  // first: tell
  CHECK(!inbox.add({task_id{0, 2}, true, false})); // already told
  auto batch = inbox.take();
  REQUIRE(batch.size() == 2);
  CHECK(batch[0].id == task_id{0, 1});
  CHECK(batch[1].force);
  CHECK(!batch[1].recursive);
  CHECK(inbox.take().empty());
  CHECK(inbox.add({task_id{0, 3}, false, true})); // a new batch: tell again
}

TEST_CASE("cancel: remove_if takes cancelled tasks out of the queue in one "
          "pass",
          "[cancel]") {
  local_scheduler s{cpus(2)};
  std::vector<task_ptr> ts;
  for (auto name : {"a", "b", "c", "d", "e"}) {
    ts.push_back(make_task(name));
    REQUIRE(s.enqueue(ts.back()));
  }
  auto huge = make_task("huge", 100); // infeasible: set aside
  CHECK(!s.enqueue(huge));
  auto removed = s.remove_if([](const task_spec& t) {
    return t.options.name == "b" || t.options.name == "d" ||
           t.options.name == "huge";
  });
  CHECK(removed.size() == 3);
  CHECK(s.queued() == 3);
  CHECK(s.infeasible().empty());
  std::vector<std::string> order;
  while (auto t = s.next()) {
    order.push_back(t->options.name);
    s.release(cpus(1));
  }
  CHECK(order == std::vector<std::string>{"a", "c", "e"});
  CHECK(s.available() == cpus(2));
}

TEST_CASE("cancel: a cancelled task's error throws task_cancelled_error",
          "[cancel]") {
  auto err = cancelled_error("train");
  REQUIRE(err->error);
  CHECK(err->error->task_name == "train");
  CHECK_THROWS_AS(throw_error(*err->error), task_cancelled_error);
  CHECK_THROWS_WITH(throw_error(*err->error),
                    Catch::Contains("task 'train' was cancelled"));
  // Outside any task nothing is cancelled.
  CHECK(!lumen::cancelled());
}

namespace {

/// A link that only counts what the directory asks of it.
struct counting_link : actor_link {
  int orphans = 0;
  void call(actor_call_ptr) override {}
  void kill(bool) override {}
  void orphan() override {
    ++orphans;
  }
  void start() override {}
  void close() override {}
  caf::actor host() override {
    return {};
  }
};

actor_spec spec_of(std::uint64_t n) {
  actor_spec s;
  s.id = task_id::derive(task_id{3, 4}, n);
  return s;
}

} // namespace

TEST_CASE("cancel: an actor's directory slot leads a cancel to its link, "
          "and is reused once the actor has gone",
          "[cancel]") {
  actor_directory dir;
  auto a_link = std::make_shared<counting_link>();
  auto b_link = std::make_shared<counting_link>();
  auto a = dir.add(spec_of(1), a_link);
  auto b = dir.add(spec_of(2), b_link);
  auto a_slot = actor_directory::slot_of(a.get());
  auto b_slot = actor_directory::slot_of(b.get());
  CHECK(a_slot != 0);
  CHECK(b_slot != 0);
  CHECK(a_slot != b_slot);
  CHECK(dir.link_at(a_slot) == a_link);
  CHECK(dir.link_at(b_slot) == b_link);
  CHECK(dir.link_at(0) == nullptr);
  CHECK(dir.link_at(1000) == nullptr);
  // The last handle goes: the slot is free, then taken by the next actor.
  a = ref_ptr{};
  CHECK(a_link->orphans == 1);
  CHECK(dir.link_at(a_slot) == nullptr);
  auto c_link = std::make_shared<counting_link>();
  auto c = dir.add(spec_of(3), c_link);
  CHECK(actor_directory::slot_of(c.get()) == a_slot);
  CHECK(dir.link_at(a_slot) == c_link);
  CHECK(dir.link_at(b_slot) == b_link);
}

TEST_CASE("cancel: an actor call's return entry keeps its actor's slot, "
          "a task's return entry none",
          "[cancel]") {
  object_table table{1 << 20};
  auto call = table.create_pending(object_id{task_id{5, 6}, 1});
  auto task = table.create_pending(object_id{task_id{7, 8}, 1});
  table.set_actor_slot(call.get(), 42);
  CHECK(table.actor_slot(call.get()) == 42);
  CHECK(table.actor_slot(task.get()) == 0);
}
