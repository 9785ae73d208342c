// Unit tests of how `lumen status` shows a cluster_status.
#include <catch2/catch.hpp>

#include <string>

#include "cli/status_format.hpp"

using namespace lumen::cli;
using Catch::Matchers::Contains;

TEST_CASE("cli: amounts and byte counts read well", "[cli]") {
  CHECK(format_amount(2) == "2");
  CHECK(format_amount(0) == "0");
  CHECK(format_amount(0.5) == "0.5");
  CHECK(format_amount(1.25) == "1.25");
  CHECK(format_amount(1.0 / 3) == "0.333");
  CHECK(format_amount(-0.0001) == "0");
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(2ull << 30) == "2.0 GiB");
}

TEST_CASE("cli: status shows nodes, resources, demand and actors", "[cli]") {
  lumen::detail::cluster_status st;
  lumen::detail::node_record head;
  head.id = "node-a";
  head.address = "127.0.0.1:6390";
  head.alive = true;
  head.head = true;
  head.total = {{"CPU", 4}, {"ssd", 1}, {"acc", 0.5}};
  head.available = {{"CPU", 2.5}, {"ssd", 1}, {"acc", 0}};
  head.object_store_used = 1 << 20;
  head.object_store_capacity = 2ull << 30;
  lumen::detail::node_record worker;
  worker.id = "node-b";
  worker.address = "127.0.0.1:41000";
  worker.alive = true;
  worker.total = {{"CPU", 2}};
  worker.available = {{"CPU", 1}};
  worker.object_store_used = 512;
  worker.object_store_capacity = 1ull << 30;
  lumen::detail::node_record dead;
  dead.id = "node-c";
  dead.address = "127.0.0.1:41001";
  dead.alive = false;
  dead.total = {{"CPU", 8}};
  st.nodes = {head, worker, dead};
  st.infeasible = {{"{CPU: 64}", 2}, {"{gpu: 1}", 1}};
  st.actors = {{"dead", 1}, {"alive", 3}, {"pending", 2}, {"odd", 4}};
  auto text = format_status(st, "127.0.0.1:6390");
  INFO(text);
  CHECK_THAT(text, Contains("Cluster at 127.0.0.1:6390: 3 nodes, 2 alive, "
                            "1 dead"));
  CHECK_THAT(text, Contains("alive  node-a  127.0.0.1:6390   head"));
  CHECK_THAT(text, Contains("alive  node-b  127.0.0.1:41000  worker"));
  CHECK_THAT(text, Contains("dead   node-c  127.0.0.1:41001  worker"));
  // CPU first, then the others by name.
  CHECK_THAT(text, Contains("resources     CPU 1.5/4, acc 0.5/0.5, ssd 0/1 "
                            "(used/total)"));
  CHECK_THAT(text, Contains("object store  1.0 MiB of 2.0 GiB"));
  CHECK_THAT(text, Contains("object store  512 B of 1.0 GiB"));
  // Sums count alive nodes only.
  CHECK_THAT(text, Contains("  CPU  2.5/6\n  acc  0.5/0.5\n  ssd  0/1\n"));
  CHECK_THAT(text, Contains("Object store: 1.0 MiB of 3.0 GiB"));
  CHECK_THAT(text, Contains("Pending demand no node can meet:\n"
                            "  {CPU: 64}: 2 waiting\n  {gpu: 1}: 1 waiting"));
  CHECK_THAT(text, Contains("Actors: 3 alive, 2 pending, 1 dead, 4 odd"));
  // The dead node's resources are not listed.
  CHECK(text.find("CPU 0/8") == std::string::npos);
}

TEST_CASE("cli: status of an empty cluster", "[cli]") {
  lumen::detail::cluster_status st;
  auto text = format_status(st, "h:1");
  INFO(text);
  CHECK_THAT(text, Contains("Cluster at h:1: 0 nodes, 0 alive, 0 dead"));
  CHECK_THAT(text, Contains("Resources (used/total, alive nodes):\n  none"));
  CHECK_THAT(text, Contains("Pending demand no node can meet: none"));
  CHECK_THAT(text, Contains("Actors: none"));
}

TEST_CASE("cli: status shows a resource all in use as used, and who holds it",
          "[cli]") {
  lumen::detail::cluster_status st;
  lumen::detail::node_record worker;
  worker.id = "node-w";
  worker.address = "127.0.0.1:41000";
  worker.total = {{"CPU", 2}, {"ssd", 1}};
  // Zero is zero: a name missing from the available map is not free.
  worker.available = {{"CPU", 0}};
  worker.held["job-dead"] = {1, {{"CPU", 1}}};
  worker.held["job-live"] = {2, {{"CPU", 1}, {"ssd", 1}}};
  lumen::detail::node_record gone;
  gone.id = "job-dead";
  gone.driver = true;
  gone.alive = false;
  gone.started_ms = 1'769'860'800'000; // 2026-01-31 12:00:00 UTC
  gone.ended_ms = gone.started_ms + 90'000;
  lumen::detail::node_record live; // from a GCS that did not record it
  live.id = "job-live";
  live.driver = true;
  st.nodes = {worker, gone, live};
  auto text = format_status(st, "h:1");
  INFO(text);
  CHECK_THAT(text, Contains("resources     CPU 2/2, ssd 1/1 (used/total)"));
  CHECK_THAT(text, Contains("  CPU  2/2\n  ssd  1/1\n"));
  CHECK_THAT(text, Contains("running       1 task of job job-dead (driver "
                            "dead) holds CPU 1\n"));
  CHECK_THAT(text, Contains("running       2 tasks of job job-live (driver "
                            "alive) hold CPU 1, ssd 1\n"));
  CHECK_THAT(text, Contains("Held by running tasks, by job (the driver that "
                            "submitted them):\n"
                            "  job-dead (driver dead): 1 task holds CPU 1\n"
                            "  job-live (driver alive): 2 tasks hold CPU 1, "
                            "ssd 1\n"
                            "  (a dead driver's tasks were cancelled when it "
                            "ended; each holds what it took until its code "
                            "returns: threads are never killed)\n"));
  CHECK_THAT(text, Contains("Jobs (drivers):\n"
                            "  job-dead  finished, 2026-01-31 12:00:00 UTC to "
                            "2026-01-31 12:01:30 UTC\n"
                            "  job-live  running since ?\n"));
}
