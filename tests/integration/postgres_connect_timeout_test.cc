// A PostgreSQL address that accepts TCP connections and then says nothing (a hung server, a
// middlebox holding the connection): libpq alone would wait for it without end. The store
// gives every connect a default timeout (10 s) unless the conninfo sets its own, so a start
// fails with libpq's "timeout expired" instead of hanging, and the writer never hangs on a
// reconnect.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "integration/paths.h"
#include "integration/run_shell.h"

namespace stratus {
namespace {

struct Outcome {
  int rc = -1;
  std::string out;
  double seconds = 0;
};

Outcome Serve(const std::string& store) {
  const std::string dir = "/tmp/stratus-pg-silent-" + std::to_string(::getpid());
  // `timeout` stands in for a hang: without a connect timeout the start never ends.
  const std::string cmd = "timeout -s KILL 90 " + std::string(STRATUS_BINARY) +
                          " serve --listen 127.0.0.1:0 --redis-listen off --grpc-listen off --data-dir " + dir +
                          " --store '" + store + "' 2>&1";
  auto start = std::chrono::steady_clock::now();
  Outcome o;
  auto [rc, out] = testing::RunShell(cmd);
  o.rc = rc;
  o.out = std::move(out);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove_all(dir);
  return o;
}

class SilentPeer : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd_, 16), 0);  // the kernel completes handshakes; nobody ever reads
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  void TearDown() override { ::close(fd_); }
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(SilentPeer, AStartFailsAfterTheDefaultConnectTimeout) {
  Outcome o = Serve("host=127.0.0.1 port=" + std::to_string(port_) + " user=u dbname=d");
  EXPECT_EQ(o.rc, 1) << o.out;  // 137 would be `timeout` ending a hang
  EXPECT_NE(o.out.find("timeout expired"), std::string::npos) << o.out;
  EXPECT_LT(o.seconds, 60) << o.out;
}

TEST_F(SilentPeer, TheConninfosOwnTimeoutWins) {
  Outcome o = Serve("postgres://u@127.0.0.1:" + std::to_string(port_) + "/d?connect_timeout=2");
  EXPECT_EQ(o.rc, 1) << o.out;
  EXPECT_NE(o.out.find("timeout expired"), std::string::npos) << o.out;
  EXPECT_LT(o.seconds, 9) << o.out;  // its 2 s, not the default 10 s
}

}  // namespace
}  // namespace stratus
