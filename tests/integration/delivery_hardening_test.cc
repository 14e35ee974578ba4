// Outbound delivery against hostile or broken targets, through the real binary: no request
// smuggling (stored CR/LF, a target answering twice), no re-sent POST, bounded response
// reading, and the target policy (--allow-targets, --deny-targets, --deny-private-targets).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "integration/raw_http.h"
#include "integration/raw_target.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"
#include "store/sqlite/sqlite_store.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RestClient;
using testing::StratusProcess;

const std::string kLoc = "projects/p/locations/l";

using Seen = testing::SeenRequest;
using testing::RawTarget;

std::string Ok(const std::string& body = "ok") {
  return testing::OkResponse(body);
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

// The stratus child's pid, found by its data dir on the command line.
pid_t PidOf(const std::string& data_dir) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(std::string("serve") + '\0') != std::string::npos && cmd.find(data_dir) != std::string::npos) {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return -1;
}

// Peak resident memory of a process, in KiB.
long PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class DeliveryHardeningTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}, const std::string& dir = "") {
    extra.insert(extra.begin(), {"--threads", "1", "--redis-listen", "off"});
    ASSERT_TRUE(proc_.Start(extra, dir)) << proc_.output();
  }
  std::string Api(const std::string& path) { return proc_.tasks_url() + "/v2/" + kLoc + path; }
  testing::RestReply CreateQueue(const std::string& id, json extra = json::object()) {
    json body = {{"name", kLoc + "/queues/" + id},
                 {"retryConfig", {{"maxAttempts", 5}, {"minBackoff", "0.1s"}, {"maxBackoff", "0.2s"}}}};
    body.update(extra);
    return rest_.Post(Api("/queues"), body);
  }
  testing::RestReply CreateTask(const std::string& queue, const std::string& id, const std::string& url,
                                json headers = json::object()) {
    json task = {{"name", kLoc + "/queues/" + queue + "/tasks/" + id},
                 {"httpRequest", {{"url", url}, {"httpMethod", "POST"}, {"body", "aGk="}}}};
    if (!headers.empty()) task["httpRequest"]["headers"] = headers;
    return rest_.Post(Api("/queues/" + queue + "/tasks"), json{{"task", task}});
  }
  // The task in FULL view; null when it is gone.
  json GetTask(const std::string& queue, const std::string& id) {
    auto r = rest_.Get(Api("/queues/" + queue + "/tasks/" + id + "?responseView=FULL"));
    if (r.status == 404) return nullptr;
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }
  bool Gone(const std::string& queue, const std::string& id) { return GetTask(queue, id).is_null(); }
  // The status message of the task's last finished attempt, once there is one.
  std::string LastAttemptMessage(const std::string& queue, const std::string& id) {
    std::string message;
    WaitFor([&] {
      json t = GetTask(queue, id);
      if (!t.is_object() || !t.contains("lastAttempt") || !t["lastAttempt"].contains("responseStatus")) return false;
      message = t["lastAttempt"]["responseStatus"].value("message", "");
      return !message.empty();
    });
    return message;
  }

  StratusProcess proc_;
  RestClient rest_;
};

static bool IsTask(const Seen& s, const std::string& id) {
  return s.Header("x-cloudtasks-taskname") == id;
}

// A target answering one request with two responses: the second must never be taken as the
// answer to the next task on that connection.
class TwoResponsesTest : public DeliveryHardeningTest, public ::testing::WithParamInterface<bool> {};

TEST_P(TwoResponsesTest, NextTaskOnTheOriginSeesItsOwnAnswer) {
  const bool later = GetParam();  // the extra response in the same write, or after the first
  std::atomic<bool> extra_sent{false};
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read()) {
      if (IsTask(*req, "first")) {
        const std::string stale = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nstale";
        if (later) {
          c.Write(Ok());
          std::this_thread::sleep_for(200ms);  // past the client reading the first answer
          c.Write(stale);
        } else {
          c.Write(Ok() + stale);
        }
        extra_sent = true;
      } else {
        c.Write(Ok("mine"));
      }
    }
  });
  Start();
  ASSERT_EQ(CreateQueue("q").status, 200);
  ASSERT_EQ(CreateTask("q", "first", target.Url("/one")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return extra_sent.load() && Gone("q", "first"); }));
  ASSERT_EQ(CreateTask("q", "second", target.Url("/two")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return Gone("q", "second"); })) << "the second task never succeeded";
  // It succeeded on its first attempt: the stale 500 was not taken for its answer.
  EXPECT_EQ(target.Count([](const Seen& s) { return IsTask(s, "second"); }), 1u);
}

INSTANTIATE_TEST_SUITE_P(SameWriteOrLater, TwoResponsesTest, ::testing::Bool());

