// The cluster token between real node processes on 127.0.0.1 (no TLS: a
// loopback cluster may use a token alone): nodes and drivers with a wrong
// or missing token stay out, a peer that skips the hello cannot use the
// GCS, and a node refuses to listen beyond loopback without TLS.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sys/stat.h>

#include <caf/scoped_actor.hpp>

#include "actors/cluster_link.hpp"
#include "cluster_support.hpp"
#include "cluster_tasks.hpp"
#include "security_support.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// A token file `name` in `dir` holding `token`, mode 600.
std::string token_file(const std::string& dir, const std::string& name,
                       const std::string& token) {
  auto path = dir + "/" + name;
  std::ofstream{path} << token << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

constexpr const char* right_token = "right-token-0123456789abcdef";
constexpr const char* wrong_token = "wrong-token-0123456789abcdef";

/// Asks `gate` for the cluster view; the error's text, or "" once it
/// answered.
std::string ask_view(caf::actor_system& sys,
                     const lumen::gated_gcs_actor& gate) {
  caf::scoped_actor self{sys};
  std::string why = "no answer";
  self->request(gate, 10s, lumen::view_atom::value)
    .receive(
      [&](const std::vector<char>& view) {
        why = view.empty() ? "an empty view" : "";
      },
      [&](const caf::error& err) {
        why = sys.render(err);
      });
  return why;
}

/// Says hello with `token`; (accepted, reason).
std::pair<bool, std::string> hello(caf::actor_system& sys,
                                   const lumen::door_actor& door,
                                   const std::string& token) {
  caf::scoped_actor self{sys};
  std::pair<bool, std::string> result{false, "no answer"};
  self->request(door, 10s, lumen::hello_atom::value, token)
    .receive(
      [&](bool accepted, const std::string& reason) {
        result = {accepted, reason};
      },
      [&](const caf::error& err) {
        result.second = sys.render(err);
      });
  return result;
}

} // namespace

TEST_CASE("token: a node or driver with a wrong or missing token cannot "
          "join",
          "[token]") {
  security_it::temp_dir tmp;
  auto right = token_file(tmp.path, "right", right_token);
  auto wrong = token_file(tmp.path, "wrong", wrong_token);
  cluster_it::test_cluster cluster{0, 1, {}, "", "--token-file " + right};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  auto join = [&](const std::string& extra) {
    return cluster.cli("start --address " + cluster.address() +
                       " --runtime-dir " + cluster.dir() +
                       " --num-cpus 1 --load " + LUMEN_CLUSTER_TASKS_LIB +
                       extra);
  };
  {
    auto [status, out] = join(" --token-file " + wrong);
    CHECK(status != 0);
    CHECK_THAT(out, Contains("did not admit this node"));
    CHECK_THAT(out, Contains("wrong cluster token"));
    CHECK_THAT(out, Contains("LUMEN_TOKEN"));
    CHECK(
      security_it::wait_for_log(cluster.dir(), "head", "wrong cluster token"));
    CHECK_THAT(security_it::logs(cluster.dir(), "head"),
               Contains("lumen: refused node"));
  }
  {
    auto [status, out] = join("");
    CHECK(status != 0);
    CHECK_THAT(out, Contains("this cluster requires a token and none was "
                             "given"));
    CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                    "requires a token and none was given"));
  }
  CHECK_THROWS_WITH(lumen::init(lumen::config{.address = cluster.address(),
                                              .token = wrong_token}),
                    Contains("wrong cluster token"));
  CHECK_FALSE(lumen::is_initialized());
  // The right token joins, by file, and a driver by its config.
  {
    auto [status, out] = join(" --token-file " + right);
    INFO(out);
    REQUIRE(status == 0);
  }
  lumen::init_guard g{
    lumen::config{.address = cluster.address(), .token = right_token}};
  REQUIRE(cluster_it::test_cluster::wait_for_nodes(2));
  std::vector<lumen::object_ref<std::string>> refs;
  for (int i = 0; i < 10; ++i)
    refs.push_back(lumen::task(cluster_tasks::where).spread().remote(i));
  CHECK(lumen::get(refs, 60s).size() == 10);
  std::size_t alive = 0;
  for (auto& n : lumen::nodes())
    alive += n.alive && !n.driver ? 1 : 0;
  CHECK(alive == 2); // the refused nodes never joined
}

