// Thread-local execution contexts.
#include "scheduling/execution_context.hpp"

namespace lumen::detail {

namespace {

thread_local execution_context* tl_context = nullptr;

} // namespace

execution_context* current_context() noexcept {
  return tl_context;
}

context_scope::context_scope(execution_context* ctx) noexcept
  : prev_(tl_context) {
  tl_context = ctx;
}

context_scope::~context_scope() {
  tl_context = prev_;
}

block_scope::block_scope() noexcept : ctx_(tl_context) {
  if (ctx_ != nullptr && ctx_->on_block)
    ctx_->on_block();
}

block_scope::~block_scope() {
  if (ctx_ != nullptr && ctx_->on_unblock)
    ctx_->on_unblock();
}

} // namespace lumen::detail