// Tasks stored with CR/LF in the URL or a header (written before validation existed, or by
// another node) are refused when the request is built: no byte reaches the target.
TEST_F(DeliveryHardeningTest, StoredCrlfIsNeverSent) {
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read()) c.Write(Ok("mine"));
  });
  Start();
  ASSERT_EQ(CreateQueue("q").status, 200);
  proc_.Stop();
  {
    auto store = SqliteStore::Open(proc_.data_dir() + "/stratus.db", StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const Micros now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    auto put = [&](const std::string& id, std::string url, std::map<std::string, std::string> headers) {
      Task t;
      t.name = kLoc + "/queues/q/tasks/" + id;
      t.http_request =
          HttpRequest{std::move(url), HttpMethod::kPost, std::move(headers), "hi", std::nullopt, std::nullopt};
      t.schedule_time = now;
      t.create_time = now;
      t.dispatch_deadline = 10 * kMicrosPerSecond;
      auto r = (*store)->WriteSync(TaskCreate{t}, now);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    };
    const std::string smuggled = "Content-Length: 0\r\n\r\nPOST /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0";
    put("in-url", target.Url("/a HTTP/1.1\r\n" + smuggled + "\r\n\r\n"), {});
    put("in-value", target.Url("/b"), {{"X-A", "v\r\n" + smuggled}});
    put("in-name", target.Url("/c"), {{"X-A: v\r\n" + smuggled + "\r\nX-B", "v"}});
  }
  Start({}, proc_.data_dir());
  for (const char* id : {"in-url", "in-value", "in-name"}) {
    std::string message = LastAttemptMessage("q", id);
    EXPECT_NE(message.find("request not sent"), std::string::npos) << id << ": " << message;
  }
  ASSERT_EQ(CreateTask("q", "clean", target.Url("/clean")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return Gone("q", "clean"); }));
  auto seen = target.seen();
  for (const auto& s : seen) EXPECT_EQ(s.path, "/clean") << "the target got " << s.method << " " << s.path;
  EXPECT_EQ(seen.size(), 1u);
}

// A kept-alive connection that reads the request and closes without answering: the attempt
// fails (it may have been processed) and goes again on the queue's schedule, not at once.
TEST_F(DeliveryHardeningTest, RequestIsNotResentWithinAnAttempt) {
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read()) {
      if (req->on_connection >= 2) return;  // read it, then close without a word
      c.Write(Ok());
    }
  });
  Start();
  ASSERT_EQ(CreateQueue("q").status, 200);
  ASSERT_EQ(CreateTask("q", "first", target.Url("/one")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return Gone("q", "first"); }));
  ASSERT_EQ(CreateTask("q", "second", target.Url("/two")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return Gone("q", "second"); }));
  auto first_attempt = [](const Seen& s) {
    return IsTask(s, "second") && s.Header("x-cloudtasks-taskretrycount") == "0";
  };
  EXPECT_EQ(target.Count(first_attempt), 1u) << "the first attempt sent the POST more than once";
  EXPECT_EQ(target.Count([](const Seen& s) { return IsTask(s, "second"); }), 2u);
}

// 200 MB answered in one write: a success, read through a small buffer.
TEST_F(DeliveryHardeningTest, LargeBodyIsASuccessAndNotHeldInMemory) {
  const std::string big(200u << 20, 'x');
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read())
      c.Write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  });
  Start();
  pid_t pid = PidOf(proc_.data_dir());
  ASSERT_GT(pid, 0);
  ASSERT_EQ(CreateQueue("q").status, 200);
  const long before = PeakRssKb(pid);
  ASSERT_EQ(CreateTask("q", "big", target.Url("/big")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return Gone("q", "big"); }, 60s));
  const long after = PeakRssKb(pid);
  EXPECT_LT(after - before, 50 * 1024) << "peak RSS grew from " << before << " to " << after << " KiB";
  EXPECT_EQ(target.Count([](const Seen& s) { return IsTask(s, "big"); }), 1u);
}

// Content-Length: 100000000000 and three bytes: no buffer sized from it, the attempt fails cleanly.
TEST_F(DeliveryHardeningTest, HugeContentLengthFailsTheAttemptCleanly) {
  RawTarget target([&](RawTarget::Conn& c) {
    if (auto req = c.Read()) c.Write("HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\nabc");
  });
  Start();
  ASSERT_EQ(CreateQueue("q").status, 200);
  ASSERT_EQ(CreateTask("q", "huge", target.Url("/huge")).status, 200);
  std::string message = LastAttemptMessage("q", "huge");
  EXPECT_FALSE(message.empty());
  json t = GetTask("q", "huge");  // the server is still there, and the task waits for its retry
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t["lastAttempt"]["responseStatus"].value("code", 0), 14) << t.dump();
}

