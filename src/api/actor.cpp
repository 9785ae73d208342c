// exit_actor and was_current_actor_restarted: questions about the actor
// running the current method.
#include "lumen/actor.hpp"

#include "scheduling/execution_context.hpp"

namespace lumen {

void exit_actor() {
  auto* ctx = detail::current_context();
  if (ctx == nullptr || !ctx->in_actor)
    throw error("lumen::exit_actor: not called from inside an actor method");
  throw detail::actor_exit_signal{};
}

bool was_current_actor_restarted() {
  auto* ctx = detail::current_context();
  return ctx != nullptr && ctx->in_actor && ctx->actor_restarted;
}

} // namespace lumen
