// Conversion between node records / cluster views / object payloads and
// their Cap'n Proto form (src/wire/cluster.capnp), as flat bytes.
//
// Encoding is faithful and does not validate; encoded buffers are
// self-delimiting single messages and deterministic: equal values give equal
// bytes (maps are written in their sorted order, vectors in theirs).
//
// Decoding reads untrusted bytes. Cap'n Proto checks the structure (bounds,
// pointer kinds, segment table) and reports it with kj::Exception, turned
// into lumen::decode_error here; the traversal limit, derived from the input
// size, bounds the work a message with amplifying pointers can cause. Each
// pointer field is read exactly once so a well-formed message stays far below
// that limit. Meaning is checked after the structure, while reading, and
// also reported as decode_error naming the field:
// - a node id is 32 lowercase hex digits;
// - resource names (total, available) are non-empty and unique per map, and
//   amounts finite and >= 0;
// - actor states are non-empty and unique;
// - held jobs are node ids, unique, with resources as above;
// - an object payload's error is set exactly when hasError, its kind is an
//   error_kind, and an error payload has no bytes.
// object_store_used may exceed object_store_capacity (spilling).
//
// Thread safety: free functions without shared state; call from any thread.
#include "wire/cluster_types.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "lumen/error.hpp"
#include "lumen/wire/cluster.capnp.h"
#include "wire/codec_support.hpp"
#include "wire/resource_codec.hpp"

