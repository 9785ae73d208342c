// Fuzz target: task specs and error infos, as they arrive from peers
// (spill, actor creation and calls), inside other specs (lineage) and from
// the stash and the GCS (src/wire/task_spec_codec.cpp).
//
// First byte: even decodes a TaskSpec, odd an ErrorInfo; the rest is the
// message. A decoder must either throw lumen::decode_error or return a value
// that encodes to bytes that decode again to the same encoding.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "lumen/error.hpp"
#include "wire/task_spec_codec.hpp"

using namespace lumen;
using namespace lumen::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  bool spec = (data[0] & 1) == 0;
  // One byte in: the message is not 8-byte aligned, as bytes in a CAF
  // message need not be; the decoder copies such input.
  auto* p = reinterpret_cast<const char*>(data + 1);
  auto n = size - 1;
  if (spec) {
    task_spec decoded;
    try {
      decoded = decode_task_spec(p, n, fuzz::free_ref);
    } catch (const decode_error&) {
      return 0;
    }
    auto once = encode_task_spec(decoded);
    auto again = decode_task_spec(once.data(), once.size(), fuzz::free_ref);
    fuzz::require(fuzz::same_bytes(once, encode_task_spec(again)),
                  "a decoded task spec encodes the same way twice");
    fuzz::require(again.function == decoded.function &&
                    again.args.size() == decoded.args.size() &&
                    again.lineage.size() == decoded.lineage.size(),
                  "a task spec survives encode and decode");
  } else {
    error_info decoded;
    try {
      decoded = decode_error_info(p, n);
    } catch (const decode_error&) {
      return 0;
    }
    auto once = encode_error_info(decoded);
    auto again = decode_error_info(once.data(), once.size());
    fuzz::require(again.kind == decoded.kind &&
                    again.message == decoded.message &&
                    again.type_name == decoded.type_name &&
                    again.task_name == decoded.task_name,
                  "an error info survives encode and decode");
  }
  return 0;
}
