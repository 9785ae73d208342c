// bulk_channel: tickets, and the broker that sends and receives frames.
#include "net/bulk_channel.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>

#include "log/log.hpp"
#include "lumen/error.hpp"
#include "net/bulk_sockets.hpp"
#include "net/bulk_stream.hpp"
#include "net/transport.hpp"

namespace lumen::detail {

namespace {

using caf::io::connection_handle;
using caf::io::network::native_socket;
using clock_type = std::chrono::steady_clock;

constexpr char magic[8] = {'L', 'U', 'M', 'E', 'N', 'O', 'B', 'J'};

/// Magic, nonce, size.
constexpr std::size_t header_size = 8 + 16 + 8;

constexpr std::chrono::seconds header_timeout{5};

/// A connection with nothing to do for this long is closed.
constexpr std::chrono::seconds linger{60};

constexpr char ack_byte = 'K';

/// Refusals logged one by one; past that, one line per thousand.
constexpr std::size_t refusals_logged = 20;

using tick_atom = caf::atom_constant<caf::atom("bulktick")>;
using send_atom = caf::atom_constant<caf::atom("bulksend")>;

} // namespace

// -- shared state -------------------------------------------------------------

struct bulk_channel::impl {
  struct expected {
    std::uint64_t size = 0;
    receive_callback done;
  };

  /// One frame to send.
  struct job {
    std::array<char, 16> nonce{};
    std::string to;
    const char* p = nullptr;
    std::uint64_t n = 0;
    std::shared_ptr<const void> keep;
    send_callback done;
  };

  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
  caf::actor broker;
  std::atomic<std::size_t> refused{0};

  std::mutex mtx;
  /// Tickets issued and not used, by nonce.
  std::map<std::string, expected> tickets;

  /// The ticket of `nonce`, removed (one transfer per ticket); no callback
  /// if none.
  expected take(const std::string& nonce) {
    std::lock_guard guard{mtx};
    expected e;
    if (auto i = tickets.find(nonce); i != tickets.end()) {
      e = std::move(i->second);
      tickets.erase(i);
    }
    return e;
  }

  void log_refusal(const std::string& peer, const std::string& why) {
    auto n = ++refused;
    if (n <= refusals_logged || n % 1000 == 0)
      log_warn("object transfer: refused a connection from ", peer, ": ", why,
               " (", n, " refused so far)");
  }
};

} // namespace lumen::detail

// A frame to send, handed to the broker within this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(
  std::shared_ptr<lumen::detail::bulk_channel::impl::job>)

namespace lumen::detail {

namespace {

using impl = bulk_channel::impl;
using job_ptr = std::shared_ptr<impl::job>;

/// A connection this node accepted: frames come in.
struct in_conn {
  bulk_scribe_ptr s;
  std::string peer;
  clock_type::time_point opened;
  clock_type::time_point last;
  /// Frames completed on it.
  std::size_t frames = 0;
  bool in_body = false;
  std::string nonce;
  impl::expected e;
  byte_buffer bytes;
  /// Bytes of the body in `bytes` at the last tick.
  std::uint64_t got = 0;
};

/// A connection this node opened: frames go out.
struct out_conn {
  bulk_scribe_ptr s;
  std::string to;
  clock_type::time_point last;
  /// Frames handed to the connection (written straight from the object's
  /// memory, which `keep` holds), waiting for their acknowledgment, in
  /// order.
  std::deque<job_ptr> unacked;
  /// Whether any byte was written (else a close means it never connected).
  bool written = false;
};

struct broker_state {
  std::shared_ptr<impl> shared;
  caf::io::accept_handle door;
  std::map<connection_handle, in_conn> ins;
  std::map<connection_handle, out_conn> outs;
  std::map<std::string, connection_handle> out_by_address;
  /// Connections the doorman accepted, until their new_connection_msg.
  std::map<connection_handle, bulk_scribe_ptr> accepted;

  broker_state() = default;
  broker_state(const broker_state&) = delete;
  broker_state& operator=(const broker_state&) = delete;

