// Tickets of the object channel and their wire form.
#include "net/bulk_ticket.hpp"

#include <algorithm>

#include "lumen/error.hpp"

namespace lumen::detail {

std::vector<char> encode_ticket(const bulk_ticket& t) {
  std::vector<char> out(t.nonce.begin(), t.nonce.end());
  out.push_back(static_cast<char>(t.port >> 8));
  out.push_back(static_cast<char>(t.port & 0xff));
  out.insert(out.end(), t.host.begin(), t.host.end());
  return out;
}

bulk_ticket decode_ticket(const char* p, std::size_t n) {
  bulk_ticket t;
  if (n < t.nonce.size() + 3 || n > t.nonce.size() + 2 + 255)
    throw decode_error("a transfer ticket has 19 to 273 bytes, got " +
                       std::to_string(n));
  std::copy(p, p + t.nonce.size(), t.nonce.begin());
  p += t.nonce.size();
  t.port = static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                                      static_cast<unsigned char>(p[1]));
  t.host.assign(p + 2, n - t.nonce.size() - 2);
  if (t.port == 0)
    throw decode_error("a transfer ticket names port 0");
  return t;
}

std::string address_of(const bulk_ticket& t) {
  return t.host + ":" + std::to_string(t.port);
}

} // namespace lumen::detail
