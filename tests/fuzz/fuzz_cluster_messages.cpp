// Fuzz target: what nodes send each other beside task specs
// (src/wire/cluster_codec.cpp, src/net/bulk_ticket.cpp): node
// records (register, heartbeat), cluster views (from the GCS), object
// payloads (results and locations), actor options (actor creation on a
// peer) and direct-transfer tickets (inside pull requests).
//
// First byte (mod 5) picks the decoder; the rest is its input. A decoder
// must either throw lumen::decode_error or return a value whose encoding
// decodes again to the same encoding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "lumen/error.hpp"
#include "net/bulk_ticket.hpp"
#include "wire/cluster_types.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

/// Decodes with `dec`; if that succeeds, checks that encoding is stable.
template <class Decode, class Encode>
void roundtrip(const char* p, std::size_t n, Decode dec, Encode enc,
               const char* what) {
  decltype(dec(p, n)) value;
  try {
    value = dec(p, n);
  } catch (const decode_error&) {
    return;
  }
  auto once = enc(value);
  auto again = dec(once.data(), once.size());
  fuzz::require(fuzz::same_bytes(once, enc(again)), what);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  auto* p = reinterpret_cast<const char*>(data + 1);
  auto n = size - 1;
  switch (data[0] % 5) {
  case 0:
    roundtrip(p, n, decode_node_record, encode_node_record,
              "a node record encodes the same way twice");
    break;
  case 1:
    roundtrip(p, n, decode_cluster_view, encode_cluster_view,
              "a cluster view encodes the same way twice");
    break;
  case 2:
    roundtrip(p, n, decode_object_payload, encode_object_payload,
              "an object payload encodes the same way twice");
    break;
  case 3:
    roundtrip(p, n, decode_actor_options, encode_actor_options,
              "actor options encode the same way twice");
    break;
  case 4: {
    bulk_ticket t;
    try {
      t = decode_ticket(p, n);
    } catch (const decode_error&) {
      break;
    }
    auto bytes = encode_ticket(t);
    fuzz::require(bytes.size() == n && std::memcmp(bytes.data(), p, n) == 0,
                  "a ticket encodes to the bytes it came from");
    break;
  }
  }
  return 0;
}