TEST_CASE("token: a peer without the token cannot use the GCS or a node",
          "[token]") {
  security_it::temp_dir tmp;
  auto right = token_file(tmp.path, "right", right_token);
  cluster_it::test_cluster cluster{
    1, 1, {"--token-file " + right}, "", "--token-file " + right};
  cluster_it::watchdog dog{cluster, std::chrono::seconds(240)};
  std::string worker_address;
  for (auto& f : cluster.nodes())
    if (f.at("role") == "worker")
      worker_address = f.at("address");
  REQUIRE(!worker_address.empty());
  security_it::raw_client stranger;
  auto& sys = stranger.sys();
  // The head's port offers the GCS behind its gatekeeper ...
  auto gate = stranger.connect<lumen::gated_gcs_actor>(cluster.address());
  REQUIRE(gate);
  // ... which answers nothing before the token.
  CHECK_THAT(ask_view(sys, *gate), Contains("not admitted"));
  auto door = caf::actor_cast<lumen::door_actor>(*gate);
  auto [ok, why] = hello(sys, door, wrong_token);
  CHECK_FALSE(ok);
  CHECK(why == "wrong cluster token");
  CHECK_THAT(ask_view(sys, *gate), Contains("not admitted"));
  CHECK(security_it::wait_for_log(cluster.dir(), "head",
                                  "has not presented the cluster token"));
  CHECK_THAT(security_it::logs(cluster.dir(), "head"),
             Contains("wrong cluster token"));
  // With the token, the same peer is a member.
  auto [ok2, why2] = hello(sys, door, right_token);
  CHECK(ok2);
  CHECK(why2.empty());
  CHECK(ask_view(sys, *gate).empty());
  // A worker's port offers a door, not its cluster link.
  CHECK_FALSE(stranger.connect<lumen::cluster_link_actor>(worker_address));
  auto worker_door = stranger.connect<lumen::door_actor>(worker_address);
  REQUIRE(worker_door);
  CHECK_FALSE(hello(sys, *worker_door, wrong_token).first);
  CHECK(
    security_it::wait_for_log(cluster.dir(), "worker", "wrong cluster token"));
}

TEST_CASE("token: a node refuses to listen beyond loopback without TLS",
          "[token]") {
  security_it::temp_dir tmp;
  auto [status, out] = cluster_it::run(std::string{LUMEN_CLI_PATH} +
                                       " start --head --port 0 --host 0.0.0.0" +
                                       " --runtime-dir " + tmp.path + "/rt");
  CHECK(status != 0);
  CHECK_THAT(out, Contains("refusing to listen on '0.0.0.0' without TLS "
                           "and a cluster token"));
  CHECK_THAT(out, Contains("lumen tls init"));
  // A token alone is not enough either.
  auto right = token_file(tmp.path, "right", right_token);
  auto [status2, out2] = cluster_it::run(
    std::string{LUMEN_CLI_PATH} + " start --head --port 0 --host 0.0.0.0" +
    " --runtime-dir " + tmp.path + "/rt --token-file " + right);
  CHECK(status2 != 0);
  CHECK_THAT(out2, Contains("without TLS:"));
  // A driver that would listen on every interface does not start either.
  ::setenv("LUMEN_HOST", "0.0.0.0", 1);
  CHECK_THROWS_WITH(lumen::init(lumen::config{.address = "127.0.0.1:1"}),
                    Contains("refusing to listen"));
  ::unsetenv("LUMEN_HOST");
  CHECK_FALSE(lumen::is_initialized());
}