namespace lumen::detail {

namespace {

using namespace wire_support;

// The helpers below follow src/wire/task_spec_codec.cpp, whose copies are
// private to that file.

static_assert(sizeof(std::size_t) >= sizeof(std::uint64_t),
              "UInt64 counts on the wire are read into std::size_t");

// -- limits -------------------------------------------------------------------

/// Length of a node id: 128 bits in hex.
constexpr std::size_t node_id_size = 32;

// -- ids ----------------------------------------------------------------------

// -- encoding helpers ---------------------------------------------------------

/// Upper estimate of the words `x` takes (without the root pointer), so
/// that the builder's first segment usually holds the whole message.
std::size_t estimate_words(const node_record& x) {
  // Struct (8 data + 7 pointer words), id, addresses.
  std::size_t words = 15 + text_words(x.id.size()) +
                      text_words(x.address.size()) +
                      text_words(x.bulk_address.size());
  // Per entry: list tag or struct (1 data + 1 pointer word) and its name.
  for (const auto* map : {&x.total, &x.available}) {
    words += 1;
    for (const auto& [name, amount] : *map)
      words += 2 + text_words(name.size());
  }
  words += 2;
  for (const auto& [name, count] : x.infeasible)
    words += 2 + text_words(name.size());
  for (const auto& [name, count] : x.actors)
    words += 2 + text_words(name.size());
  // Per job: its struct (1 data + 2 pointer words), id and resources.
  words += 1;
  for (const auto& [job, hold] : x.held) {
    words += 4 + text_words(job.size());
    for (const auto& [name, amount] : hold.resources)
      words += 2 + text_words(name.size());
  }
  return words;
}

std::size_t estimate_words(const cluster_view& x) {
  std::size_t words = 4;
  for (const auto& node : x.nodes)
    words += estimate_words(node);
  return words;
}

std::size_t estimate_words(const object_payload& x) {
  return 32 + x.bytes.size() / 8 + 1 + 4 * x.nested.size() +
         10 * x.nested_owners.size() + text_words(x.error.type_name.size()) +
         text_words(x.error.message.size()) +
         text_words(x.error.task_name.size());
}

/// Size of a builder's first segment for a message estimated at `words`
/// plus its root pointer. Oversized values fail later, on the field that does
/// not fit.
unsigned int first_segment(std::size_t words) {
  return static_cast<unsigned int>(std::min(words + 1, max_elements));
}

template <class Range>
void write_counts(capnp::List<wire::NamedCount>::Builder out, const Range& in) {
  unsigned int i = 0;
  for (const auto& [name, count] : in) {
    auto entry = out[i++];
    entry.setName(text(name));
    entry.setCount(count);
  }
}

void write_node(wire::NodeRecord::Builder out, const node_record& x) {
  out.setId(text(x.id));
  out.setAddress(text(x.address));
  out.setHead(x.head);
  out.setDriver(x.driver);
  out.setAlive(x.alive);
  write_resources(out.initTotal(element_count(x.total.size(), "total")),
                  x.total);
  write_resources(
    out.initAvailable(element_count(x.available.size(), "available")),
    x.available);
  out.setObjectStoreUsed(x.object_store_used);
  out.setObjectStoreCapacity(x.object_store_capacity);
  write_counts(
    out.initInfeasible(element_count(x.infeasible.size(), "infeasible")),
    x.infeasible);
  write_counts(out.initActors(element_count(x.actors.size(), "actors")),
               x.actors);
  out.setBulkAddress(text(x.bulk_address));
  out.setTaskActorsSpawned(x.task_actors_spawned);
  out.setTaskExecutions(x.task_executions);
  out.setStartedMs(x.started_ms);
  out.setEndedMs(x.ended_ms);
  auto held = out.initHeld(element_count(x.held.size(), "held"));
  unsigned int i = 0;
  for (const auto& [job, hold] : x.held) {
    auto entry = held[i++];
    entry.setJob(text(job));
    entry.setTasks(hold.tasks);
    write_resources(entry.initResources(
                      element_count(hold.resources.size(), "held resources")),
                    hold.resources);
  }
}

// -- decoding helpers ---------------------------------------------------------

/// Checks that `id` is 32 lowercase hex digits.
void check_node_id(const char* what, const std::string& field,
                   const std::string& id) {
  if (id.size() != node_id_size)
    fail(what, field + " has " + std::to_string(id.size()) +
                 " characters, must be 32 lowercase hex digits");
  for (std::size_t i = 0; i < id.size(); ++i) {
    auto c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      fail(what, field + " has a character other than 0-9a-f at position " +
                   std::to_string(i));
  }
}

/// Reads a resource map; `field` names the list ("total", "nodes[1].total").
node_record read_node(const char* what, const std::string& prefix,
                      wire::NodeRecord::Reader in) {
  node_record x;
  x.id = to_std(in.getId());
  check_node_id(what, prefix + "id", x.id);
  x.address = to_std(in.getAddress());
  x.head = in.getHead();
  x.driver = in.getDriver();
  x.alive = in.getAlive();
  x.total = read_resources(what, prefix + "total", in.getTotal());
  x.available = read_resources(what, prefix + "available", in.getAvailable());
  x.object_store_used = in.getObjectStoreUsed();
  x.object_store_capacity = in.getObjectStoreCapacity();
  x.bulk_address = to_std(in.getBulkAddress());
  x.task_actors_spawned = in.getTaskActorsSpawned();
  x.task_executions = in.getTaskExecutions();
  x.started_ms = in.getStartedMs();
  x.ended_ms = in.getEndedMs();
  auto infeasible = in.getInfeasible();
  x.infeasible.reserve(infeasible.size());
  for (auto entry : infeasible)
    x.infeasible.emplace_back(to_std(entry.getName()), entry.getCount());
  auto actors = in.getActors();
  for (unsigned int i = 0; i < actors.size(); ++i) {
    auto entry = actors[i];
    auto at = [&] {
      return prefix + "actors[" + std::to_string(i) + "]";
    };
    auto name = to_std(entry.getName());
    if (name.empty())
      fail(what, at() + ".name is empty");
    auto [pos, added] = x.actors.emplace(std::move(name), entry.getCount());
    if (!added)
      fail(what, at() + ".name repeats '" + pos->first + "'");
  }
  auto held = in.getHeld();
  for (unsigned int i = 0; i < held.size(); ++i) {
    auto entry = held[i];
    auto at = prefix + "held[" + std::to_string(i) + "]";
    auto job = to_std(entry.getJob());
    check_node_id(what, at + ".job", job);
    job_hold hold;
    hold.tasks = entry.getTasks();
    hold.resources =
      read_resources(what, at + ".resources", entry.getResources());
    auto [pos, added] = x.held.emplace(std::move(job), std::move(hold));
    if (!added)
      fail(what, at + ".job repeats '" + pos->first + "'");
  }
  return x;
}

} // namespace

// -- node records -------------------------------------------------------------

byte_buffer encode_node_record(const node_record& x) {
  try {
    capnp::MallocMessageBuilder builder{first_segment(estimate_words(x))};
    write_node(builder.initRoot<wire::NodeRecord>(), x);
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_node_record: " + to_std(e.getDescription()));
  }
}

node_record decode_node_record(const char* data, std::size_t size) {
  constexpr const char* what = "decode_node_record";
  return with_message(what, data, size, [&](auto& reader) {
    return read_node(what, "", reader.template getRoot<wire::NodeRecord>());
  });
}

// -- cluster views ------------------------------------------------------------

byte_buffer encode_cluster_view(const cluster_view& x) {
  try {
    capnp::MallocMessageBuilder builder{first_segment(estimate_words(x))};
    auto out = builder.initRoot<wire::ClusterView>();
    out.setVersion(x.version);
    auto nodes = out.initNodes(element_count(x.nodes.size(), "nodes"));
    for (std::size_t i = 0; i < x.nodes.size(); ++i)
      write_node(nodes[static_cast<unsigned int>(i)], x.nodes[i]);
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_cluster_view: " + to_std(e.getDescription()));
  }
}

cluster_view decode_cluster_view(const char* data, std::size_t size) {
  constexpr const char* what = "decode_cluster_view";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::ClusterView>();
    cluster_view x;
    x.version = in.getVersion();
    auto nodes = in.getNodes();
    x.nodes.reserve(nodes.size());
    for (unsigned int i = 0; i < nodes.size(); ++i)
      x.nodes.push_back(
        read_node(what, "nodes[" + std::to_string(i) + "].", nodes[i]));
    return x;
  });
}

