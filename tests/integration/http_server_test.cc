// The inbound HTTP server under hostile and unlucky input, over raw sockets: header fields
// Beast cannot store, bad Transfer-Encoding, a missing Host, Expect: 100-continue, the
// connection cap and the file-descriptor limit. Against the stratus binary and, where the
// same http::Server serves it, the SDK's JobServer.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/raw_http.h"
#include "integration/stratus_process.h"
#include "stratus/sdk/job_server.h"

namespace stratus {
namespace {

using std::chrono::seconds;
using testing::StratusProcess;

constexpr auto kWait = seconds(20);

using testing::PortOf;
using testing::SendAll;

struct RawReply {
  std::string bytes;
  bool closed = false;  // the server closed (or reset) the connection
  int status = 0;       // of the first response; 0 when none came
  int responses = 0;    // how many status lines arrived
};

// Reads until the server closes the connection, `stop_when` holds, or the deadline passes.
RawReply ReadReply(int fd, const std::function<bool(const std::string&)>& stop_when = nullptr,
                   seconds timeout = kWait) {
  testing::RawRead read = testing::ReadAll(fd, timeout, stop_when);
  RawReply r{std::move(read.bytes), read.closed};
  static const std::regex kStatus("HTTP/1\\.[01] (\\d{3}) ");
  std::smatch m;
  if (std::regex_search(r.bytes, m, kStatus)) r.status = std::stoi(m[1]);
  for (auto it = std::sregex_iterator(r.bytes.begin(), r.bytes.end(), kStatus); it != std::sregex_iterator(); ++it) {
    ++r.responses;
  }
  return r;
}

RawReply Exchange(uint16_t port, const std::string& bytes) {
  int fd = testing::ConnectLoopback(port);
  if (fd < 0) return {};
  SendAll(fd, bytes);
  RawReply r = ReadReply(fd);
  close(fd);
  return r;
}

int HealthStatus(uint16_t port) {
  return Exchange(port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").status;
}

// Every shape of oversized header, each followed by a normal request on a new connection
// (GET /healthz: 200, or 401 from the Redis listener, which wants a token everywhere).
void ExpectOversizedFieldsAnsweredAndServing(uint16_t port) {
  const int normal = HealthStatus(port);
  ASSERT_TRUE(normal == 200 || normal == 401) << normal;
  auto many_fields = [](size_t total) {
    std::string s;
    for (int i = 0; s.size() < total; ++i) s += "X-Field-" + std::to_string(i) + ": value\r\n";
    return s;
  };
  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n";
  std::vector<Case> cases = {
      {"value of 65534 bytes", head + "X-Big: " + std::string(65534, 'a') + "\r\n\r\n", 431},
      {"value of 100000 bytes", head + "X-Big: " + std::string(100000, 'a') + "\r\n\r\n", 431},
      {"value past the header limit", head + "X-Big: " + std::string(200000, 'a') + "\r\n\r\n", 431},
      {"name of 70000 bytes", head + std::string(70000, 'n') + ": v\r\n\r\n", 431},
      {"many fields past the limit", head + many_fields(140 * 1024) + "\r\n", 431},
      {"request line past the limit",
       "GET /healthz?" + std::string(140 * 1024, 'q') + " HTTP/1.1\r\nHost: localhost\r\n\r\n", 431},
      {"value of 65534 bytes on a POST",
       "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nX-Big: " + std::string(65534, 'a') +
           "\r\n\r\n{}",
       431},
  };
  for (const auto& c : cases) {
    RawReply r = Exchange(port, c.request);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.closed) << c.name;
    EXPECT_EQ(HealthStatus(port), normal) << "still serving after: " << c.name;
  }
  // Many fields under the limit and a long request line under it are fine.
  EXPECT_EQ(Exchange(port, head + many_fields(100 * 1024) + "Connection: close\r\n\r\n").status, normal);
  EXPECT_EQ(Exchange(port, "GET /healthz?" + std::string(100 * 1024, 'q') +
                               " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .status,
            normal);
}

TEST(HttpServerTest, OversizedHeaderFieldsGet431AndTheServerLives) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start()) << proc.output();
  ExpectOversizedFieldsAnsweredAndServing(PortOf(proc.tasks_url()));
  ExpectOversizedFieldsAnsweredAndServing(PortOf(proc.redis_url()));
}

TEST(HttpServerTest, OversizedHeaderFieldsGet431FromTheSdkJobServer) {
  sdk::JobServerOptions options;
  options.mode = sdk::JobServerMode::kLocal;
  options.allow_unauthenticated = true;
  options.logger = sdk::Logger([](std::string_view) {});
  sdk::JobServer server(options);
  Status st = server.Start();
  ASSERT_TRUE(st.ok()) << st.message();
  ExpectOversizedFieldsAnsweredAndServing(server.port());
}

TEST(HttpServerTest, BadTransferEncodingIs400AndTheBodyIsNotReadAsARequest) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start()) << proc.output();
  const uint16_t port = PortOf(proc.tasks_url());
  // The body is a complete second request: answered only if the server smuggles it.
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (const std::string te : {"chunked, identity", "xchunked", "identity", "gzip, chunked", "chunked, chunked"}) {
    RawReply r =
        Exchange(port, "POST /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: " + te + "\r\n\r\n" + smuggled);
    EXPECT_EQ(r.status, 400) << te << ": " << r.bytes.substr(0, 300);
    EXPECT_EQ(r.responses, 1) << te << ": " << r.bytes;
    EXPECT_TRUE(r.closed) << te;
    EXPECT_NE(r.bytes.find("Transfer-Encoding"), std::string::npos) << r.bytes;
  }
  RawReply both =
      Exchange(port, "POST /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity\r\nContent-Length: " +
                         std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(both.responses, 1);
  // A real chunked body still works.
  RawReply chunked =
      Exchange(port,
               "POST /v2/projects/p/locations/us-central1/queues HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
               "application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               "40\r\n{\"name\":\"projects/p/locations/us-central1/queues/chunked-queue\"}\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 200) << chunked.bytes;
}

TEST(HttpServerTest, Http11WithoutHostIs400) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start()) << proc.output();
  for (const std::string& url : {proc.tasks_url(), proc.redis_url()}) {
    const uint16_t port = PortOf(url);
    RawReply r = Exchange(port, "GET /healthz HTTP/1.1\r\n\r\n");
    EXPECT_EQ(r.status, 400) << url << ": " << r.bytes;
    EXPECT_NE(r.bytes.find("Host"), std::string::npos) << r.bytes;
    EXPECT_EQ(Exchange(port, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
  }
  EXPECT_EQ(Exchange(PortOf(proc.tasks_url()), "GET /healthz HTTP/1.0\r\n\r\n").status, 200);
}

TEST(HttpServerTest, Expect100ContinueGetsAnInterimAnswerBeforeTheBody) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start()) << proc.output();
  const uint16_t port = PortOf(proc.tasks_url());
  const std::string body = "{\"name\":\"projects/p/locations/us-central1/queues/continued\"}";
  int fd = testing::ConnectLoopback(port);
  ASSERT_GE(fd, 0);
  SendAll(fd,
          "POST /v2/projects/p/locations/us-central1/queues HTTP/1.1\r\nHost: localhost\r\n"
          "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n");
  // A client waits for the 100 before it sends the body (curl: 1 s; others: for ever).
  RawReply interim = ReadReply(fd, [](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(interim.bytes, "HTTP/1.1 100 Continue\r\n\r\n");
  SendAll(fd, body);
  RawReply final_reply =
      ReadReply(fd, [](const std::string& got) { return got.find("\"continued\"") != std::string::npos; });
  EXPECT_EQ(final_reply.status, 200) << final_reply.bytes;
  close(fd);

  // Over the body limit: 413 straight from the header, no 100.
  fd = testing::ConnectLoopback(port);
  ASSERT_GE(fd, 0);
  SendAll(fd,
          "POST /v2/projects/p/locations/us-central1/queues HTTP/1.1\r\nHost: localhost\r\n"
          "Expect: 100-continue\r\nContent-Length: 900000000\r\n\r\n");
  RawReply refused = ReadReply(fd);
  EXPECT_EQ(refused.status, 413) << refused.bytes;
  EXPECT_EQ(refused.bytes.find("100 Continue"), std::string::npos) << refused.bytes;
  close(fd);
}

// utime + stime of a process, in clock ticks.
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) {
      stime = std::stol(f);
      break;
    }
  }
  return utime + stime;
}

