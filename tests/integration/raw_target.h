// A loopback HTTP target for delivery tests: each accepted connection gets a thread running the
// test's handler, which reads requests (parsed, and recorded with their arrival time) and
// writes whatever bytes it likes, so a test can answer normally, slowly, twice, or not at all.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/raw_http.h"

namespace stratus::testing {

// Microseconds since the Unix epoch, by the wall clock (what stratus stamps tasks with).
inline int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request as the target read it.
struct SeenRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  int connection = 0;     // which accepted connection carried it (1, 2, ...)
  int on_connection = 0;  // 1 for the first request on that connection
  int64_t arrived = 0;    // WallMicros() when it was read
  int64_t answered = 0;   // set by Conn::Answer
  // The header's value; `absent` when it was not sent.
  std::string Header(const std::string& name, const std::string& absent = "") const {
    auto it = headers.find(name);
    return it == headers.end() ? absent : it->second;
  }
};

// "HTTP/1.1 200 OK" with `body`.
inline std::string OkResponse(const std::string& body = "ok") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class RawTarget {
 public:
  struct Conn {
    RawTarget* target;
    int fd;
    int id;
    int requests = 0;
    size_t last = 0;  // the record of the request Read returned last
    std::string buf;
    // The next request, or nothing when the peer closed.
    std::optional<SeenRequest> Read() {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill()) return std::nullopt;
      }
      SeenRequest s = ParseHead(buf.substr(0, end));
      s.arrived = WallMicros();
      size_t len = s.headers.count("content-length") ? std::stoul(s.headers["content-length"]) : 0;
      while (buf.size() < end + 4 + len) {
        if (!Fill()) return std::nullopt;
      }
      s.body = buf.substr(end + 4, len);
      buf.erase(0, end + 4 + len);
      s.connection = id;
      s.on_connection = ++requests;
      last = target->Record(s);
      return s;
    }
    bool Write(const std::string& bytes) { return SendAll(fd, bytes); }
    // Stamps the last request answered, then writes `bytes` (so the server sees the end after
    // the stamp).
    bool Answer(const std::string& bytes) {
      target->Stamp(last);
      return Write(bytes);
    }

   private:
    bool Fill() {
      char chunk[65536];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
      return true;
    }
  };
  using Handler = std::function<void(Conn&)>;

  explicit RawTarget(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 256), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        if (stopping_) {
          ::close(c);
          return;
        }
        int id = ++connections_;
        open_.push_back(c);
        workers_.emplace_back([this, c, id] {
          Conn conn{this, c, id};
          handler_(conn);
          ::shutdown(c, SHUT_RDWR);
        });
      }
    });
  }
  ~RawTarget() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    // Kept-alive connections would hold their workers in recv for good.
    for (int c : open_) ::shutdown(c, SHUT_RDWR);
    for (auto& w : workers_) w.join();
    for (int c : open_) ::close(c);
  }
  RawTarget(const RawTarget&) = delete;
  RawTarget& operator=(const RawTarget&) = delete;

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + path;
  }
  std::vector<SeenRequest> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t Count(const std::function<bool(const SeenRequest&)>& pred) {
    auto all = seen();
    return static_cast<size_t>(std::count_if(all.begin(), all.end(), pred));
  }
  // Waits until `n` requests were answered through Conn::Answer (false after `timeout`).
  bool WaitAnswered(size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (Count([](const SeenRequest& s) { return s.answered != 0; }) >= n) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  static SeenRequest ParseHead(const std::string& head) {
    SeenRequest s;
    size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    s.method = line.substr(0, sp1);
    s.path = sp2 > sp1 ? line.substr(sp1 + 1, sp2 - sp1 - 1) : "";
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t nl = head.find("\r\n", pos);
      if (nl == std::string::npos) nl = head.size();
      std::string h = head.substr(pos, nl - pos);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string k = h.substr(0, colon);
        std::transform(k.begin(), k.end(), k.begin(), ::tolower);
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        s.headers[k] = v;
      }
      pos = nl + 2;
    }
    return s;
  }
  size_t Record(const SeenRequest& s) {
    std::lock_guard lock(mu_);
    seen_.push_back(s);
    return seen_.size() - 1;
  }
  void Stamp(size_t index) {
    std::lock_guard lock(mu_);
    seen_[index].answered = WallMicros();
  }

  Handler handler_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  bool stopping_ = false;
  int connections_ = 0;
  std::vector<std::thread> workers_;
  std::vector<int> open_;  // closed once the workers are done
  std::vector<SeenRequest> seen_;
};

}  // namespace stratus::testing
