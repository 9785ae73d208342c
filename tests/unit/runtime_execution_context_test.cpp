// Unit tests of thread-local execution contexts
// (src/scheduling/execution_context.hpp): context_scope nesting and
// restoration, per-thread isolation, and block_scope's hooks.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scheduling/execution_context.hpp"

using namespace lumen;
using namespace lumen::detail;

TEST_CASE("execution_context: context_scope installs and restores",
          "[runtime][execution_context]") {
  auto* outside = current_context();
  execution_context a;
  execution_context b;
  {
    context_scope sa{&a};
    CHECK(current_context() == &a);
    {
      context_scope sb{&b};
      CHECK(current_context() == &b);
      {
        context_scope none{nullptr}; // hides the outer contexts
        CHECK(current_context() == nullptr);
      }
      CHECK(current_context() == &b);
    }
    CHECK(current_context() == &a);
    {
      context_scope again{&a}; // the same context twice
      CHECK(current_context() == &a);
    }
    CHECK(current_context() == &a);
  }
  CHECK(current_context() == outside);
}

TEST_CASE("execution_context: contexts are per thread",
          "[runtime][execution_context]") {
  execution_context mine;
  context_scope scope{&mine};
  execution_context* seen_there = &mine;
  execution_context* installed_there = nullptr;
  execution_context theirs;
  std::thread other{[&] {
    seen_there = current_context();
    context_scope s{&theirs};
    installed_there = current_context();
  }};
  other.join();
  CHECK(seen_there == nullptr);
  CHECK(installed_there == &theirs);
  CHECK(current_context() == &mine);
}

TEST_CASE("execution_context: a new context starts at counter zero",
          "[runtime][execution_context]") {
  execution_context ctx;
  CHECK(ctx.task.nil());
  CHECK(ctx.child_depth == 0);
  CHECK(ctx.counter.load() == 0);
  CHECK(ctx.counter.fetch_add(1) + 1 == 1);
  CHECK_FALSE(ctx.on_block);
  CHECK_FALSE(ctx.on_unblock);
}

TEST_CASE("execution_context: block_scope calls the hooks around a block",
          "[runtime][execution_context]") {
  std::vector<std::string> events;
  execution_context ctx;
  ctx.on_block = [&] {
    events.push_back("block");
  };
  ctx.on_unblock = [&] {
    events.push_back("unblock");
  };
  context_scope scope{&ctx};
  {
    block_scope blocking;
    CHECK(events == std::vector<std::string>{"block"});
    events.push_back("waiting");
  }
  CHECK(events == std::vector<std::string>{"block", "waiting", "unblock"});
  {
    block_scope outer;
    block_scope inner;
  }
  CHECK(events == std::vector<std::string>{"block", "waiting", "unblock",
                                           "block", "block", "unblock",
                                           "unblock"});
}

TEST_CASE("execution_context: block_scope unblocks the context it blocked",
          "[runtime][execution_context]") {
  std::vector<std::string> events;
  execution_context a;
  a.on_block = [&] {
    events.push_back("a.block");
  };
  a.on_unblock = [&] {
    events.push_back("a.unblock");
  };
  execution_context b;
  b.on_block = [&] {
    events.push_back("b.block");
  };
  b.on_unblock = [&] {
    events.push_back("b.unblock");
  };
  context_scope sa{&a};
  {
    std::optional<block_scope> blocking{std::in_place};
    context_scope sb{&b};
    blocking.reset(); // ends while `b` is installed; the block was `a`'s
  }
  CHECK(events == std::vector<std::string>{"a.block", "a.unblock"});
}

TEST_CASE("execution_context: block_scope without context or hooks does "
          "nothing",
          "[runtime][execution_context]") {
  {
    context_scope none{nullptr};
    block_scope blocking; // must not crash
    CHECK(current_context() == nullptr);
  }
  int unblocks = 0;
  execution_context only_unblock;
  only_unblock.on_unblock = [&] {
    ++unblocks;
  };
  context_scope scope{&only_unblock};
  { block_scope blocking; }
  CHECK(unblocks == 1);
  execution_context no_hooks;
  context_scope inner{&no_hooks};
  { block_scope blocking; }
  CHECK(unblocks == 1);
}
