// The TLS middleman actor: session, policy, scribe, doorman and the actor,
// after libcaf_openssl 0.17.6 (see tls_transport.hpp for what differs).
#include "net/tls_transport.hpp"

#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/socket_guard.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>

#include "log/log.hpp"
#include "lumen/error.hpp"
#include "net/bulk_stream.hpp"
#include "net/socket_bio.hpp"
#include "net/tls_files.hpp"
#include "net/transport_guard.hpp"

namespace lumen::detail {

namespace {

using caf::io::network::native_socket;
using caf::io::network::rw_state;
using default_mpx = caf::io::network::default_multiplexer;
using ssl_ctx_ptr = std::shared_ptr<SSL_CTX>;

/// Blocks SIGPIPE on this thread while OpenSSL writes to a socket whose
/// peer may be gone (OpenSSL writes without MSG_NOSIGNAL), then drops a
/// SIGPIPE that came meanwhile and restores the mask (as CAF does).
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
  }

  ~sigpipe_guard() {
    timespec zero{};
    sigtimedwait(&pipe_, nullptr, &zero);
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }

  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t saved_;
};

/// "HOST:PORT" of the peer of `fd`, for the log.
std::string peer_of(native_socket fd) {
  auto host = caf::io::network::remote_addr_of_fd(fd);
  auto port = caf::io::network::remote_port_of_fd(fd);
  if (!host || !port)
    return "an unknown peer";
  return *host + ":" + std::to_string(*port);
}

/// Bytes OpenSSL reads from the socket at once on an object channel's
/// connection (read-ahead: several records per system call).
constexpr long bulk_read_buffer = 128 * 1024;

/// Bytes of TLS records an object channel's connection gathers before it
/// sends them (socket_bio.hpp: one system call per 16 KiB record costs
/// far more CPU than one per MiB).
constexpr int bulk_write_buffer = 1024 * 1024;

/// TLS 1.3 suites of the object channel, fastest first: AES-128-GCM takes
/// about 5% less CPU than AES-256-GCM here (`openssl speed -evp`); both
/// are TLS 1.3's standard AEADs. Control connections keep OpenSSL's order.
constexpr const char* bulk_suites =
  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// One TLS connection. Every OpenSSL call that SSL_get_error may judge
/// starts with an empty error queue, and every failure empties it again.
/// A `bulk` session (the object channel's) talks through a socket BIO
/// that cannot raise SIGPIPE (socket_bio.hpp), so its calls need no
/// signal mask, and reads ahead.
class session {
 public:
  explicit session(ssl_ctx_ptr ctx, bool bulk = false)
    : ctx_(std::move(ctx)), bulk_(bulk) {}

  ~session() {
    SSL_free(ssl_);
  }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  bool init() {
    ssl_ = SSL_new(ctx_.get());
    if (ssl_ == nullptr)
      return false;
    return !bulk_ || SSL_set_ciphersuites(ssl_, bulk_suites) == 1;
  }

  rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    return do_some(SSL_read, result, fd, buf, len, false);
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len) {
    auto write = [](SSL* ssl, void* data, int size) {
      return SSL_write(ssl, data, size);
    };
    return do_some(write, result, fd, const_cast<void*>(buf), len, true);
  }

  /// Whether OpenSSL holds input not read yet (decrypted or not).
  bool has_pending() const {
    return SSL_has_pending(ssl_) == 1;
  }

  /// Sends the records a bulk session's write buffer holds: success once
  /// none is left, indeterminate if the socket takes no more for now.
  rw_state flush_out() {
    auto* w = SSL_get_wbio(ssl_);
    if (!bulk_ || w == nullptr || BIO_wpending(w) == 0)
      return rw_state::success;
    if (BIO_flush(w) > 0)
      return rw_state::success;
    return BIO_should_retry(w) ? rw_state::indeterminate : rw_state::failure;
  }

  bool try_connect(native_socket fd) {
    std::optional<sigpipe_guard> guard;
    if (!attach(fd, guard))
      return false;
    SSL_set_connect_state(ssl_);
    ERR_clear_error();
    auto ret = SSL_connect(ssl_);
    if (ret == 1)
      return true;
    connecting_ = true;
    return handle_ssl_result(ret, fd);
  }

  bool try_accept(native_socket fd) {
    std::optional<sigpipe_guard> guard;
    if (!attach(fd, guard))
      return false;
    SSL_set_accept_state(ssl_);
    ERR_clear_error();
    auto ret = SSL_accept(ssl_);
    if (ret == 1)
      return true;
    accepting_ = true;
    return handle_ssl_result(ret, fd);
  }

  bool must_read_more(native_socket, size_t threshold) {
    return static_cast<size_t>(SSL_pending(ssl_)) >= threshold;
  }

 private:
  bool handshaking() const {
    return connecting_ || accepting_;
  }

  /// Puts the session on `fd`; `guard` blocks SIGPIPE unless bulk.
  bool attach(native_socket fd, std::optional<sigpipe_guard>& guard) {
    if (!bulk_) {
      guard.emplace();
      return SSL_set_fd(ssl_, fd) == 1;
    }
    auto* in = make_socket_bio(fd);
    if (in == nullptr)
      return false;
    auto* out = make_buffered_socket_bio(fd, bulk_write_buffer);
    if (out == nullptr) {
      BIO_free(in);
      return false;
    }
    SSL_set_bio(ssl_, in, out);
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_default_read_buffer_len(ssl_, bulk_read_buffer);
    return true;
  }

  /// Logs a handshake that failed: a peer without a certificate from the
  /// cluster CA, a plain TCP client, or one that hung up.
  void log_handshake_failure(native_socket fd, const std::string& why) {
    detail::log_warn(
      "TLS handshake with ", peer_of(fd), " failed (",
      (accepting_ ? "it connected here" : "this node connected"),
      "): ", (why.empty() ? "the peer closed the connection" : why));
  }

  /// Judges a result <= 0 of an OpenSSL I/O call: true if the call only
  /// has to wait for the socket.
  bool handle_ssl_result(int ret, native_socket fd) {
    auto err = SSL_get_error(ssl_, ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
      return true;
    auto why = openssl_errors();
    if (handshaking())
      log_handshake_failure(fd, why);
    return false;
  }

  template <class F>
  rw_state do_some(F f, size_t& result, native_socket fd, void* buf, size_t len,
                   bool writing) {
    std::optional<sigpipe_guard> guard;
    if (!bulk_)
      guard.emplace();
    result = 0;
    auto check = [&](int ret) {
      auto err = SSL_get_error(ssl_, ret);
      if (err == SSL_ERROR_WANT_READ)
        // Report success to poll on this socket.
        return len == 0 && writing ? rw_state::indeterminate
                                   : rw_state::success;
      if (err == SSL_ERROR_WANT_WRITE)
        return rw_state::success;
      auto why = openssl_errors();
      if (handshaking())
        log_handshake_failure(fd, why);
      return rw_state::failure;
    };
    if (connecting_) {
      ERR_clear_error();
      auto ret = SSL_connect(ssl_);
      if (ret != 1)
        return check(ret);
      connecting_ = false;
    }
    if (accepting_) {
      ERR_clear_error();
      auto ret = SSL_accept(ssl_);
      if (ret != 1)
        return check(ret);
      accepting_ = false;
    }
    if (len == 0)
      return rw_state::indeterminate;
    ERR_clear_error();
    auto ret = f(ssl_, buf, static_cast<int>(len));
    if (ret > 0) {
      result = static_cast<size_t>(ret);
      return rw_state::success;
    }
    return handle_ssl_result(ret, fd) ? rw_state::success : rw_state::failure;
  }

  ssl_ctx_ptr ctx_;
  bool bulk_;
  SSL* ssl_ = nullptr;
  bool connecting_ = false;
  bool accepting_ = false;
};

using session_ptr = std::unique_ptr<session>;

session_ptr make_session(const ssl_ctx_ptr& ctx, native_socket fd,
                         bool accepted, bool bulk = false) {
  auto ptr = std::make_unique<session>(ctx, bulk);
  if (!ptr->init())
    return nullptr;
  if (accepted ? !ptr->try_accept(fd) : !ptr->try_connect(fd))
    return nullptr;
  return ptr;
}