// 60 tasks answered with 8 MiB each at once: memory stays flat.
TEST_F(DeliveryHardeningTest, ManyLargeResponsesAtOnce) {
  const std::string big(8u << 20, 'y');
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big;
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read()) c.Write(response);
  });
  Start();
  pid_t pid = PidOf(proc_.data_dir());
  ASSERT_GT(pid, 0);
  ASSERT_EQ(CreateQueue("q", {{"rateLimits", {{"maxConcurrentDispatches", 100}}}}).status, 200);
  // Created paused so that all 60 go at once.
  ASSERT_EQ(rest_.Post(Api("/queues/q:pause")).status, 200);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(CreateTask("q", "t" + std::to_string(i), target.Url("/big")).status, 200);
  const long before = PeakRssKb(pid);
  ASSERT_EQ(rest_.Post(Api("/queues/q:resume")).status, 200);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = rest_.Get(Api("/queues/q/tasks"));
        return r.status == 200 && (!r.body.contains("tasks") || r.body["tasks"].empty());
      },
      120s));
  const long after = PeakRssKb(pid);
  EXPECT_LT(after - before, 50 * 1024) << "peak RSS grew from " << before << " to " << after << " KiB";
}

// --- The target policy ---

TEST_F(DeliveryHardeningTest, DeniedLiteralIsRefusedAtCreate) {
  Start({"--deny-targets", "192.0.2.0/24"});
  ASSERT_EQ(CreateQueue("q").status, 200);
  for (const char* url : {"http://169.254.169.254/computeMetadata/v1/", "http://[fe80::1]/", "http://192.0.2.7:8080/x",
                          "http://[::ffff:169.254.169.254]/", "http://metadata.google.internal/"}) {
    auto r = CreateTask("q", "t", url);
    EXPECT_EQ(r.status, 400) << url;
    EXPECT_EQ(r.body["error"].value("status", ""), "INVALID_ARGUMENT") << url << " " << r.body.dump();
    EXPECT_NE(r.body["error"].value("message", "").find("denied"), std::string::npos) << r.body.dump();
  }
  // Loopback is allowed by default (local development).
  EXPECT_EQ(CreateTask("q", "local", "http://127.0.0.1:9/x").status, 200);
  // A queue whose uriOverride names a denied literal.
  auto q = CreateQueue("q2", {{"httpTarget", {{"uriOverride", {{"host", "169.254.169.254"}}}}}});
  EXPECT_EQ(q.status, 400) << q.body.dump();
  auto patch = rest_.Call(http::Verb::patch, Api("/queues/q?updateMask=httpTarget.uriOverride"),
                          {{"httpTarget", {{"uriOverride", {{"host", "192.0.2.1"}}}}}});
  EXPECT_EQ(patch.status, 400) << patch.body.dump();
}

// localhost resolves into the denied loopback range: the attempt fails with the reason and
// nothing is sent.
class DeniedNameTest : public DeliveryHardeningTest, public ::testing::WithParamInterface<std::vector<std::string>> {};

TEST_P(DeniedNameTest, NameResolvingIntoADeniedRangeFailsTheAttempt) {
  const std::vector<std::string> flags = GetParam();
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read()) c.Write(Ok());
  });
  Start(flags);
  ASSERT_EQ(CreateQueue("q").status, 200);
  ASSERT_EQ(CreateTask("q", "named", target.Url("/x", "localhost")).status, 200);  // a name: checked when resolved
  std::string message = LastAttemptMessage("q", "named");
  EXPECT_NE(message.find("denied by " + flags[0]), std::string::npos) << message;
  EXPECT_NE(message.find("localhost"), std::string::npos) << message;
  json t = GetTask("q", "named");
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t["lastAttempt"]["responseStatus"].value("code", 0), 7) << t.dump();  // PERMISSION_DENIED
  // A literal in the denied range is refused at create.
  EXPECT_EQ(CreateTask("q", "literal", target.Url("/x")).status, 400);
  EXPECT_EQ(target.seen().size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Flags, DeniedNameTest,
                         ::testing::Values(std::vector<std::string>{"--deny-targets", "127.0.0.0/8,::1"},
                                           std::vector<std::string>{"--deny-private-targets"}));

TEST_F(DeliveryHardeningTest, AllowListOpensADeniedRange) {
  RawTarget target([&](RawTarget::Conn& c) {
    while (auto req = c.Read()) c.Write(Ok());
  });
  Start({"--deny-private-targets", "--allow-targets", "localhost,127.0.0.2/32"});
  ASSERT_EQ(CreateQueue("q").status, 200);
  ASSERT_EQ(CreateTask("q", "named", target.Url("/x", "localhost")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return Gone("q", "named"); }));
  EXPECT_EQ(CreateTask("q", "literal", target.Url("/x")).status, 400);  // 127.0.0.1 is still denied
  EXPECT_EQ(CreateTask("q", "opened", "http://127.0.0.2:9/x").status, 200);
  EXPECT_EQ(target.Count([](const Seen& s) { return IsTask(s, "named"); }), 1u);
}

}  // namespace
}  // namespace stratus
