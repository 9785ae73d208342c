// `lumen tls init DIR`: a cluster CA, node certificates and a cluster
// token for a test cluster, made with OpenSSL's C API (no `openssl`
// command needed).
//
// Keys are EC P-256, certificates X.509 v3 signed with SHA-256. The CA is
// self-signed (basicConstraints CA:TRUE, pathlen 0; keyCertSign, cRLSign).
// Each node certificate has CA:FALSE, digitalSignature and the extended key
// usages serverAuth and clientAuth, since every node both accepts and makes
// connections. No host names: CAF's TLS checks the chain, not the name.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/command_line.hpp"
#include "cli/values.hpp"
#include "net/token.hpp"

namespace lumen::cli {

namespace {

constexpr const char* tls_usage = "lumen tls init DIR [--nodes N] [--days D]";

constexpr const char* tls_about =
  "Makes what a test cluster needs for TLS in DIR (created, mode 700):\n"
  "ca.pem and ca.key, a cluster CA; node1.pem/node1.key ... nodeN, one\n"
  "certificate and key per node or driver, signed by the CA; token, a\n"
  "random cluster token. Keys and the token are mode 600. Give each node\n"
  "tls-certificate = DIR/nodeK.pem, tls-key = DIR/nodeK.key, tls-ca =\n"
  "DIR/ca.pem and token-file = DIR/token (see configs/tls/). ca.key signs\n"
  "new members: keep it off the nodes. A second DIR is a separate CA whose\n"
  "certificates the first cluster refuses. Fails if DIR holds ca.key.";

const std::vector<option_spec>& tls_option_specs() {
  using k = option_kind;
  static const std::vector<option_spec> specs{
    {"help", k::flag, "", "print this help", false},
    {"nodes", k::value, "N",
     "node certificates to make, 1 to 1000 (default: 3)"},
    {"days", k::value, "D",
     "days the certificates stay valid, 1 to 36500 (default: 365)"},
  };
  return specs;
}

// -- OpenSSL ownership
// ----------------------------------------------------------

struct pkey_free {
  void operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
  }
};
struct x509_free {
  void operator()(X509* p) const {
    X509_free(p);
  }
};
struct bio_free {
  void operator()(BIO* p) const {
    BIO_free(p);
  }
};
struct bn_free {
  void operator()(BIGNUM* p) const {
    BN_free(p);
  }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

/// Throws std::runtime_error "<what>: <OpenSSL's errors>".
[[noreturn]] void openssl_failed(const std::string& what) {
  std::string why;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    why += why.empty() ? "" : "; ";
    why += buf;
  }
  throw std::runtime_error(what + ": " + (why.empty() ? "unknown" : why));
}

pkey_ptr new_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    openssl_failed("cannot make an EC P-256 key");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    openssl_failed(std::string{"cannot make the extension "} + value);
  auto ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1)
    openssl_failed(std::string{"cannot add the extension "} + value);
}

/// A certificate for `key` named `common_name`, valid for `days` from now,
/// with a random serial; not signed yet.
x509_ptr new_certificate(EVP_PKEY* key, const std::string& common_name,
                         long days) {
  x509_ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), 2) != 1)
    openssl_failed("cannot make a certificate");
  std::unique_ptr<BIGNUM, bn_free> serial{BN_new()};
  if (!serial ||
      BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
        nullptr)
    openssl_failed("cannot make a serial number");
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400L) ==
        nullptr ||
      X509_set_pubkey(cert.get(), key) != 1)
    openssl_failed("cannot set the validity or key of a certificate");
  auto* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(
          name, field, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
          0) != 1)
      openssl_failed("cannot set the name of a certificate");
  };
  add("O", "Lumen");
  add("CN", common_name);
  return cert;
}

void sign(X509* cert, EVP_PKEY* issuer_key) {
  if (X509_sign(cert, issuer_key, EVP_sha256()) == 0)
    openssl_failed("cannot sign a certificate");
}

// -- files
// ------------------------------------------------------------------------

/// Writes `write(bio)`'s PEM output to a new file `path` with `mode`.
template <class Write>
void write_pem(const std::string& path, mode_t mode, Write write) {
  std::unique_ptr<BIO, bio_free> mem{BIO_new(BIO_s_mem())};
  if (!mem || write(mem.get()) != 1)
    openssl_failed("cannot write " + path);
  char* data = nullptr;
  auto size = BIO_get_mem_data(mem.get(), &data);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    throw std::runtime_error("cannot create " + path + ": " +
                             std::strerror(errno));
  auto written = ::write(fd, data, static_cast<size_t>(size));
  auto closed = ::close(fd);
  if (written != size || closed != 0)
    throw std::runtime_error("cannot write " + path + ": " +
                             std::strerror(errno));
}