// -- object payloads ----------------------------------------------------------

byte_buffer encode_object_payload(const object_payload& x) {
  try {
    capnp::MallocMessageBuilder builder{first_segment(estimate_words(x))};
    auto out = builder.initRoot<wire::ObjectPayload>();
    write_id(out.initId(), x.id);
    auto bytes = out.initBytes(element_count(x.bytes.size(), "bytes"));
    if (!x.bytes.empty())
      std::memcpy(bytes.begin(), x.bytes.data(), x.bytes.size());
    auto nested = out.initNested(element_count(x.nested.size(), "nested"));
    for (std::size_t i = 0; i < x.nested.size(); ++i)
      write_id(nested[static_cast<unsigned int>(i)], x.nested[i]);
    if (!x.nested_owners.empty()) {
      if (x.nested_owners.size() != x.nested.size())
        throw lumen::error(
          "encode_object_payload: " + std::to_string(x.nested_owners.size()) +
          " owners for " + std::to_string(x.nested.size()) + " nested refs");
      auto owners =
        out.initNestedOwners(static_cast<unsigned int>(x.nested_owners.size()));
      for (std::size_t i = 0; i < x.nested_owners.size(); ++i)
        owners.set(static_cast<unsigned int>(i), text(x.nested_owners[i]));
    }
    out.setHasError(x.has_error);
    // Without has_error, `error` means nothing and is left out.
    if (x.has_error) {
      auto error = out.initError();
      error.setKind(static_cast<std::uint8_t>(x.error.kind));
      error.setTypeName(text(x.error.type_name));
      error.setMessage(text(x.error.message));
      error.setTaskName(text(x.error.task_name));
    }
    out.setLocation(text(x.location));
    out.setSize(x.size);
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_object_payload: " + to_std(e.getDescription()));
  }
}

