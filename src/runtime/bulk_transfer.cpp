// bulk_transfer: listener, receivers and senders of the direct channel.
#include "runtime/bulk_transfer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "lumen/error.hpp"
#include "runtime/log.hpp"

namespace lumen::detail {

// -- tickets ------------------------------------------------------------------

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

namespace {

constexpr char magic[8] = {'L', 'U', 'M', 'E', 'N', 'O', 'B', 'J'};

/// Magic, nonce, size.
constexpr std::size_t header_size = 8 + 16 + 8;

constexpr std::chrono::seconds header_timeout{5};

constexpr std::chrono::milliseconds connect_timeout{5000};

constexpr char ack_byte = 'K';

/// Refusals logged one by one; past that, one line per thousand.
constexpr std::size_t refusals_logged = 20;

std::string errno_text(int e) {
  return std::system_category().message(e);
}

void set_timeouts(int fd, std::chrono::seconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count());
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/// Reads until `*got` is `n`; returns "" or why it stopped.
std::string read_all(int fd, char* p, std::size_t n, std::size_t* got) {
  while (*got < n) {
    auto r = ::recv(fd, p + *got, n - *got, 0);
    if (r > 0) {
      *got += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0)
      return "the connection closed";
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return "the connection stayed silent too long";
    return errno_text(errno);
  }
  return {};
}

std::string write_all(int fd, const char* p, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    auto r = ::send(fd, p + done, n - done, MSG_NOSIGNAL);
    if (r >= 0) {
      done += static_cast<std::size_t>(r);
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return "the receiver took nothing for too long";
    return errno_text(errno);
  }
  return {};
}

std::string peer_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return "an unknown peer";
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host),
                    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "an unknown peer";
  return std::string{host} + ":" + port;
}

struct addr_list {
  addrinfo* head = nullptr;
  ~addr_list() {
    if (head != nullptr)
      ::freeaddrinfo(head);
  }
};

} // namespace

// -- state --------------------------------------------------------------------

struct bulk_transfer::impl {
  struct expected {
    std::uint64_t size = 0;
    receive_callback done;
  };

  std::string host;
  std::uint16_t port = 0;
  int listen_fd = -1;
  /// Written once at shutdown, never drained: wakes every poll on it.
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> refused{0};
  std::thread acceptor;

  std::mutex mtx;
  std::map<std::string, expected> tickets;
  /// Connections open now, shut down at stop to wake their threads.
  std::set<int> open;
  std::size_t receivers = 0;
  std::vector<std::thread> threads;
  std::vector<std::thread::id> finished;

  void listen_on(const std::string& h);
  void accept_loop();
  void receive(int fd);
  void refuse(int fd, const std::string& why);
  /// Connects to `t`'s address; -1 with `*why` set if it cannot.
  int connect_to(const bulk_ticket& t, std::string* why);
  void spawn(std::function<void()> fn);
  /// Forgets `fd` and closes it.
  void close_conn(int fd);
};

void bulk_transfer::impl::listen_on(const std::string& h) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addr_list addrs;
  if (int rc = ::getaddrinfo(h.c_str(), "0", &hints, &addrs.head); rc != 0)
    throw error("object transfer: cannot resolve " + h + ": " +
                ::gai_strerror(rc));
  std::string why = "no address";
  for (auto* a = addrs.head; a != nullptr; a = a->ai_next) {
    int fd =
      ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = errno_text(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      why = errno_text(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    port = ntohs(bound.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    listen_fd = fd;
    host = h;
    return;
  }
  throw error("object transfer: cannot listen on " + h + ": " + why);
}

void bulk_transfer::impl::spawn(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{mtx};
  for (auto id : finished) {
    auto i =
      std::find_if(threads.begin(), threads.end(), [id](const std::thread& t) {
        return t.get_id() == id;
      });
    if (i != threads.end()) {
      i->join(); // it has returned from its function: this is quick
      threads.erase(i);
    }
  }
  finished.clear();
  threads.emplace_back([this, fn = std::move(fn)] {
    fn();
    std::lock_guard<std::mutex> guard{mtx};
    finished.push_back(std::this_thread::get_id());
  });
}

void bulk_transfer::impl::close_conn(int fd) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    open.erase(fd);
  }
  ::close(fd);
}

void bulk_transfer::impl::refuse(int fd, const std::string& why) {
  auto n = ++refused;
  if (n <= refusals_logged || n % 1000 == 0)
    detail::log_warn("object transfer: refused a connection from ", peer_of(fd),
                     ": ", why, " (", n, " refused so far)");
}

void bulk_transfer::impl::accept_loop() {
  while (!stopping.load()) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR)
      return;
    if (stopping.load())
      return;
    if ((fds[0].revents & POLLIN) == 0)
      continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    bool room = false;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (receivers < max_receivers) {
        ++receivers;
        open.insert(fd);
        room = true;
      }
    }
    if (!room) {
      refuse(fd, "too many transfers at once");
      ::close(fd);
      continue;
    }
    spawn([this, fd] {
      receive(fd);
      close_conn(fd);
      std::lock_guard<std::mutex> guard{mtx};
      --receivers;
    });
  }
}