/// A TLS connection of the object channel (bulk_stream.hpp): OpenSSL
/// decrypts into and encrypts from the channel's buffers directly.
class tls_byte_io : public byte_io {
 public:
  explicit tls_byte_io(session_ptr s) : session_(std::move(s)) {}

  rw_state read_some(size_t& result, native_socket fd, void* buf,
                     size_t len) override {
    return session_->read_some(result, fd, buf, len);
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len) override {
    return session_->write_some(result, fd, buf, len);
  }

  bool pending() override {
    return session_->has_pending();
  }

  rw_state flush(native_socket) override {
    return session_->flush_out();
  }

  bool starts_with_write() const override {
    return true;
  }

 private:
  session_ptr session_;
};

/// The I/O policy of a TLS stream (CAF's ssl_policy).
struct ssl_policy {
  explicit ssl_policy(session_ptr s) : session_(std::move(s)) {}

  rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    return session_->read_some(result, fd, buf, len);
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len) {
    return session_->write_some(result, fd, buf, len);
  }

  bool must_read_more(native_socket fd, size_t threshold) {
    return session_->must_read_more(fd, threshold);
  }

  session_ptr session_;
};

/// A TLS connection as the BASP broker sees it (CAF's scribe_impl).
class scribe_impl : public caf::io::scribe {
 public:
  scribe_impl(default_mpx& mpx, native_socket fd, session_ptr s)
    : scribe(caf::io::network::conn_hdl_from_socket(fd)),
      stream_(mpx, fd, std::move(s)) {}

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_)
      launch();
  }

  void ack_writes(bool enable) override {
    stream_.ack_writes(enable);
  }

  std::vector<char>& wr_buf() override {
    return stream_.wr_buf();
  }

  std::vector<char>& rd_buf() override {
    return stream_.rd_buf();
  }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override {
    stream_.flush(this);
  }

  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }

  void launch() {
    launched_ = true;
    stream_.start(this);
    // Runs SSL_connect or SSL_accept on if the handshake is not done yet.
    stream_.force_empty_write(this);
  }

  void add_to_loop() override {
    stream_.activate(this);
  }

  void remove_from_loop() override {
    stream_.passivate();
  }

 private:
  bool launched_ = false;
  caf::io::network::stream_impl<ssl_policy> stream_;
};

/// A listening TLS port (CAF's doorman_impl with a session per accepted
/// connection). Its connections carry BASP (guarded) or, for the object
/// channel, a byte stream of its own (not guarded).
class doorman_impl : public caf::io::network::doorman_impl {
 public:
  doorman_impl(default_mpx& mx, native_socket fd, ssl_ctx_ptr ctx,
               bulk_accept_hook hook = nullptr)
    : caf::io::network::doorman_impl(mx, fd), ctx_(std::move(ctx)),
      hook_(std::move(hook)) {}

  bool new_connection() override {
    if (detached())
      return false;
    auto& dm = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::detail::socket_guard guard{fd};
    caf::io::network::nonblocking(fd, true);
    auto s = make_session(ctx_, fd, true, static_cast<bool>(hook_));
    if (s == nullptr)
      return false; // logged by the session
    // Messages above max-message-size are refused both ways, and the
    // handshake and idle deadlines apply (net/transport_guard.hpp).
    caf::io::scribe_ptr scribe;
    if (!hook_) {
      scribe = caf::make_counted<guarded_scribe<scribe_impl>>(
        guard_state_of(dm), true, true, dm, fd, std::move(s));
    } else {
      auto bulk = caf::make_counted<bulk_scribe>(
        dm, fd, std::make_unique<tls_byte_io>(std::move(s)));
      hook_(bulk);
      scribe = std::move(bulk);
    }
    guard.release(); // the scribe owns the socket now
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&dm, hdl);
  }

 private:
  ssl_ctx_ptr ctx_;
  /// Set for the object channel's port: its connections are bulk scribes.
  bulk_accept_hook hook_;
};

/// The context of each actor system that has TLS on, for the object
/// channel's connections (see tls_stream_scribe).
std::mutex contexts_mtx;
std::map<const caf::actor_system*, ssl_ctx_ptr> contexts;

