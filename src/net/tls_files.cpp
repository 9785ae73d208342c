// check_tls_files: OpenSSL's own checks, before CAF's session uses the
// files.
#include "net/tls_files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "lumen/error.hpp"

namespace lumen::detail {

std::string openssl_errors() {
  std::string out;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out;
}

namespace {

struct bio_free {
  void operator()(BIO* p) const {
    BIO_free(p);
  }
};
struct x509_free {
  void operator()(X509* p) const {
    X509_free(p);
  }
};
struct pkey_free {
  void operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
  }
};
struct store_free {
  void operator()(X509_STORE* p) const {
    X509_STORE_free(p);
  }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* p) const {
    X509_STORE_CTX_free(p);
  }
};
struct chain_free {
  void operator()(STACK_OF(X509) * p) const {
    sk_X509_pop_free(p, X509_free);
  }
};

using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

/// OpenSSL's queued errors, or why a PEM read failed without any.
std::string pem_errors() {
  auto out = openssl_errors();
  return out.empty() ? std::string{"no PEM data"} : out;
}

bio_ptr open_file(const std::string& what, const std::string& path) {
  ERR_clear_error();
  bio_ptr bio{BIO_new_file(path.c_str(), "r")};
  if (!bio)
    throw error(what + " '" + path +
                "' cannot be read: " + std::strerror(errno));
  return bio;
}

/// Every certificate in PEM file `path`; at least one.
std::vector<x509_ptr> read_certificates(const std::string& what,
                                        const std::string& path) {
  auto bio = open_file(what, path);
  std::vector<x509_ptr> out;
  while (auto* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(cert);
  if (out.empty())
    throw error(what + " '" + path +
                "' holds no PEM certificate: " + pem_errors());
  ERR_clear_error(); // the end of the file reads as an error
  return out;
}

void check_private(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw error("the TLS key '" + path +
                "' cannot be read: " + std::strerror(errno));
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    throw error("the TLS key '" + path +
                "' may be read or written by other users; make it private "
                "(chmod 600 '" +
                path + "')");
}

/// A callback that refuses to ask for a passphrase.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

/// Verifies `leaf` (with `chain`) against `store` for `purpose`; returns
/// OpenSSL's reason, empty if it verifies.
std::string verify(X509_STORE* store, X509* leaf, STACK_OF(X509) * chain,
                   int purpose) {
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, leaf, chain) != 1)
    return "cannot set up verification: " + pem_errors();
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1)
    return {};
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

} // namespace

bool tls_configured(const tls_config& tls) {
  return !tls.certificate.empty() || !tls.key.empty() || !tls.ca.empty();
}

void check_tls_files(const tls_config& tls) {
  std::string missing;
  for (auto [name, value] :
       {std::pair{"tls-certificate", &tls.certificate},
        std::pair{"tls-key", &tls.key}, std::pair{"tls-ca", &tls.ca}})
    if (value->empty())
      missing += (missing.empty() ? "" : ", ") + std::string{name};
  if (!missing.empty())
    throw error("TLS needs tls-certificate, tls-key and tls-ca together "
                "(LUMEN_TLS_CERTIFICATE, LUMEN_TLS_KEY, LUMEN_TLS_CA for a "
                "driver); missing: " +
                missing +
                ". Without all three CAF would fall back to unauthenticated "
                "connections, so the node does not start");
  auto certs = read_certificates("the TLS certificate", tls.certificate);
  std::unique_ptr<STACK_OF(X509), chain_free> chain{sk_X509_new_null()};
  for (std::size_t i = 1; i < certs.size(); ++i)
    sk_X509_push(chain.get(), X509_dup(certs[i].get()));
  check_private(tls.key);
  std::unique_ptr<EVP_PKEY, pkey_free> key;
  {
    auto bio = open_file("the TLS key", tls.key);
    key.reset(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
      throw error("the TLS key '" + tls.key +
                  "' holds no unencrypted PEM private key: " + pem_errors());
  }
  auto* leaf = certs.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    throw error("the TLS key '" + tls.key +
                "' does not belong to the certificate '" + tls.certificate +
                "'");
  }
  auto cas = read_certificates("the TLS CA file", tls.ca);
  std::unique_ptr<X509_STORE, store_free> store{X509_STORE_new()};
  for (auto& ca : cas)
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1)
      throw error("the TLS CA file '" + tls.ca +
                  "' cannot be used: " + pem_errors());
  for (auto [purpose, role] : {std::pair{X509_PURPOSE_SSL_SERVER, "server"},
                               std::pair{X509_PURPOSE_SSL_CLIENT, "client"}}) {
    auto why = verify(store.get(), leaf, chain.get(), purpose);
    if (!why.empty())
      throw error("the TLS certificate '" + tls.certificate +
                  "' does not verify against the CA file '" + tls.ca +
                  "' as a TLS " + role + " (every node is both): " + why);
  }
}

} // namespace lumen::detail
