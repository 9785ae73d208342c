// num_returns: the parts object and the built-in `lumen::pick` task that
// takes one element out of it (include/lumen/detail/multi_return.hpp).
#include <cstring>
#include <string>
#include <vector>

#include "lumen/detail/multi_return.hpp"
#include "lumen/detail/registry.hpp"
#include "lumen/detail/runtime_api.hpp"
#include "lumen/error.hpp"
#include "lumen/num_returns.hpp"

namespace lumen::detail {

namespace {

template <class T>
T read_at(const object_data& obj, std::size_t& at) {
  T result;
  if (obj.bytes.size() - at < sizeof(T))
    throw decode_error("lumen::pick: truncated parts object");
  std::memcpy(&result, obj.bytes.data() + at, sizeof(T));
  at += sizeof(T);
  return result;
}

/// The pick task: args are the parts object and the element's index.
object_data invoke_pick(const std::vector<object_ptr>& args) {
  if (args.size() != 2)
    throw type_mismatch_error("lumen::pick: expected 2 arguments, got " +
                              std::to_string(args.size()));
  return pick_part(*args[0], from_object<std::uint32_t>(*args[1]));
}

const bool pick_registered = [] {
  function_entry entry;
  entry.name = pick_function;
  entry.kind = function_kind::free_function;
  entry.invoke = &invoke_pick;
  entry.arity = 2;
  register_function(std::move(entry), pick_function);
  return true;
}();

} // namespace

object_data pick_part(const object_data& parts, std::uint32_t index) {
  std::size_t at = 0;
  if (read_at<std::uint64_t>(parts, at) != type_hash<parts_tag>())
    throw decode_error("lumen::pick: the object is not a parts object");
  auto count = read_at<std::uint32_t>(parts, at);
  if (index >= count)
    throw decode_error("lumen::pick: element " + std::to_string(index) +
                       " of a result with " + std::to_string(count));
  std::size_t first_ref = 0;
  for (std::uint32_t i = 0;; ++i) {
    auto n = read_at<std::uint64_t>(parts, at);
    auto r = read_at<std::uint32_t>(parts, at);
    if (parts.bytes.size() - at < n || parts.refs.size() - first_ref < r)
      throw decode_error("lumen::pick: truncated parts object");
    if (i == index) {
      object_data result;
      result.bytes.append(parts.bytes.data() + at, n);
      result.refs.assign(parts.refs.begin() + static_cast<long>(first_ref),
                         parts.refs.begin() + static_cast<long>(first_ref + r));
      return result;
    }
    at += n;
    first_ref += r;
  }
}

const function_entry& parts_entry(const function_entry& entry) {
  auto* found = find_function(entry.name + parts_suffix);
  if (found == nullptr)
    throw function_not_found_error("lumen: '" + entry.name +
                                   "' has no num_returns form (it does not "
                                   "return a std::tuple or std::pair)");
  return *found;
}

std::vector<ref_ptr> submit_picks(const ref_ptr& parts, std::size_t n,
                                  const task_options& options) {
  static_cast<void>(pick_registered);
  auto* entry = find_function(pick_function);
  std::vector<ref_ptr> result;
  result.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    task_request req;
    req.function = pick_function;
    req.entry = entry;
    req.args.push_back(task_arg{nullptr, parts});
    req.args.push_back(task_arg{
      std::make_shared<object_data>(to_object(static_cast<std::uint32_t>(i))),
      {}});
    // Runs next to the caller, holding nothing: it only copies bytes.
    req.options.num_cpus = 0;
    req.options.max_retries = options.max_retries;
    req.options.name = options.name + "[" + std::to_string(i) + "]";
    result.push_back(runtime().submit(std::move(req)));
  }
  return result;
}

} // namespace lumen::detail