void bulk_transfer::impl::receive(int fd) {
  set_timeouts(fd, header_timeout);
  char header[header_size];
  std::size_t got = 0;
  if (auto why = read_all(fd, header, header_size, &got); !why.empty()) {
    refuse(fd, "no complete header (" + std::to_string(got) + " of " +
                 std::to_string(header_size) + " bytes): " + why);
    return;
  }
  if (std::memcmp(header, magic, sizeof(magic)) != 0) {
    refuse(fd, "not a Lumen object transfer");
    return;
  }
  std::string nonce(header + 8, 16);
  std::uint64_t size = 0;
  std::memcpy(&size, header + 24, sizeof(size));
  expected e;
  {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = tickets.find(nonce);
    if (i != tickets.end()) {
      e = std::move(i->second);
      tickets.erase(i); // one connection per ticket
    }
  }
  if (!e.done) {
    refuse(fd, "unknown or already used transfer id");
    return;
  }
  if (size != e.size) {
    refuse(fd, "announces " + std::to_string(size) + " bytes, " +
                 std::to_string(e.size) + " expected");
    e.done(byte_buffer{}, "the sender announced a wrong size");
    return;
  }
  byte_buffer bytes;
  try {
    bytes.reserve(static_cast<std::size_t>(size));
    bytes.grow(static_cast<std::size_t>(size));
  } catch (const std::bad_alloc&) {
    e.done(byte_buffer{}, "no memory for " + std::to_string(size) + " bytes");
    return;
  }
  set_timeouts(fd, idle_timeout);
  got = 0;
  if (auto why = read_all(fd, bytes.data(), bytes.size(), &got); !why.empty()) {
    e.done(byte_buffer{}, "the transfer broke off after " +
                            std::to_string(got) + " of " +
                            std::to_string(size) + " bytes: " + why);
    return;
  }
  write_all(fd, &ack_byte, 1); // a sender that is gone cannot hear it
  e.done(std::move(bytes), std::string{});
}

int bulk_transfer::impl::connect_to(const bulk_ticket& t, std::string* why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addr_list addrs;
  auto port_text = std::to_string(t.port);
  if (int rc =
        ::getaddrinfo(t.host.c_str(), port_text.c_str(), &hints, &addrs.head);
      rc != 0) {
    *why = "cannot resolve " + t.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  *why = "no address for " + t.host;
  for (auto* a = addrs.head; a != nullptr; a = a->ai_next) {
    int fd =
      ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      *why = errno_text(errno);
      continue;
    }
    {
      std::lock_guard<std::mutex> guard{mtx};
      open.insert(fd);
    }
    if (stopping.load()) {
      close_conn(fd);
      *why = "the node is shutting down";
      return -1;
    }
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd fds[2] = {{fd, POLLOUT, 0}, {wake[0], POLLIN, 0}};
      int n = ::poll(fds, 2, static_cast<int>(connect_timeout.count()));
      socklen_t len = sizeof(err);
      if (n <= 0 || stopping.load())
        err = ETIMEDOUT;
      else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    }
    if (err == 0) {
      ::fcntl(fd, F_SETFL, flags);
      return fd;
    }
    *why =
      "cannot connect to " + t.host + ":" + port_text + ": " + errno_text(err);
    close_conn(fd);
  }
  return -1;
}

// -- bulk_transfer ------------------------------------------------------------

bulk_transfer::bulk_transfer(const std::string& host)
  : impl_(std::make_unique<impl>()) {
  impl_->listen_on(host);
  if (::pipe2(impl_->wake, O_CLOEXEC) != 0) {
    ::close(impl_->listen_fd);
    throw error("object transfer: no pipe: " + errno_text(errno));
  }
  impl_->acceptor = std::thread{[p = impl_.get()] {
    p->accept_loop();
  }};
}

bulk_transfer::~bulk_transfer() {
  auto& st = *impl_;
  st.stopping = true;
  char one = 1;
  [[maybe_unused]] auto n = ::write(st.wake[1], &one, 1);
  st.acceptor.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    for (int fd : st.open)
      ::shutdown(fd, SHUT_RDWR);
    st.tickets.clear();
  }
  // Threads spawned until now are all there is: no new receiver (the
  // acceptor is gone) and no new sender (the owner is being destroyed).
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    threads.swap(st.threads);
  }
  for (auto& t : threads)
    t.join();
  ::close(st.listen_fd);
  ::close(st.wake[0]);
  ::close(st.wake[1]);
}

const std::string& bulk_transfer::host() const noexcept {
  return impl_->host;
}

std::uint16_t bulk_transfer::port() const noexcept {
  return impl_->port;
}

bulk_ticket bulk_transfer::expect(std::uint64_t size, receive_callback done) {
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
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->tickets[std::string(t.nonce.data(), t.nonce.size())] =
    impl::expected{size, std::move(done)};
  return t;
}

bool bulk_transfer::cancel(const bulk_ticket& t) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->tickets.erase(std::string(t.nonce.data(), t.nonce.size())) > 0;
}

void bulk_transfer::send(const bulk_ticket& t, const char* p, std::uint64_t n,
                         std::shared_ptr<const void> keep, send_callback done) {
  impl_->spawn([st = impl_.get(), t, p, n, keep = std::move(keep),
                done = std::move(done)]() mutable {
    std::string why;
    int fd = st->connect_to(t, &why);
    if (fd >= 0) {
      set_timeouts(fd, idle_timeout);
      char header[header_size];
      std::memcpy(header, magic, sizeof(magic));
      std::memcpy(header + 8, t.nonce.data(), t.nonce.size());
      std::memcpy(header + 24, &n, sizeof(n));
      why = write_all(fd, header, header_size);
      if (why.empty())
        why = write_all(fd, p, static_cast<std::size_t>(n));
      if (why.empty()) {
        char ack = 0;
        std::size_t got = 0;
        why = read_all(fd, &ack, 1, &got);
        if (why.empty() && ack != ack_byte)
          why = "a wrong acknowledgment";
        if (!why.empty())
          why = "the receiver did not take the bytes: " + why;
      }
      st->close_conn(fd);
    }
    keep.reset();
    done(why);
  });
}

std::size_t bulk_transfer::refused() const noexcept {
  return impl_->refused.load();
}

} // namespace lumen::detail
