// pg_board: the placement group states a GCS publishes for its process.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "gcs/pg_board.hpp"

using namespace std::chrono_literals;
using lumen::detail::pg_board;

TEST_CASE("pg board: wait answers from the states the GCS sets",
          "[cluster][pg]") {
  pg_board b;
  // Unknown: false at once, whatever the timeout.
  CHECK_FALSE(b.wait("x", 10s));
  b.set("x", false);
  CHECK_FALSE(b.wait("x", 10ms)); // pending: runs out
  b.set("x", true);
  CHECK(b.wait("x", 0ms));
  b.erase("x");
  CHECK_FALSE(b.wait("x", 10s));
  CHECK(b.size() == 0);
}

TEST_CASE("pg board: a waiter wakes when its group is placed or removed",
          "[cluster][pg]") {
  pg_board b;
  b.announce("a");
  b.announce("b");
  bool placed = false;
  bool removed = true;
  std::thread wa{[&] {
    placed = b.wait("a", std::chrono::nanoseconds::max());
  }};
  std::thread wb{[&] {
    removed = b.wait("b", 60s);
  }};
  std::this_thread::sleep_for(20ms);
  b.set("a", true);
  b.erase("b");
  wa.join();
  wb.join();
  CHECK(placed);
  CHECK_FALSE(removed);
}

TEST_CASE("pg board: a withdrawn group stays gone until the GCS removes it",
          "[cluster][pg]") {
  pg_board b;
  b.announce("g");
  b.withdraw("g");
  // The GCS handles the create that came before the remove...
  b.set("g", false);
  b.set("g", true);
  CHECK_FALSE(b.wait("g", 0ms));
  // ...then the remove: forgotten.
  b.erase("g");
  CHECK(b.size() == 0);
  // An announce does not undo what the GCS already said.
  b.set("h", true);
  b.announce("h");
  CHECK(b.wait("h", 0ms));
}

TEST_CASE("pg board: close ends every wait", "[cluster][pg]") {
  pg_board b;
  b.set("p", false);
  bool answer = true;
  std::thread w{[&] {
    answer = b.wait("p", std::chrono::nanoseconds::max());
  }};
  std::this_thread::sleep_for(20ms);
  b.close();
  w.join();
  CHECK_FALSE(answer);
  b.set("q", true);
  CHECK_FALSE(b.wait("q", 0ms));
}
