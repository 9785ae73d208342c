// Tasks and results between nodes.
#include "scheduling/remote_task.hpp"

#include <exception>
#include <string>

#include "lumen/error.hpp"
#include "wire/task_spec_codec.hpp"

namespace lumen::detail {

namespace {

std::vector<char> to_vector(const byte_buffer& buf) {
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

} // namespace

std::vector<char> encode_for_peer(const task_spec& task,
                                  const object_table& table,
                                  std::size_t inline_limit,
                                  std::vector<std::string> lineage) {
  task_spec copy = task;
  copy.deliver = nullptr;
  copy.lineage = std::move(lineage);
  for (auto& arg : copy.args) {
    if (!arg.ref)
      continue;
    auto obj = table.try_get(arg.ref.get());
    if (obj && obj->error)
      throw error("argument " + arg.ref.id().to_string() + " of task '" +
                  task.options.name + "' failed");
    if (obj && obj->bytes.size() <= inline_limit && obj->refs.empty()) {
      arg.value = std::move(obj);
      arg.ref = {};
    }
  }
  return to_vector(encode_task_spec(copy));
}

task_ptr decode_from_peer(const std::vector<char>& bytes, object_table& table,
                          std::vector<object_id>& to_fetch) {
  return decode_from_peer(std::string_view{bytes.data(), bytes.size()}, table,
                          to_fetch);
}

task_ptr decode_from_peer(std::string_view bytes, object_table& table,
                          std::vector<object_id>& to_fetch) {
  auto spec =
    decode_task_spec(bytes.data(), bytes.size(), [&](const object_id& id) {
      if (auto r = table.lookup(id))
        return r;
      to_fetch.push_back(id);
      return table.create_pending(id);
    });
  return std::make_shared<task_spec>(std::move(spec));
}

std::vector<char> encode_result(const object_id& id, const object_ptr& obj) {
  object_payload p;
  p.id = id;
  if (obj->error) {
    p.has_error = true;
    p.error = *obj->error;
  } else {
    p.bytes = obj->bytes;
    for (auto& r : obj->refs)
      p.nested.push_back(r.id());
  }
  try {
    return to_vector(encode_object_payload(p));
  } catch (const std::exception& e) {
    // Too large for one message (a Cap'n Proto message holds at most 512
    // MiB): the owner gets the reason instead of nothing.
    object_payload err;
    err.id = id;
    err.has_error = true;
    err.error.kind = error_kind::runtime_error;
    err.error.message = "object " + id.to_string() + " of " +
                        std::to_string(obj->bytes.size()) +
                        " bytes cannot travel in one message: " + e.what();
    return to_vector(encode_object_payload(err));
  }
}

std::vector<char> encode_location(const object_id& id, const std::string& node,
                                  std::uint64_t size) {
  object_payload p;
  p.id = id;
  p.location = node;
  p.size = size;
  return to_vector(encode_object_payload(p));
}

received_result decode_result(const std::vector<char>& bytes,
                              object_table& table) {
  return decode_result(std::string_view{bytes.data(), bytes.size()}, table);
}

received_result decode_result(std::string_view bytes, object_table& table) {
  auto p = decode_object_payload(bytes.data(), bytes.size());
  received_result result;
  result.id = p.id;
  if (!p.location.empty()) {
    result.location = std::move(p.location);
    result.size = p.size;
    return result;
  }
  auto data = std::make_shared<object_data>();
  if (p.has_error) {
    data->error = std::make_shared<error_info>(std::move(p.error));
  } else {
    data->bytes = std::move(p.bytes);
    for (auto& id : p.nested)
      if (auto r = table.lookup(id))
        data->refs.push_back(std::move(r));
  }
  result.value = std::move(data);
  return result;
}

} // namespace lumen::detail
