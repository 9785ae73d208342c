// Cluster tokens: constant-time comparison, files, fresh tokens.
#include "net/token.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

using digest = unsigned char[EVP_MAX_MD_SIZE];

unsigned sha256(std::string_view text, digest& out) {
  unsigned len = 0;
  if (EVP_Digest(text.data(), text.size(), out, &len, EVP_sha256(), nullptr) !=
      1)
    throw error("cannot hash a token: OpenSSL's SHA-256 failed");
  return len;
}

} // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  digest da;
  digest db;
  auto n = sha256(a, da);
  sha256(b, db);
  return CRYPTO_memcmp(da, db, n) == 0;
}

void check_token(const std::string& token, const std::string& origin) {
  if (token.size() < min_token_length)
    throw error(origin + ": the cluster token is too short (" +
                std::to_string(token.size()) + " characters; at least " +
                std::to_string(min_token_length) +
                "): use e.g. the token file `lumen tls init DIR` writes, or "
                "`head -c 32 /dev/urandom | xxd -p -c 64`");
  for (unsigned char c : token)
    if (c <= ' ' || c >= 0x7f)
      throw error(origin + ": the cluster token may hold printable ASCII "
                           "characters only, without spaces");
}

std::string read_token_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw error("cannot read the token file '" + path +
                "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw error("the token file '" + path + "' is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    throw error("the token file '" + path +
                "' may be read or written by other users; make it private "
                "(chmod 600 '" +
                path + "')");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw error("cannot read the token file '" + path +
                "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  auto token = text.str();
  auto space = " \t\r\n";
  auto first = token.find_first_not_of(space);
  auto last = token.find_last_not_of(space);
  token = first == std::string::npos ? std::string{}
                                     : token.substr(first, last - first + 1);
  check_token(token, "token file '" + path + "'");
  return token;
}

std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    throw error("cannot make a token: OpenSSL's RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  return out;
}

} // namespace lumen::detail
