// A throwaway redis-server for tests: a free port, no persistence, killed on destruction (or
// when the test process exits, see ChildRegistry); and a minimal blocking RESP client for it.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/asio.h"
#include "kv/reply.h"
#include "kv/resp.h"
#include "stratus_process.h"

// A test that needs a real redis-server and cannot get one: skipped on a developer's machine,
// failed in CI (CI=true), where redis-server is part of the toolchain and a skip would hide it.
#define STRATUS_REDIS_UNAVAILABLE(why) \
  switch (0)                           \
  case 0:                              \
  default:                             \
    if (!::stratus::testing::InCi())   \
      GTEST_SKIP() << (why);           \
    else                               \
      FAIL() << (why) << " (CI=true: redis-server is required)"

namespace stratus::testing {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

inline uint16_t FreePort() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class RespClient {
 public:
  explicit RespClient(uint16_t port) : socket_(io_) { socket_.connect({asio::ip::make_address("127.0.0.1"), port}); }
  kv::Reply Call(const std::vector<std::string>& argv) {
    std::string out;
    kv::AppendRespCommand(argv, &out);
    asio::write(socket_, asio::buffer(out));
    for (;;) {
      kv::Reply r;
      size_t used = 0;
      auto res = kv::RespParser::ParseReply(in_, &r, &used);
      if (res == kv::RespParser::Result::kOk) {
        in_.erase(0, used);
        return r;
      }
      if (res == kv::RespParser::Result::kError) return kv::Reply::Error("test client: malformed reply");
      char buf[65536];
      size_t n = socket_.read_some(asio::buffer(buf));
      in_.append(buf, n);
    }
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string in_;
};

class RedisServerProcess {
 public:
  // Starts redis-server; returns false when it is not installed or does not come up.
  bool Start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      ChildRegistry::Get().Add(this, [](void* self) { static_cast<RedisServerProcess*>(self)->Stop(); });
      pid_t parent = getpid();
      pid_ = fork();
      if (pid_ == 0) {
        DieWithParent(parent);
        std::string port = std::to_string(port_);
        execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
        _exit(127);
      }
      // Readiness (not a pass/fail decision): poll until it answers PING, at most 10 s.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < deadline) {
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        try {
          RespClient c(port_);
          if (c.Call({"PING"}).str == "PONG") return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      Stop();
    }
    return false;
  }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    ChildRegistry::Get().Remove(this);
  }
  ~RedisServerProcess() { Stop(); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace stratus::testing