ssl_ctx_ptr context_of(caf::actor_system& sys) {
  std::lock_guard guard{contexts_mtx};
  auto i = contexts.find(&sys);
  return i == contexts.end() ? nullptr : i->second;
}

/// CAF's middleman actor with TLS scribes and doormen.
class tls_middleman : public caf::io::middleman_actor_impl {
 public:
  tls_middleman(caf::actor_config& cfg, caf::actor broker, ssl_ctx_ptr ctx)
    : caf::io::middleman_actor_impl(cfg, std::move(broker)),
      ctx_(std::move(ctx)) {}

  const char* name() const override {
    return "lumen.tls_middleman";
  }

 protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    caf::detail::socket_guard guard{*fd};
    caf::io::network::nonblocking(*fd, true);
    auto s = make_session(ctx_, *fd, false);
    if (!s)
      return caf::sec::cannot_connect_to_node;
    guard.release();
    return caf::make_counted<guarded_scribe<scribe_impl>>(
      guard_state_of(mpx()), false, true, mpx(), *fd, std::move(s));
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<doorman_impl>(mpx(), *fd, ctx_);
  }

 private:
  default_mpx& mpx() {
    return static_cast<default_mpx&>(system().middleman().backend());
  }

  ssl_ctx_ptr ctx_;
};

/// The node's one SSL context: certificate chain, key, CA, peers verified
/// on both sides; throws lumen::error naming what OpenSSL refused.
ssl_ctx_ptr make_context(const tls_config& tls) {
  ERR_clear_error();
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  auto fail = [](const std::string& what) {
    throw error("TLS: " + what + ": " + openssl_errors());
  };
  if (!ctx)
    fail("cannot create an OpenSSL context");
  auto* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1)
    fail("cannot require TLS 1.2");
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(c, tls.certificate.c_str()) != 1)
    fail("cannot use the certificate '" + tls.certificate + "'");
  if (SSL_CTX_use_PrivateKey_file(c, tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("cannot use the key '" + tls.key + "'");
  if (SSL_CTX_check_private_key(c) != 1)
    fail("the key '" + tls.key + "' does not match the certificate");
  if (SSL_CTX_load_verify_locations(c, tls.ca.c_str(), nullptr) != 1)
    fail("cannot use the CA file '" + tls.ca + "'");
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  if (SSL_CTX_set_cipher_list(c, "HIGH:!aNULL:!MD5") != 1)
    fail("cannot set the cipher list");
  return ctx;
}

} // namespace

caf::io::middleman_actor make_tls_middleman(caf::actor_system& sys,
                                            const tls_config& tls) {
  auto ctx = make_context(tls);
  {
    std::lock_guard guard{contexts_mtx};
    contexts[&sys] = ctx;
  }
  auto broker =
    sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  return sys.spawn<tls_middleman, caf::detached + caf::hidden>(
    std::move(broker), std::move(ctx));
}

void forget_tls_context(caf::actor_system& sys) {
  std::lock_guard guard{contexts_mtx};
  contexts.erase(&sys);
}

bulk_scribe_ptr tls_stream_scribe(caf::actor_system& sys,
                                  caf::io::network::native_socket fd,
                                  bool accepted) {
  auto ctx = context_of(sys);
  if (!ctx)
    return nullptr;
  auto s = make_session(ctx, fd, accepted, true);
  if (s == nullptr)
    return nullptr; // logged by the session
  auto& mpx = static_cast<default_mpx&>(sys.middleman().backend());
  return caf::make_counted<bulk_scribe>(
    mpx, fd, std::make_unique<tls_byte_io>(std::move(s)));
}

caf::io::doorman_ptr tls_stream_doorman(caf::actor_system& sys,
                                        caf::io::network::native_socket fd,
                                        bulk_accept_hook hook) {
  auto ctx = context_of(sys);
  if (!ctx)
    return nullptr;
  auto& mpx = static_cast<default_mpx&>(sys.middleman().backend());
  return caf::make_counted<doorman_impl>(mpx, fd, std::move(ctx),
                                         std::move(hook));
}

} // namespace lumen::detail
