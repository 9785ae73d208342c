// The one-time ticket of a transfer on the object channel
// (bulk_channel.hpp), and its wire form (inside a pull request).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lumen::detail {

/// What a puller gives the holder of a value: the address of the puller's
/// channel and the one-time nonce that the transfer must present.
struct bulk_ticket {
  std::string host;
  std::uint16_t port = 0;
  std::array<char, 16> nonce{};
};

/// The wire form of a ticket: nonce, port, host.
std::vector<char> encode_ticket(const bulk_ticket& t);

/// A ticket from its wire form; throws lumen::decode_error.
bulk_ticket decode_ticket(const char* p, std::size_t n);

/// "HOST:PORT" of a ticket's channel.
std::string address_of(const bulk_ticket& t);

} // namespace lumen::detail
