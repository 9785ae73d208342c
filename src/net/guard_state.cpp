// The limits and shared state of a node's connection guards; see
// guard_state.hpp.
#include "net/guard_state.hpp"

#include <algorithm>
#include <cmath>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

constexpr const char* frame_memory_key = "lumen.frame-memory";
constexpr const char* handshake_key = "lumen.handshake-timeout-ms";
constexpr const char* idle_key = "lumen.idle-timeout-ms";
constexpr const char* proof_key = "lumen.transport-proof";
constexpr const char* max_message_key = "lumen.max-message-size";

using integer = caf::config_value::integer;

integer millis(double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0)
    return 0;
  return static_cast<integer>(std::ceil(seconds * 1000));
}

/// Hex, so that the config holds printable text.
std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string unhex(const std::string& text) {
  auto val = [](char c) {
    return c <= '9' ? c - '0' : c - 'a' + 10;
  };
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<char>(val(text[i]) * 16 + val(text[i + 1])));
  return out;
}

} // namespace

std::string transport_proof(const std::string& token) {
  if (token.empty())
    return {};
  auto text = std::string{"lumen transport proof v1\n"} + token;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) !=
        1 ||
      len < proof_size - proof_magic.size())
    throw error("cannot hash a token: OpenSSL's SHA-256 failed");
  std::string out(proof_magic.begin(), proof_magic.end());
  out.append(reinterpret_cast<const char*>(md),
             proof_size - proof_magic.size());
  return out;
}

bool transport_proof_matches(const std::string& expected,
                             const std::string& given) {
  return expected.size() == proof_size && given.size() == proof_size &&
         CRYPTO_memcmp(expected.data(), given.data(), proof_size) == 0;
}

void set_connection_limits(caf::actor_system_config& cfg, const config& c) {
  auto& content = cfg.content;
  caf::put(content, max_message_key, static_cast<integer>(c.max_message_size));
  auto frames = c.frame_memory == 0
                  ? c.max_message_size
                  : std::max(c.frame_memory, c.max_message_size);
  caf::put(content, frame_memory_key, static_cast<integer>(frames));
  caf::put(content, handshake_key, millis(c.handshake_timeout));
  caf::put(content, idle_key, millis(c.idle_timeout));
  caf::put(content, proof_key, hex(transport_proof(c.token)));
}

connection_limits connection_limits_of(const caf::actor_system_config& cfg) {
  connection_limits out;
  auto size = [&](const char* key, std::size_t fallback) {
    auto n = caf::get_or(cfg, key, static_cast<integer>(fallback));
    return n > 0 ? static_cast<std::size_t>(n) : fallback;
  };
  out.max_message_size = size(max_message_key, default_max_message_size);
  out.frame_memory = std::max(size(frame_memory_key, out.max_message_size),
                              out.max_message_size);
  auto ms = [&](const char* key, double fallback_seconds) {
    auto n = caf::get_or(cfg, key, millis(fallback_seconds));
    return std::chrono::milliseconds{n > 0 ? n : 0};
  };
  out.handshake_timeout = ms(handshake_key, default_handshake_timeout);
  out.idle_timeout = ms(idle_key, default_idle_timeout);
  out.proof = unhex(caf::get_or(cfg, proof_key, std::string{}));
  return out;
}

guard_state::guard_state(connection_limits limits)
  : limits_(std::move(limits)) {}

bool guard_state::reserve(std::size_t n) {
  auto cur = held_.load();
  do {
    if (n > limits_.frame_memory || cur > limits_.frame_memory - n)
      return false;
  } while (!held_.compare_exchange_weak(cur, cur + n));
  return true;
}

void guard_state::release(std::size_t n) {
  held_.fetch_sub(n);
}

void guard_state::watch(caf::io::scribe_ptr keep, timed_connection* conn) {
  std::lock_guard guard{mtx_};
  watched_.emplace_back(std::move(keep), conn);
}

void guard_state::clear() {
  decltype(watched_) all;
  {
    std::lock_guard guard{mtx_};
    all.swap(watched_);
  }
}

bool guard_state::watching() const {
  std::lock_guard guard{mtx_};
  return !watched_.empty();
}

void guard_state::sweep(std::chrono::steady_clock::time_point now) {
  decltype(watched_) all;
  {
    std::lock_guard guard{mtx_};
    all.swap(watched_);
  }
  // Outside the lock: closing a connection may create or watch others.
  decltype(watched_) kept;
  for (auto& entry : all)
    if (entry.second->check_deadlines(now))
      kept.push_back(std::move(entry));
  std::lock_guard guard{mtx_};
  kept.insert(kept.end(), std::make_move_iterator(watched_.begin()),
              std::make_move_iterator(watched_.end()));
  watched_.swap(kept);
}

} // namespace lumen::detail