void write_key(const std::string& path, EVP_PKEY* key) {
  write_pem(path, 0600, [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr,
                                    nullptr);
  });
}

void write_certificate(const std::string& path, X509* cert) {
  write_pem(path, 0644, [cert](BIO* bio) {
    return PEM_write_bio_X509(bio, cert);
  });
}

void write_token(const std::string& path) {
  auto token = lumen::detail::random_token() + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 ||
      ::write(fd, token.data(), token.size()) !=
        static_cast<ssize_t>(token.size()) ||
      ::close(fd) != 0)
    throw std::runtime_error("cannot write " + path + ": " +
                             std::strerror(errno));
}

long bounded(const settings& in, const char* key, long fallback, long max) {
  auto i = in.find(key);
  if (i == in.end())
    return fallback;
  auto& s = i->second.back();
  try {
    auto v = parse_unsigned(s.value, static_cast<std::uint64_t>(max));
    if (v == 0)
      throw value_error("expected at least 1, got " + in_quotes(s.value));
    return static_cast<long>(v);
  } catch (const value_error& e) {
    fail(key, s, e.what());
  }
}

int run_init(const std::string& dir, const settings& in) {
  namespace fs = std::filesystem;
  auto nodes = bounded(in, "nodes", 3, 1000);
  auto days = bounded(in, "days", 365, 36500);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST)
      throw std::runtime_error("cannot create " + dir + ": " +
                               std::strerror(errno));
    if (!fs::is_directory(dir))
      throw std::runtime_error(dir + " exists and is not a directory");
  }
  if (fs::exists(fs::path{dir} / "ca.key"))
    throw std::runtime_error(dir + "/ca.key exists: remove the directory's "
                                   "files or choose another directory");
  auto at = [&](const std::string& name) {
    return (fs::path{dir} / name).string();
  };
  auto ca_key = new_key();
  auto ca = new_certificate(
    ca_key.get(),
    "Lumen cluster CA " + lumen::detail::random_token().substr(0, 8), days);
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  add_ext(ca.get(), ca.get(), NID_basic_constraints,
          "critical,CA:TRUE,pathlen:0");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  sign(ca.get(), ca_key.get());
  write_key(at("ca.key"), ca_key.get());
  write_certificate(at("ca.pem"), ca.get());
  for (long i = 1; i <= nodes; ++i) {
    auto key = new_key();
    auto name = "node" + std::to_string(i);
    auto cert = new_certificate(key.get(), "lumen " + name, days);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
    add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    sign(cert.get(), ca_key.get());
    write_key(at(name + ".key"), key.get());
    write_certificate(at(name + ".pem"), cert.get());
  }
  write_token(at("token"));
  auto abs = fs::absolute(dir).lexically_normal().string();
  std::cout << "lumen tls: made a cluster CA, " << nodes << " node certificate"
            << (nodes == 1 ? "" : "s") << " (valid " << days
            << " days) and a token in " << abs
            << "\n  ca.pem ca.key (keep ca.key off the nodes)\n"
            << "  node1.pem node1.key"
            << (nodes > 1 ? " ... node" + std::to_string(nodes) + ".key" : "")
            << "\n  token\n\nGive each node and driver its own certificate:\n"
            << "  lumen start --head --host HOST --tls-certificate " << abs
            << "/node1.pem --tls-key " << abs << "/node1.key --tls-ca " << abs
            << "/ca.pem --token-file " << abs << "/token\n"
            << "(or the keys of configs/tls/head.ini; a driver: "
               "LUMEN_TLS_CERTIFICATE, LUMEN_TLS_KEY, LUMEN_TLS_CA, "
               "LUMEN_TOKEN)\n";
  return 0;
}

} // namespace

int run_tls(const arguments& args) {
  auto& specs = tls_option_specs();
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    print_help(args.empty() ? std::cerr : std::cout, tls_usage, tls_about,
               specs);
    return args.empty() ? 2 : 0;
  }
  if (args.front() != "init")
    throw usage_error("unknown tls command '" + args.front() +
                      "' (the one command is: init DIR)");
  if (args.size() < 2 || args[1].rfind("-", 0) == 0) {
    auto in = parse_command_line({args.begin() + 1, args.end()}, specs);
    if (in.count("help") > 0) {
      print_help(std::cout, tls_usage, tls_about, specs);
      return 0;
    }
    throw usage_error("lumen tls init needs the directory to write to: " +
                      std::string{tls_usage});
  }
  auto in = parse_command_line({args.begin() + 2, args.end()}, specs);
  if (in.count("help") > 0) {
    print_help(std::cout, tls_usage, tls_about, specs);
    return 0;
  }
  return run_init(args[1], in);
}

} // namespace lumen::cli
