// Unit tests of the pieces cancels are made of: the cancel inbox (a
// burst of cancels reaches the scheduler as one batch), the queue's
// remove_if (one pass removes every cancelled task, the rest keep their
// order), and the error a cancelled task ends with.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "lumen/cancel.hpp"
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
  t->function = "f";
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
