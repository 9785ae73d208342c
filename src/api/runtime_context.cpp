// lumen::context(), get_placement_group and placement_group::state: what
// the calling code runs as, and placement groups found by name.
#include "lumen/runtime_context.hpp"

#include "lumen/error.hpp"
#include "lumen/placement_group.hpp"
#include "node/embedded_runtime.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/resources.hpp"

namespace lumen {

namespace {

detail::embedded_runtime& running(const char* what) {
  auto* rt = detail::current_embedded_runtime();
  if (rt == nullptr)
    throw not_initialized_error(std::string{what} +
                                ": lumen is not running; call lumen::init()");
  return *rt;
}

} // namespace

runtime_context context() {
  auto& rt = running("lumen::context");
  runtime_context r;
  r.node_id = rt.node_id();
  r.ns = rt.current_ns();
  auto* ctx = detail::current_context();
  if (ctx == nullptr) {
    r.job_id = rt.root_job();
    r.task_id = rt.root_task();
    return r;
  }
  r.task_id = ctx->task;
  r.job_id = ctx->job.nil() ? rt.root_job() : ctx->job;
  r.restarted_ = ctx->in_actor && ctx->actor_restarted;
  if (auto* info = ctx->info) {
    r.actor_id = info->actor;
    if (info->resources != nullptr)
      r.resources = *info->resources;
    if (info->num_cpus > 0)
      r.resources[detail::cpu_resource] += info->num_cpus;
  }
  return r;
}

std::optional<placement_group> get_placement_group(const std::string& name,
                                                   const std::string& ns) {
  if (name.empty())
    throw error("lumen::get_placement_group: the name is empty");
  auto found =
    running("lumen::get_placement_group").find_placement_group({}, name, ns);
  if (found.id.empty() || found.state == 0)
    return std::nullopt;
  return placement_group{found.id, found.bundles};
}

pg_state placement_group::state() const {
  if (!valid())
    throw error("lumen::placement_group::state: invalid placement_group");
  auto found =
    running("lumen::placement_group::state").find_placement_group(id_, {}, {});
  switch (found.state) {
  case 1:
    return pg_state::pending;
  case 2:
    return pg_state::created;
  default:
    return pg_state::removed;
  }
}

} // namespace lumen
