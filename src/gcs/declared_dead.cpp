// What a node does once the GCS has declared it dead.
#include "gcs/declared_dead.hpp"

#include <mutex>
#include <utility>

#include "log/log.hpp"

namespace lumen::detail {

namespace {

struct hook {
  std::mutex mtx;
  std::function<void(const std::string&)> handler;
  bool fired = false;
};

hook& the_hook() {
  static hook h;
  return h;
}

} // namespace

void set_declared_dead_handler(std::function<void(const std::string&)> f) {
  auto& h = the_hook();
  std::lock_guard<std::mutex> guard{h.mtx};
  h.handler = std::move(f);
}

void declared_dead(const std::string& node_id, const std::string& why) {
  auto& h = the_hook();
  std::function<void(const std::string&)> f;
  {
    std::lock_guard<std::mutex> guard{h.mtx};
    if (h.fired)
      return;
    h.fired = true;
    f = h.handler;
  }
  auto reason = "the GCS declared this node (" + node_id + ") dead: " + why;
  if (f) {
    log_error(reason);
    f(reason);
    return;
  }
  log_error(reason,
            "; this program is outside the cluster now (its tasks run here "
            "only, its objects and actors elsewhere are lost): restart it");
}

void reset_declared_dead() {
  auto& h = the_hook();
  std::lock_guard<std::mutex> guard{h.mtx};
  h.fired = false;
}

} // namespace lumen::detail
