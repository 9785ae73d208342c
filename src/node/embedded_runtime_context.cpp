// The embedded runtime's answers for lumen::context(), the namespace names
// default to, and placement groups found by id or name.
//
// A placement group's name is stored in the GCS with its namespace in
// front ("<ns>\x1f<name>"; the bare name in the default namespace), so
// that names are unique per namespace without a column of their own.
#include "node/embedded_runtime.hpp"

#include <caf/actor_system.hpp>

#include "actors/gcs.hpp"
#include "lumen/error.hpp"
#include "node/embedded_runtime_impl.hpp"
#include "node/pg_names.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"

namespace lumen::detail {

task_id embedded_runtime::root_job() const {
  return impl_->root.job;
}

task_id embedded_runtime::root_task() const {
  return impl_->root.task;
}

const std::string& embedded_runtime::current_ns() const {
  auto* ctx = current_context();
  if (ctx != nullptr && ctx->info != nullptr && ctx->info->ns != nullptr)
    return *ctx->info->ns;
  return impl_->cfg.base.ns;
}

std::string embedded_runtime::ns_or_current(const std::string& ns) const {
  return ns.empty() ? current_ns() : ns;
}

embedded_runtime::pg_found embedded_runtime::find_placement_group(
  const std::string& id, const std::string& name, const std::string& ns) {
  auto key = id.empty() ? pg_name_key(ns_or_current(ns), name) : std::string{};
  auto [found, bundles, state] =
    ask_gcs<std::string, std::uint64_t, std::uint8_t>(
      *impl_->sys, impl_->any_gcs(), "lumen::get_placement_group", gcs_timeout,
      pg_find_atom::value, id, key);
  // Creates and removes this thread sent one-way to our own GCS are in
  // its mailbox before this request.
  return {found, static_cast<std::size_t>(bundles), state};
}

} // namespace lumen::detail
