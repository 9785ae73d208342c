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

/// Whether `h` heads an entry of an object table: actor handles (index 0)
/// head entries of the actor directory and travel without an owner.
bool is_object(const ref_header* h) {
  return h != nullptr && h->id.index != 0;
}

/// The owner written next to each ref; objects only.
ref_owner_fn owners_of(const object_table& table) {
  return [&table](const ref_header* h) {
    return is_object(h) ? table.owner_of(h) : std::string{};
  };
}

void lend(ref_traffic* traffic, const object_data& obj) {
  if (traffic == nullptr)
    return;
  for (auto& r : obj.refs)
    if (is_object(r.get()))
      traffic->lent.push_back(r);
}

/// The ref for `id` that a message from another node names, owned by
/// `owner` ("" unknown). With an owner and `traffic`, the owner counted a
/// registration for this node: a borrowed entry takes it, a ref owned here
/// consumes it (traffic->home), any other entry gives it back. Sets
/// `*created` for a new pending entry whose value is elsewhere.
ref_ptr resolve_ref(object_table& table, const object_id& id,
                    const std::string& owner, ref_traffic* traffic,
                    bool* created) {
  *created = false;
  if (traffic == nullptr || owner.empty() || id.index == 0) {
    if (auto r = table.lookup(id))
      return r;
    *created = true;
    return table.create_pending(id);
  }
  if (owner == table.node_id()) {
    if (auto r = table.lookup(id)) {
      traffic->home.push_back(r);
      return r;
    }
    // Freed here although a borrower still named it: should not happen
    // (the registration pins it); the reader gets an error, not a hang.
    auto r = table.create_pending(id);
    table.fulfill(id, make_error_object(error_kind::object_lost,
                                        "object " + id.to_string() +
                                          " came back to its owner after "
                                          "it was freed"));
    return r;
  }
  object_table::borrow_kind kind{};
  auto r = table.borrow(id, owner, &kind);
  if (kind == object_table::borrow_kind::not_counted)
    traffic->give_back.emplace_back(id, owner);
  *created = kind == object_table::borrow_kind::created;
  return r;
}

/// The refs `p` names as nested in its value. With owners and `traffic`
/// each resolves as in resolve_ref, read lazily: a pending one is fetched
/// by the `get` that needs it. Without, only refs known here.
std::vector<ref_ptr> resolve_nested(const object_payload& p,
                                    object_table& table, ref_traffic* traffic) {
  std::vector<ref_ptr> refs;
  refs.reserve(p.nested.size());
  for (std::size_t i = 0; i < p.nested.size(); ++i) {
    auto& id = p.nested[i];
    if (p.nested_owners.empty() || traffic == nullptr || id.index == 0) {
      if (auto r = table.lookup(id))
        refs.push_back(std::move(r));
      continue;
    }
    bool created = false;
    refs.push_back(
      resolve_ref(table, id, p.nested_owners[i], traffic, &created));
  }
  return refs;
}

} // namespace

std::vector<char> encode_for_peer(const task_spec& task,
                                  const object_table& table,
                                  std::size_t inline_limit,
                                  std::vector<std::string> lineage,
                                  ref_traffic* traffic) {
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
    // A value holding refs travels inline too: its refs carry their
    // owners (without them, only refs the receiver knew resolved).
    if (obj && obj->bytes.size() <= inline_limit) {
      arg.value = std::move(obj);
      arg.ref = {};
    }
  }
  auto bytes = to_vector(encode_task_spec(copy, owners_of(table)));
  if (traffic != nullptr)
    for (auto& arg : copy.args) {
      if (arg.ref && is_object(arg.ref.get()))
        traffic->lent.push_back(arg.ref);
      else if (arg.value)
        lend(traffic, *arg.value);
    }
  return bytes;
}

task_ptr decode_from_peer(const std::vector<char>& bytes, object_table& table,
                          std::vector<object_id>& to_fetch,
                          ref_traffic* traffic) {
  return decode_from_peer(std::string_view{bytes.data(), bytes.size()}, table,
                          to_fetch, traffic);
}

task_ptr decode_from_peer(std::string_view bytes, object_table& table,
                          std::vector<object_id>& to_fetch,
                          ref_traffic* traffic) {
  auto spec =
    decode_task_spec_owned(bytes.data(), bytes.size(),
                           [&](const object_id& id, const std::string& owner) {
                             bool created = false;
                             auto r =
                               resolve_ref(table, id, owner, traffic, &created);
                             if (created)
                               to_fetch.push_back(id);
                             return r;
                           });
  return std::make_shared<task_spec>(std::move(spec));
}

std::vector<char> encode_result(const object_id& id, const object_ptr& obj,
                                const object_table* table,
                                ref_traffic* traffic) {
  object_payload p;
  p.id = id;
  if (obj->error) {
    p.has_error = true;
    p.error = *obj->error;
  } else {
    p.bytes = obj->bytes;
    for (auto& r : obj->refs)
      p.nested.push_back(r.id());
    if (table != nullptr && !obj->refs.empty()) {
      auto owner_of = owners_of(*table);
      for (auto& r : obj->refs)
        p.nested_owners.push_back(owner_of(r.get()));
      lend(traffic, *obj);
    }
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
                              object_table& table, ref_traffic* traffic) {
  return decode_result(std::string_view{bytes.data(), bytes.size()}, table,
                       traffic);
}

received_result decode_result(std::string_view bytes, object_table& table,
                              ref_traffic* traffic) {
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
    data->refs = resolve_nested(p, table, traffic);
  }
  result.value = std::move(data);
  return result;
}

std::vector<char> encode_nested(const object_id& id, const object_data& obj,
                                const object_table& table,
                                ref_traffic& traffic) {
  if (obj.refs.empty())
    return {};
  object_payload p;
  p.id = id;
  auto owner_of = owners_of(table);
  for (auto& r : obj.refs) {
    p.nested.push_back(r.id());
    p.nested_owners.push_back(owner_of(r.get()));
  }
  lend(&traffic, obj);
  return to_vector(encode_object_payload(p));
}

std::vector<ref_ptr> decode_nested(const std::vector<char>& bytes,
                                   const object_id& id, object_table& table,
                                   ref_traffic& traffic) {
  if (bytes.empty())
    return {};
  auto p = decode_object_payload(bytes.data(), bytes.size());
  if (p.id != id)
    throw decode_error("the refs nested in object " + id.to_string() +
                       " came as those of object " + p.id.to_string());
  if (p.has_error || !p.bytes.empty() || !p.location.empty())
    throw decode_error("the refs nested in object " + id.to_string() +
                       " came with a value, an error or a location");
  return resolve_nested(p, table, &traffic);
}

} // namespace lumen::detail
