// Conversion between the GCS's stored rows (src/gcs/gcs_rows.hpp) and
// their Cap'n Proto form (src/wire/gcs_tables.capnp).
//
// Decoding checks the structure (Cap'n Proto, see codec_support.hpp) and
// then the meaning: a stored node's record carries the id of its key;
// placement strategies are known kinds; resource names are non-empty and
// unique per bundle, amounts finite and >= 0; a placed group names a node
// for every bundle.
//
// Thread safety: free functions without shared state.
#include "gcs/gcs_rows.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "lumen/error.hpp"
#include "lumen/wire/gcs_tables.capnp.h"
#include "scheduling/pg_planner.hpp"
#include "wire/codec_support.hpp"
#include "wire/resource_codec.hpp"

namespace lumen::detail {

namespace {

using namespace wire_support;

} // namespace

// -- nodes --------------------------------------------------------------------

byte_buffer encode_stored_node(const stored_node& x) {
  auto rec = encode_node_record(x.rec);
  try {
    capnp::MallocMessageBuilder builder;
    auto out = builder.initRoot<wire::StoredNode>();
    out.setOrder(x.order);
    auto bytes = out.initRecord(element_count(rec.size(), "record"));
    if (rec.size() > 0)
      std::memcpy(bytes.begin(), rec.data(), rec.size());
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_stored_node: " + to_std(e.getDescription()));
  }
}

stored_node decode_stored_node(const std::string& id, const char* data,
                               std::size_t size) {
  constexpr const char* what = "decode_stored_node";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::StoredNode>();
    stored_node x;
    x.order = in.getOrder();
    auto rec = in.getRecord();
    x.rec = decode_node_record(reinterpret_cast<const char*>(rec.begin()),
                               rec.size());
    if (x.rec.id != id)
      fail(what,
           "record.id '" + x.rec.id + "' is not the row's id '" + id + "'");
    return x;
  });
}

// -- actors -------------------------------------------------------------------

byte_buffer encode_stored_actor(const stored_actor& x) {
  try {
    capnp::MallocMessageBuilder builder;
    auto out = builder.initRoot<wire::StoredActor>();
    out.setName(text(x.name));
    out.setNs(text(x.ns));
    out.setClassHash(x.class_hash);
    out.setDetached(x.detached);
    out.setHostNode(text(x.host_node));
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_stored_actor: " + to_std(e.getDescription()));
  }
}

stored_actor decode_stored_actor(const std::string& id, const char* data,
                                 std::size_t size) {
  constexpr const char* what = "decode_stored_actor";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::StoredActor>();
    stored_actor x;
    x.id = id;
    x.name = to_std(in.getName());
    x.ns = to_std(in.getNs());
    if (x.name.empty() && !x.ns.empty())
      fail(what, "ns is set but name is empty");
    x.class_hash = in.getClassHash();
    x.detached = in.getDetached();
    x.host_node = to_std(in.getHostNode());
    return x;
  });
}

// -- placement groups ---------------------------------------------------------

byte_buffer encode_stored_group(const stored_group& x) {
  try {
    capnp::MallocMessageBuilder builder;
    auto out = builder.initRoot<wire::StoredGroup>();
    out.setName(text(x.name));
    out.setStrategy(x.strategy);
    out.setPlaced(x.placed);
    auto bundles = out.initBundles(element_count(x.bundles.size(), "bundles"));
    for (std::size_t i = 0; i < x.bundles.size(); ++i) {
      auto b = bundles[static_cast<unsigned int>(i)];
      write_resources(
        b.initResources(element_count(x.bundles[i].size(), "bundle resources")),
        x.bundles[i]);
      if (i < x.nodes.size())
        b.setNode(text(x.nodes[i]));
    }
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_stored_group: " + to_std(e.getDescription()));
  }
}

stored_group decode_stored_group(const std::string& id, const char* data,
                                 std::size_t size) {
  constexpr const char* what = "decode_stored_group";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::StoredGroup>();
    stored_group x;
    x.id = id;
    x.name = to_std(in.getName());
    x.strategy = in.getStrategy();
    if (x.strategy > static_cast<std::uint8_t>(pg_strategy_kind::strict_spread))
      fail(what, "strategy " + std::to_string(x.strategy) + " is unknown");
    x.placed = in.getPlaced();
    auto bundles = in.getBundles();
    for (unsigned int i = 0; i < bundles.size(); ++i) {
      auto at = "bundles[" + std::to_string(i) + "]";
      x.bundles.push_back(
        read_resources(what, at + ".resources", bundles[i].getResources()));
      auto node = to_std(bundles[i].getNode());
      if (x.placed && node.empty())
        fail(what, at + ".node is empty in a placed group");
      x.nodes.push_back(std::move(node));
    }
    if (!x.placed)
      x.nodes.clear();
    return x;
  });
}

} // namespace lumen::detail
