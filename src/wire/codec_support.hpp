// Helpers shared by the Cap'n Proto codecs in src/wire: ids, limits,
// flat buffers and bounds-checked reading of untrusted bytes.
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/detail/object_data.hpp"
#include "lumen/error.hpp"
#include "lumen/ids.hpp"
#include "lumen/wire/task_spec.capnp.h"

namespace lumen::detail::wire_support {

/// Largest Data or List a Cap'n Proto message can hold (29-bit counts).
inline constexpr std::size_t max_elements = (std::size_t{1} << 29) - 1;

/// Deepest pointer nesting accepted; a TaskSpec nests 6 levels deep.
inline constexpr int nesting_limit = 64;

inline void write_id(wire::TaskId::Builder out, const task_id& id) {
  out.setHi(id.hi);
  out.setLo(id.lo);
}

inline void write_id(wire::ObjectId::Builder out, const object_id& id) {
  write_id(out.initTask(), id.task);
  out.setIndex(id.index);
}

inline task_id read_id(wire::TaskId::Reader in) {
  task_id result;
  result.hi = in.getHi();
  result.lo = in.getLo();
  return result;
}

inline object_id read_id(wire::ObjectId::Reader in) {
  object_id result;
  result.task = read_id(in.getTask());
  result.index = in.getIndex();
  return result;
}

/// Narrows a container size to a Cap'n Proto element count.
inline unsigned int element_count(std::size_t n, const char* what) {
  if (n > max_elements)
    throw lumen::error("encode: " + std::string{what} + " has " +
                       std::to_string(n) + " elements, at most " +
                       std::to_string(max_elements) + " fit");
  return static_cast<unsigned int>(n);
}

inline kj::StringPtr text(const std::string& str) {
  return kj::StringPtr(str.c_str(), str.size());
}

/// Words a Text of `n` bytes takes (NUL included).
inline std::size_t text_words(std::size_t n) {
  return (n + 8) / 8;
}

/// Writes `builder` as one flat message into a fresh buffer.
inline byte_buffer flatten(capnp::MessageBuilder& builder) {
  auto bytes =
    capnp::computeSerializedSizeInWords(builder) * sizeof(capnp::word);
  byte_buffer result{bytes};
  auto* out = reinterpret_cast<kj::byte*>(result.grow(bytes));
  kj::ArrayOutputStream stream{kj::arrayPtr(out, bytes)};
  capnp::writeMessage(stream, builder);
  return result;
}

[[noreturn]] inline void fail(const char* what, const std::string& why) {
  throw decode_error(std::string{what} + ": " + why);
}

inline std::string to_std(kj::StringPtr in) {
  return std::string(in.cStr(), in.size());
}

inline std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

/// Checks the framing of `data`, reads it as one message and calls
/// `f(reader)`. Cap'n Proto's structural errors become decode_error.
template <class F>
inline auto with_message(const char* what, const char* data, std::size_t size,
                         F f) {
  constexpr auto word_size = sizeof(capnp::word);
  if (size == 0)
    fail(what, "empty input");
  if (data == nullptr)
    fail(what, "no input");
  if (size % word_size != 0)
    fail(what, "size " + std::to_string(size) + " is not a multiple of 8");
  auto num_words = size / word_size;
  // Cap'n Proto reads words in place; copy input that is not word aligned.
  kj::Array<capnp::word> copy;
  const capnp::word* words;
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(capnp::word) == 0) {
    words = reinterpret_cast<const capnp::word*>(data);
  } else {
    copy = kj::heapArray<capnp::word>(num_words);
    std::memcpy(copy.begin(), data, size);
    words = copy.begin();
  }
  capnp::ReaderOptions options;
  // A valid message reads each of its words about once; the factor leaves
  // room and still bounds an amplifying message to linear work.
  options.traversalLimitInWords = 2 * num_words + 64;
  options.nestingLimit = nesting_limit;
  try {
    capnp::FlatArrayMessageReader reader{kj::arrayPtr(words, num_words),
                                         options};
    if (reader.getEnd() != words + num_words)
      fail(what, "trailing bytes after the message");
    return f(reader);
  } catch (const kj::Exception& e) {
    fail(what, to_std(e.getDescription()));
  }
}

/// True if `kind` names an error_kind. A switch without default, so that
/// -Wswitch flags this function when error_kind grows.
inline bool known_kind(std::uint8_t kind) {
  switch (static_cast<error_kind>(kind)) {
  case error_kind::task_failed:
  case error_kind::function_not_found:
  case error_kind::type_mismatch:
  case error_kind::object_lost:
  case error_kind::store_full:
  case error_kind::actor_died:
  case error_kind::actor_creation:
  case error_kind::runtime_error:
  case error_kind::owner_died:
    return true;
  }
  return false;
}

} // namespace lumen::detail::wire_support
