// bulk_sockets: connect and listen for the object channel.
#include "net/bulk_sockets.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <caf/io/network/interfaces.hpp>

#include "lumen/error.hpp"

namespace lumen::detail {

using caf::io::network::native_socket;

std::string errno_text(int e) {
  return std::system_category().message(e);
}

native_socket start_connect(const std::string& address, std::string* why) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    *why = "'" + address + "' is no HOST:PORT";
    return -1;
  }
  auto host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* head = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &head);
      rc != 0) {
    *why = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return -1;
  }
  *why = "no address for " + address;
  native_socket result = -1;
  for (auto* a = head; a != nullptr && result < 0; a = a->ai_next) {
    int fd =
      ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               a->ai_protocol);
    if (fd < 0) {
      *why = errno_text(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      result = fd;
      break;
    }
    *why = "cannot connect to " + address + ": " + errno_text(errno);
    ::close(fd);
  }
  ::freeaddrinfo(head);
  return result;
}

native_socket listen_on(const std::string& host, std::uint16_t* port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* head = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), "0", &hints, &head); rc != 0)
    throw error("object channel: cannot resolve " + host + ": " +
                ::gai_strerror(rc));
  std::string why = "no address";
  native_socket result = -1;
  for (auto* a = head; a != nullptr; a = a->ai_next) {
    int fd =
      ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               a->ai_protocol);
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
    auto p = caf::io::network::local_port_of_fd(fd);
    if (!p) {
      why = "no local port";
      ::close(fd);
      continue;
    }
    *port = *p;
    result = fd;
    break;
  }
  ::freeaddrinfo(head);
  if (result < 0)
    throw error("object channel: cannot listen on " + host + ": " + why);
  return result;
}

} // namespace lumen::detail
