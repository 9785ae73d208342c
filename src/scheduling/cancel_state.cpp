// The error of a cancelled task, and lumen::cancelled().
#include "scheduling/cancel_state.hpp"

#include "lumen/cancel.hpp"
#include "objects/object_table.hpp"
#include "scheduling/execution_context.hpp"

namespace lumen::detail {

object_ptr cancelled_error(const std::string& name) {
  return make_error_object(error_kind::runtime_error,
                           "task '" + name + "' was cancelled",
                           cancelled_type_name, name);
}

bool cancelled_recursively_here() noexcept {
  auto* ctx = current_context();
  return ctx != nullptr && ctx->cancel != nullptr &&
         ctx->cancel->load(std::memory_order_relaxed) ==
           cancel_requested_recursive;
}

} // namespace lumen::detail

namespace lumen {

bool cancelled() noexcept {
  auto* ctx = detail::current_context();
  return ctx != nullptr && ctx->cancel != nullptr &&
         ctx->cancel->load(std::memory_order_relaxed) != detail::not_cancelled;
}

} // namespace lumen