object_payload decode_object_payload(const char* data, std::size_t size) {
  constexpr const char* what = "decode_object_payload";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::ObjectPayload>();
    object_payload x;
    x.id = read_id(in.getId());
    auto bytes = in.getBytes();
    x.has_error = in.getHasError();
    if (x.has_error && bytes.size() != 0)
      fail(what, "bytes has " + std::to_string(bytes.size()) +
                   " bytes, must be empty for an error");
    x.bytes.append(bytes.begin(), bytes.size());
    auto nested = in.getNested();
    x.nested.reserve(nested.size());
    for (auto id : nested)
      x.nested.push_back(read_id(id));
    auto owners = in.getNestedOwners();
    if (owners.size() != 0 && owners.size() != nested.size())
      fail(what, "nestedOwners has " + std::to_string(owners.size()) +
                   " entries for " + std::to_string(nested.size()) +
                   " nested refs");
    x.nested_owners.reserve(owners.size());
    for (auto owner : owners)
      x.nested_owners.push_back(to_std(owner));
    // `hasError()` is Cap'n Proto's presence test of the `error` field.
    if (in.hasError() != x.has_error)
      fail(what, x.has_error ? "hasError is set but error is missing"
                             : "error is present but hasError is not set");
    if (x.has_error) {
      auto error = in.getError();
      auto kind = error.getKind();
      if (!known_kind(kind))
        fail(what, "error.kind " + std::to_string(kind) + " is no error_kind");
      x.error.kind = static_cast<error_kind>(kind);
      x.error.type_name = to_std(error.getTypeName());
      x.error.message = to_std(error.getMessage());
      x.error.task_name = to_std(error.getTaskName());
    }
    x.location = to_std(in.getLocation());
    x.size = in.getSize();
    if (!x.location.empty()) {
      if (x.has_error || !x.bytes.empty())
        fail(what, "location is set but the payload carries a value");
      check_node_id(what, "location", x.location);
    }
    return x;
  });
}

// -- actor options ------------------------------------------------------------

byte_buffer encode_actor_options(const remote_actor_options& x) {
  try {
    capnp::MallocMessageBuilder builder;
    auto out = builder.initRoot<wire::ActorOptions>();
    auto& o = x.options;
    out.setClassHash(x.class_hash);
    out.setHasNumCpus(o.num_cpus.has_value());
    out.setNumCpus(o.num_cpus.value_or(0.0));
    write_resources(
      out.initResources(element_count(o.resources.size(), "resources")),
      o.resources);
    out.setName(text(o.name));
    out.setNs(text(o.ns));
    out.setMaxConcurrency(o.max_concurrency);
    out.setMaxRestarts(o.max_restarts);
    out.setMaxTaskRetries(o.max_task_retries);
    out.setDetached(o.detached);
    out.setRestarted(x.restarted);
    if (!o.capture_pg.empty())
      out.setCapturePg(text(o.capture_pg));
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_actor_options: " + to_std(e.getDescription()));
  }
}

remote_actor_options decode_actor_options(const char* data, std::size_t size) {
  constexpr const char* what = "decode_actor_options";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::ActorOptions>();
    remote_actor_options x;
    auto& o = x.options;
    x.class_hash = in.getClassHash();
    if (in.getHasNumCpus()) {
      auto n = in.getNumCpus();
      if (!std::isfinite(n) || n < 0)
        fail(what, "numCpus " + num(n) + " must be finite and >= 0");
      o.num_cpus = n;
    }
    o.resources = read_resources(what, "resources", in.getResources());
    o.name = to_std(in.getName());
    o.ns = to_std(in.getNs());
    o.max_concurrency = in.getMaxConcurrency();
    if (o.max_concurrency < 1)
      fail(what, "maxConcurrency must be at least 1");
    o.max_restarts = in.getMaxRestarts();
    o.max_task_retries = in.getMaxTaskRetries();
    if (o.max_restarts < -1 || o.max_task_retries < -1)
      fail(what, "maxRestarts and maxTaskRetries must be >= -1");
    o.detached = in.getDetached();
    x.restarted = in.getRestarted();
    o.capture_pg = to_std(in.getCapturePg());
    return x;
  });
}

} // namespace lumen::detail
