// Error objects from caught exceptions.
#include "scheduling/task_errors.hpp"

#include <cstdlib>
#include <cxxabi.h>
#include <exception>
#include <memory>
#include <typeinfo>

#include "log/log.hpp"
#include "lumen/cancel.hpp"
#include "lumen/error.hpp"
#include "objects/object_table.hpp"
#include "scheduling/cancel_state.hpp"

namespace lumen::detail {

std::string current_exception_type_name() {
  auto* type = abi::__cxa_current_exception_type();
  if (type == nullptr)
    return "unknown";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name{
    abi::__cxa_demangle(type->name(), nullptr, nullptr, &status), std::free};
  return status == 0 && name ? std::string{name.get()}
                             : std::string{type->name()};
}

namespace {

object_ptr error_object_of_current_exception(const std::string& task_name) {
  auto type = current_exception_type_name();
  try {
    throw;
  } catch (const task_error& e) {
    return make_error_object(error_kind::task_failed, e.message(),
                             e.type_name(), e.task_name());
  } catch (const function_not_found_error& e) {
    return make_error_object(error_kind::function_not_found, e.what(), type,
                             task_name);
  } catch (const type_mismatch_error& e) {
    return make_error_object(error_kind::type_mismatch, e.what(), type,
                             task_name);
  } catch (const object_lost_error& e) {
    return make_error_object(error_kind::object_lost, e.what(), type,
                             task_name);
  } catch (const object_store_full_error& e) {
    return make_error_object(error_kind::store_full, e.what(), type, task_name);
  } catch (const actor_died_error& e) {
    return make_error_object(error_kind::actor_died, e.what(), type, task_name);
  } catch (const task_cancelled_error& e) {
    return make_error_object(error_kind::runtime_error, e.what(),
                             cancelled_type_name, task_name);
  } catch (const actor_creation_error& e) {
    return make_error_object(error_kind::actor_creation, e.what(), type,
                             task_name);
  } catch (const std::exception& e) {
    // A plain lumen::error (not a subclass) is a runtime failure, such as a
    // shutdown, and keeps that kind on its way to the driver.
    if (typeid(e) == typeid(lumen::error))
      return make_error_object(error_kind::runtime_error, e.what(), type,
                               task_name);
    return make_error_object(error_kind::task_failed, e.what(), type,
                             task_name);
  } catch (...) {
    return make_error_object(error_kind::task_failed,
                             "exception not derived from std::exception", type,
                             task_name);
  }
}

} // namespace

object_ptr error_from_current_exception(const std::string& task_name) {
  auto result = error_object_of_current_exception(task_name);
  // Info, not warn: the caller learns it from `get`; the log keeps it.
  if (result->error)
    log_info("task '", task_name, "' failed: ", result->error->message);
  return result;
}

} // namespace lumen::detail
