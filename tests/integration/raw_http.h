// Raw loopback sockets for tests that must put exact bytes on the wire (malformed requests,
// hand-written headers, plain bytes to a TLS port) and see exactly what comes back, which an
// HTTP client library would not let them do.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <regex>
#include <string>

namespace stratus::testing {

// The port at the end of a URL such as "http://127.0.0.1:8123".
inline uint16_t PortOf(const std::string& url) {
  return static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// A TCP connection to 127.0.0.1:`port`; -1 when it is refused.
inline int ConnectLoopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `bytes`; false when the peer closed first (a server may answer and close
// before reading everything, so callers judge by what it sent back).
inline bool SendAll(int fd, const std::string& bytes) {
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

struct RawRead {
  std::string bytes;
  bool closed = false;  // the peer closed (or reset) the connection
};

// Reads until the peer closes, `stop_when` holds for what arrived, or `timeout` passes.
inline RawRead ReadAll(int fd, std::chrono::milliseconds timeout,
                       const std::function<bool(const std::string&)>& stop_when = nullptr) {
  RawRead r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop_when && stop_when(r.bytes)) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.bytes.append(buf, static_cast<size_t>(n));
  }
  return r;
}

// `bytes` written on a new connection, and everything read back until the peer closes or
// `timeout` passes ("" when the connection was refused).
inline std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  SendAll(fd, bytes);
  std::string got = ReadAll(fd, timeout).bytes;
  close(fd);
  return got;
}

}  // namespace stratus::testing
