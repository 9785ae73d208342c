// Turning error objects back into exceptions at the user edge.
#include "lumen/cancel.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"
#include "scheduling/cancel_state.hpp"

namespace lumen::detail {

void throw_error(const error_info& e) {
  switch (e.kind) {
  case error_kind::task_failed:
    throw task_error(e.type_name, e.message, e.task_name);
  case error_kind::function_not_found:
    throw function_not_found_error(e.message);
  case error_kind::type_mismatch:
    throw type_mismatch_error(e.message);
  case error_kind::object_lost:
    throw object_lost_error(e.message);
  case error_kind::store_full:
    throw object_store_full_error(e.message);
  case error_kind::actor_died:
    throw actor_died_error(e.message);
  case error_kind::actor_creation:
    throw actor_creation_error(e.message);
  case error_kind::owner_died:
    throw owner_died_error(e.message);
  case error_kind::runtime_error:
    // A cancel travels as a runtime error of this type (no new kind, so
    // nodes of the previous wire format read it).
    if (e.type_name == cancelled_type_name)
      throw task_cancelled_error(e.message);
    break;
  }
  throw error(e.message);
}

} // namespace lumen::detail