// CPU the process uses over two seconds, in seconds.
double CpuOverTwoSeconds(pid_t pid) {
  long before = CpuTicks(pid);
  std::this_thread::sleep_for(seconds(2));
  return static_cast<double>(CpuTicks(pid) - before) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

size_t OpenFds(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

// A request on an open keep-alive connection; true when it answered 200.
bool ServesOn(int fd) {
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  RawReply r = ReadReply(fd, [](const std::string& got) { return got.find("\r\n\r\nok\n") != std::string::npos; });
  return r.status == 200;
}

TEST(HttpServerTest, AtTheFileDescriptorLimitTheServerShedsConnectionsWithoutSpinning) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start()) << proc.output();
  const uint16_t port = PortOf(proc.tasks_url());
  rlimit original{};
  ASSERT_EQ(prlimit(proc.pid(), RLIMIT_NOFILE, nullptr, &original), 0);
  // Room for two more descriptors: two connections, then the limit.
  rlimit low = original;
  low.rlim_cur = OpenFds(proc.pid()) + 2;
  ASSERT_EQ(prlimit(proc.pid(), RLIMIT_NOFILE, &low, nullptr), 0);

  // Connections until three are refused: the first are served, then the limit. Past it the
  // kernel completes the handshake but the server cannot accept; it must close such
  // connections (not leave them hanging) and must not spin on the error.
  std::vector<int> held;
  std::vector<int> refused;
  for (int i = 0; i < 16 && refused.size() < 3; ++i) {
    int fd = testing::ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    RawReply r = ReadReply(fd, [](const std::string& got) { return got.find("\r\n\r\nok\n") != std::string::npos; });
    if (r.status == 200) {
      EXPECT_TRUE(refused.empty()) << "connection " << i << " served after one was refused";
      held.push_back(fd);
      continue;
    }
    EXPECT_TRUE(r.closed) << "connection " << i << " past the limit was left hanging";
    EXPECT_EQ(r.status, 0) << r.bytes;
    refused.push_back(fd);
  }
  ASSERT_EQ(refused.size(), 3u);
  ASSERT_GE(held.size(), 1u);
  double cpu = CpuOverTwoSeconds(proc.pid());
  EXPECT_LT(cpu, 0.3) << "the server used " << cpu << " s of CPU in 2 s at the descriptor limit";
  EXPECT_TRUE(ServesOn(held[0])) << "open connections keep working";

  // Descriptors come back (a connection closes): new connections are served again.
  close(held.back());
  held.pop_back();
  bool served = false;
  for (auto deadline = std::chrono::steady_clock::now() + kWait;
       !served && std::chrono::steady_clock::now() < deadline;) {
    served = HealthStatus(port) == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(served);
  ASSERT_EQ(prlimit(proc.pid(), RLIMIT_NOFILE, &original, nullptr), 0);
  EXPECT_EQ(HealthStatus(port), 200);
  for (int fd : held) close(fd);
  for (int fd : refused) close(fd);
}

TEST(HttpServerTest, MaxConnectionsCapsOpenConnectionsAndFreesSlotsOnClose) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--max-connections", "3"})) << proc.output();
  const uint16_t port = PortOf(proc.tasks_url());
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(testing::ConnectLoopback(port));
    ASSERT_GE(held.back(), 0);
    ASSERT_TRUE(ServesOn(held.back())) << "connection " << i;
  }
  // The fourth is answered 503 and closed at once, not queued (it need not send anything first).
  RawReply r = Exchange(port, "");
  EXPECT_EQ(r.status, 503) << r.bytes;
  EXPECT_TRUE(r.closed);
  EXPECT_NE(r.bytes.find("connection limit"), std::string::npos) << r.bytes;
  double cpu = CpuOverTwoSeconds(proc.pid());
  EXPECT_LT(cpu, 0.3) << "the server used " << cpu << " s of CPU in 2 s at the connection limit";
  for (int fd : held) EXPECT_TRUE(ServesOn(fd));

  close(held.back());
  held.pop_back();
  bool served = false;
  for (auto deadline = std::chrono::steady_clock::now() + kWait;
       !served && std::chrono::steady_clock::now() < deadline;) {
    served = HealthStatus(port) == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(served) << "a freed slot is not reused";
  for (int fd : held) close(fd);
}

}  // namespace
}  // namespace stratus