  /// The scribes may outlive the buffers their transfers point into.
  ~broker_state() {
    for (auto& [hdl, c] : ins)
      c.s->read_into(nullptr, 0);
    for (auto& [hdl, c] : outs)
      c.s->discard_writes();
  }
};

using broker_ptr = caf::io::broker*;

void read_header(broker_ptr self, connection_handle hdl) {
  self->configure_read(hdl, caf::io::receive_policy::exactly(header_size));
}

/// Closes an incoming connection; fails the transfer under way on it.
void drop_in(broker_ptr self, broker_state& st, connection_handle hdl,
             const std::string& why) {
  auto i = st.ins.find(hdl);
  if (i == st.ins.end())
    return;
  auto c = std::move(i->second);
  st.ins.erase(i);
  auto got = c.s->read_into_done();
  // No byte may land in the buffer once it is gone.
  c.s->read_into(nullptr, 0);
  self->close(hdl);
  if (c.in_body && c.e.done)
    c.e.done(byte_buffer{}, "the transfer broke off after " +
                              std::to_string(got) + " of " +
                              std::to_string(c.e.size) + " bytes: " + why);
}

void refuse_in(broker_ptr self, broker_state& st, connection_handle hdl,
               const std::string& why) {
  if (auto i = st.ins.find(hdl); i != st.ins.end())
    st.shared->log_refusal(i->second.peer, why);
  drop_in(self, st, hdl, why);
}

void on_frame_done(broker_ptr self, connection_handle hdl, in_conn& c) {
  auto& wr = self->wr_buf(hdl);
  wr.push_back(ack_byte);
  self->flush(hdl);
  auto e = std::move(c.e);
  auto bytes = std::move(c.bytes);
  c.in_body = false;
  c.e = impl::expected{};
  c.bytes = byte_buffer{};
  c.got = 0;
  ++c.frames;
  read_header(self, hdl);
  e.done(std::move(bytes), std::string{});
}

void on_in_data(broker_ptr self, broker_state& st, connection_handle hdl,
                std::vector<char>& buf) {
  auto i = st.ins.find(hdl);
  if (i == st.ins.end())
    return;
  auto& c = i->second;
  c.last = clock_type::now();
  if (!c.in_body) {
    if (buf.size() != header_size ||
        std::memcmp(buf.data(), magic, sizeof(magic)) != 0) {
      refuse_in(self, st, hdl, "not a Lumen object transfer");
      return;
    }
    std::string nonce(buf.data() + 8, 16);
    std::uint64_t size = 0;
    std::memcpy(&size, buf.data() + 24, sizeof(size));
    auto e = st.shared->take(nonce);
    if (!e.done) {
      refuse_in(self, st, hdl, "unknown or already used transfer id");
      return;
    }
    if (size != e.size) {
      refuse_in(self, st, hdl,
                "announces " + std::to_string(size) + " bytes, " +
                  std::to_string(e.size) + " expected");
      e.done(byte_buffer{}, "the sender announced a wrong size");
      return;
    }
    byte_buffer bytes;
    try {
      bytes.reserve(static_cast<std::size_t>(size));
      bytes.grow(static_cast<std::size_t>(size));
    } catch (const std::bad_alloc&) {
      drop_in(self, st, hdl, "no memory");
      e.done(byte_buffer{}, "no memory for " + std::to_string(size) + " bytes");
      return;
    }
    c.in_body = true;
    c.nonce = std::move(nonce);
    c.e = std::move(e);
    c.bytes = std::move(bytes);
    c.got = 0;
    if (size == 0)
      on_frame_done(self, hdl, c);
    else // the body goes straight into the object's buffer
      c.s->read_into(c.bytes.data(), static_cast<std::size_t>(size));
    return;
  }
  // In a body, the scribe reports only its end, with no bytes.
  if (!buf.empty()) {
    refuse_in(self, st, hdl, "bytes outside a frame");
    return;
  }
  on_frame_done(self, hdl, c);
}

/// Closes an outgoing connection; fails every frame on it.
void drop_out(broker_ptr self, broker_state& st, connection_handle hdl,
              const std::string& why) {
  auto i = st.outs.find(hdl);
  if (i == st.outs.end())
    return;
  auto c = std::move(i->second);
  st.outs.erase(i);
  st.out_by_address.erase(c.to);
  // The scribe must not read the objects' memory once they are released.
  c.s->discard_writes();
  self->close(hdl);
  auto text = c.written ? "the connection to " + c.to + " " + why
                        : "cannot connect to " + c.to +
                            " (or it closed the connection at once)";
  for (auto& j : c.unacked)
    j->done(text);
}

/// Hands a frame to the connection: its header, then its bytes, written
/// from where they are.
void write_frame(broker_ptr self, connection_handle hdl, out_conn& c,
                 job_ptr j) {
  char header[header_size];
  std::memcpy(header, magic, sizeof(magic));
  std::memcpy(header + 8, j->nonce.data(), j->nonce.size());
  std::memcpy(header + 24, &j->n, sizeof(j->n));
  auto& wr = self->wr_buf(hdl);
  wr.insert(wr.end(), header, header + header_size);
  c.s->write_from(j->p, static_cast<std::size_t>(j->n));
  c.unacked.push_back(std::move(j));
}

void on_send(broker_ptr self, broker_state& st, job_ptr j) {
  auto k = st.out_by_address.find(j->to);
  if (k == st.out_by_address.end()) {
    std::string why;
    auto fd = start_connect(j->to, &why);
    if (fd < 0) {
      j->done(why);
      return;
    }
    auto scribe = stream_scribe(self->system(), fd, false);
    if (!scribe) {
      ::close(fd);
      j->done("no TLS session with " + j->to);
      return;
    }
    auto hdl = scribe->hdl();
    out_conn c;
    c.s = scribe;
    self->add_scribe(std::move(scribe));
    self->ack_writes(hdl, true);
    self->configure_read(hdl, caf::io::receive_policy::at_most(64));
    c.to = j->to;
    c.last = clock_type::now();
    st.outs.emplace(hdl, std::move(c));
    k = st.out_by_address.emplace(j->to, hdl).first;
  }
  auto& c = st.outs.at(k->second);
  if (c.unacked.empty())
    c.last = clock_type::now();
  write_frame(self, k->second, c, std::move(j));
}

void on_out_data(broker_ptr self, broker_state& st, connection_handle hdl,
                 const std::vector<char>& buf) {
  auto i = st.outs.find(hdl);
  if (i == st.outs.end())
    return;
  auto& c = i->second;
  c.last = clock_type::now();
  for (auto ch : buf) {
    if (ch != ack_byte || c.unacked.empty()) {
      drop_out(self, st, hdl, "sent a wrong acknowledgment");
      return;
    }
    auto j = std::move(c.unacked.front());
    c.unacked.pop_front();
    j->keep.reset();
    j->done(std::string{});
  }
}

void on_tick(broker_ptr self, broker_state& st) {
  auto now = clock_type::now();
  std::vector<std::pair<connection_handle, std::string>> refuse, drop, idle;
  for (auto& [hdl, c] : st.ins) {
    if (c.in_body) {
      auto got = c.s->read_into_done();
      if (got != c.got) {
        c.got = got;
        c.last = now;
      }
    }
    if (c.frames == 0 && !c.in_body && now - c.opened > header_timeout)
      refuse.emplace_back(hdl, "no complete header within " +
                                 std::to_string(header_timeout.count()) + " s");
    else if (c.in_body && now - c.last > bulk_channel::idle_timeout)
      drop.emplace_back(hdl, "the connection stayed silent too long");
    else if (!c.in_body && now - c.last > linger)
      idle.emplace_back(hdl, "");
  }
  for (auto& [hdl, why] : refuse)
    refuse_in(self, st, hdl, why);
  for (auto& [hdl, why] : drop)
    drop_in(self, st, hdl, why);
  for (auto& [hdl, why] : idle)
    drop_in(self, st, hdl, why);
  std::vector<connection_handle> stale, unused;
  for (auto& [hdl, c] : st.outs) {
    bool busy = !c.unacked.empty();
    if (busy && now - c.last > bulk_channel::idle_timeout)
      stale.push_back(hdl);
    else if (!busy && now - c.last > linger)
      unused.push_back(hdl);
  }
  for (auto hdl : stale)
    drop_out(self, st, hdl, "took nothing for too long");
  for (auto hdl : unused)
    drop_out(self, st, hdl, "was idle");
}

caf::behavior bulk_broker(broker_ptr self, std::shared_ptr<impl> shared,
                          native_socket listen_fd) {
  auto st = std::make_shared<broker_state>();
  st->shared = std::move(shared);
  std::weak_ptr<broker_state> weak = st;
  auto door =
    stream_doorman(self->system(), listen_fd, [weak](const bulk_scribe_ptr& s) {
      if (auto st = weak.lock())
        st->accepted[s->hdl()] = s;
    });
  if (!door) {
    log_error("object channel: cannot accept connections");
    ::close(listen_fd);
  } else {
    st->door = door->hdl();
    self->add_doorman(std::move(door));
  }
  self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
  return {
    [self, st](const caf::io::new_connection_msg& msg) {
      auto now = clock_type::now();
      auto& c = st->ins[msg.handle];
      if (auto i = st->accepted.find(msg.handle); i != st->accepted.end()) {
        c.s = std::move(i->second);
        st->accepted.erase(i);
      }
      if (!c.s) { // not from this channel's doorman: cannot happen
        st->ins.erase(msg.handle);
        self->close(msg.handle);
        return;
      }
      c.peer = self->remote_addr(msg.handle) + ":" +
               std::to_string(self->remote_port(msg.handle));
      c.opened = c.last = now;
      if (st->ins.size() > bulk_channel::max_receivers) {
        refuse_in(self, *st, msg.handle, "too many transfers at once");
        return;
      }
      read_header(self, msg.handle);
    },
    [self, st](caf::io::new_data_msg& msg) {
      if (st->ins.count(msg.handle) > 0)
        on_in_data(self, *st, msg.handle, msg.buf);
      else
        on_out_data(self, *st, msg.handle, msg.buf);
    },
    [self, st](const caf::io::data_transferred_msg& msg) {
      auto i = st->outs.find(msg.handle);
      if (i == st->outs.end())
        return;
      i->second.last = clock_type::now();
      i->second.written = true;
    },
    [self, st](const caf::io::connection_closed_msg& msg) {
      if (st->ins.count(msg.handle) > 0) {
        auto& c = st->ins[msg.handle];
        if (c.in_body)
          drop_in(self, *st, msg.handle, "the connection closed");
        else if (c.frames == 0)
          refuse_in(self, *st, msg.handle, "closed before sending a header");
        else
          st->ins.erase(msg.handle);
      } else {
        drop_out(self, *st, msg.handle, "closed");
      }
    },
    [](const caf::io::acceptor_closed_msg&) {
      log_warn("object channel: its listening port closed");
    },
    [self, st](send_atom, job_ptr& j) {
      on_send(self, *st, std::move(j));
    },
    [self, st](tick_atom) {
      on_tick(self, *st);
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    },
  };
}

} // namespace

// -- bulk_channel -------------------------------------------------------------

bulk_channel::bulk_channel(caf::actor_system& sys, const std::string& host)
  : impl_(std::make_shared<impl>()) {
  auto fd = listen_on(host, &impl_->port);
  impl_->host = host;
  impl_->tls = uses_tls(sys);
  impl_->broker = sys.middleman().spawn_broker(bulk_broker, impl_, fd);
}

bulk_channel::~bulk_channel() {
  {
    std::lock_guard guard{impl_->mtx};
    impl_->tickets.clear();
  }
  caf::anon_send_exit(impl_->broker, caf::exit_reason::user_shutdown);
}

const std::string& bulk_channel::host() const noexcept {
  return impl_->host;
}

std::uint16_t bulk_channel::port() const noexcept {
  return impl_->port;
}

std::string bulk_channel::address() const {
  return impl_->host + ":" + std::to_string(impl_->port);
}

bool bulk_channel::tls() const noexcept {
  return impl_->tls;
}

bulk_ticket bulk_channel::expect(std::uint64_t size, receive_callback done) {
  bulk_ticket t;
  t.host = impl_->host;
  t.port = impl_->port;
  std::size_t filled = 0;
  while (filled < t.nonce.size()) {
    auto n = ::getrandom(t.nonce.data() + filled, t.nonce.size() - filled, 0);
    if (n < 0 && errno != EINTR)
      throw error("object transfer: no random bytes: " + errno_text(errno));
    if (n > 0)
      filled += static_cast<std::size_t>(n);
  }
  std::lock_guard guard{impl_->mtx};
  impl_->tickets[std::string(t.nonce.data(), t.nonce.size())] =
    impl::expected{size, std::move(done)};
  return t;
}

bool bulk_channel::cancel(const bulk_ticket& t) {
  std::lock_guard guard{impl_->mtx};
  return impl_->tickets.erase(std::string(t.nonce.data(), t.nonce.size())) > 0;
}

void bulk_channel::send(const bulk_ticket& t, const std::string& to,
                        const char* p, std::uint64_t n,
                        std::shared_ptr<const void> keep, send_callback done) {
  auto j = std::make_shared<impl::job>();
  j->nonce = t.nonce;
  j->to = to;
  j->p = p;
  j->n = n;
  j->keep = std::move(keep);
  j->done = std::move(done);
  caf::anon_send(impl_->broker, send_atom::value, std::move(j));
}

std::size_t bulk_channel::refused() const noexcept {
  return impl_->refused.load();
}

} // namespace lumen::detail
