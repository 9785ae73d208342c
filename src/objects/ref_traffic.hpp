// The refs one wire message carried out of or into this node, for the
// object store to account (docs/architecture.md, "Borrowing").
//
// The encoder of a message fills `lent`: every ref it put on the wire,
// each of which its owner counts as one registration for the receiving
// node. The decoder fills `home` (refs owned here that came back, each
// consuming one registration counted for this node) and `give_back`
// (registrations that arrived for an entry that is no borrowed one, a copy
// kept here for its owner, returned at once). The caller hands the whole
// to its node's object store in one message (`lend`).
//
// Thread safety: a plain value, owned by one thread at a time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lumen/detail/object_data.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

struct ref_traffic {
  /// Refs put on the wire for one receiver.
  std::vector<ref_ptr> lent;
  /// Refs owned here that came back from another node.
  std::vector<ref_ptr> home;
  /// (object, owner) registrations to give back at once.
  std::vector<std::pair<object_id, std::string>> give_back;

  bool empty() const noexcept {
    return lent.empty() && home.empty() && give_back.empty();
  }
};

} // namespace lumen::detail
