// The Cloud Scheduler executor through the real binary and a real local HTTP target: jobs:run
// for the exact request (headers, body, OIDC token), retries within one execution, the stratus
// queue target, and real minute ticks: on time, never overlapping while the target is slow,
// and kept across a restart of the server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/time.h"
#include "integration/raw_http.h"
#include "integration/raw_target.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RestClient;
using testing::StratusProcess;

const std::string kLoc = "projects/p/locations/us-central1";

using Seen = testing::SeenRequest;

struct Answer {
  int status = 200;
  std::chrono::milliseconds delay{0};  // before answering
};

// A loopback HTTP/1.1 target answering one request per connection (Connection: close), every
// request recorded; `answer` decides the reply to the n-th (0-based).
class Target {
 public:
  explicit Target(std::function<Answer(const Seen&, size_t n)> answer)
      : raw_([answer = std::move(answer)](testing::RawTarget::Conn& c) {
          auto req = c.Read();
          if (!req) return;
          Answer a = answer(*req, c.last);
          std::this_thread::sleep_for(a.delay);
          c.Answer("HTTP/1.1 " + std::to_string(a.status) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }) {}
  std::string Url(const std::string& path) const { return raw_.Url(path); }
  std::vector<Seen> seen() { return raw_.seen(); }
  bool WaitAnswered(size_t n, std::chrono::seconds timeout) { return raw_.WaitAnswered(n, timeout); }

 private:
  testing::RawTarget raw_;
};

bool WaitFor(const std::function<bool()>& cond, std::chrono::seconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class SchedulerExec : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.output(); }
  std::string Api(const std::string& path) const { return server_.tasks_url() + "/v1/" + path; }
  json CreateJob(const std::string& id, json job) {
    job["name"] = kLoc + "/jobs/" + id;
    auto r = client_.Post(Api(kLoc + "/jobs"), job);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }
  json GetJob(const std::string& id) {
    auto r = client_.Get(Api(kLoc + "/jobs/" + id));
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }
  void Run(const std::string& id) {
    auto r = client_.Post(Api(kLoc + "/jobs/" + id + ":run"));
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  StratusProcess server_;
  RestClient client_;
};

TEST_F(SchedulerExec, RunSendsTheExactRequestAndRecordsIt) {
  Target target([](const Seen&, size_t) { return Answer{}; });
  CreateJob("exact", {{"schedule", "0 0 1 1 *"},  // once a year: only jobs:run fires here
                      {"httpTarget",
                       {{"uri", target.Url("/hook?x=1")},
                        {"httpMethod", "PUT"},
                        {"headers", {{"X-Custom", "v"}, {"User-Agent", "mine"}}},
                        {"body", Base64Encode("hello")},
                        {"oidcToken", {{"serviceAccountEmail", "sa@p.iam.gserviceaccount.com"}}}}}});
  const Micros before = testing::WallMicros();
  Run("exact");
  ASSERT_TRUE(target.WaitAnswered(1, 30s));
  const Seen s = target.seen()[0];
  EXPECT_EQ(s.method, "PUT");
  EXPECT_EQ(s.path, "/hook?x=1");
  EXPECT_EQ(s.body, "hello");
  EXPECT_EQ(s.Header("user-agent"), "Google-Cloud-Scheduler");
  EXPECT_EQ(s.Header("x-cloudscheduler"), "true");
  EXPECT_EQ(s.Header("x-cloudscheduler-jobname"), "exact");
  EXPECT_EQ(s.Header("content-type"), "application/octet-stream");
  EXPECT_EQ(s.Header("x-custom"), "v");
  EXPECT_EQ(s.Header("content-length"), "5");
  auto schedule_time = ParseTimestamp(s.Header("x-cloudscheduler-scheduletime"));
  ASSERT_TRUE(schedule_time.ok()) << s.Header("x-cloudscheduler-scheduletime");
  EXPECT_EQ(s.Header("x-cloudscheduler-scheduletime").back(), 'Z') << "RFC 3339 in UTC";
  EXPECT_GE(*schedule_time, before - 1'000'000);
  // An ID token for the target's URI, from the server's own issuer.
  const std::string auth = s.Header("authorization");
  ASSERT_EQ(auth.rfind("Bearer ", 0), 0u) << auth;
  const std::string jwt = auth.substr(7);
  const size_t dot1 = jwt.find('.'), dot2 = jwt.find('.', dot1 + 1);
  std::string payload = jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  std::replace(payload.begin(), payload.end(), '-', '+');
  std::replace(payload.begin(), payload.end(), '_', '/');
  while (payload.size() % 4) payload += '=';
  auto decoded = Base64Decode(payload);
  ASSERT_TRUE(decoded.ok());
  auto claims = json::parse(*decoded, nullptr, false);
  EXPECT_EQ(claims.value("aud", ""), target.Url("/hook?x=1"));
  EXPECT_EQ(claims.value("email", ""), "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(claims.value("iss", ""), server_.tasks_url());
  // Recorded: lastAttemptTime and an OK status.
  ASSERT_TRUE(WaitFor([&] { return GetJob("exact").contains("lastAttemptTime"); }));
  json job = GetJob("exact");
  auto last = ParseTimestamp(job["lastAttemptTime"].get<std::string>());
  ASSERT_TRUE(last.ok());
  EXPECT_GE(*last, before - 1'000'000);
  EXPECT_EQ(job.value("status", json::object()).value("code", 0), 0) << job.dump();
}

TEST_F(SchedulerExec, RetriesWithinOneExecution) {
  // 503, 503, then 200: retried 1 s and then 2 s after each failure, all for the same tick.
  Target target([](const Seen&, size_t n) { return Answer{n < 2 ? 503 : 200}; });
  CreateJob("flaky", {{"schedule", "0 0 1 1 *"},
                      {"httpTarget", {{"uri", target.Url("/flaky")}}},
                      {"retryConfig", {{"retryCount", 3}, {"minBackoffDuration", "1s"}, {"maxDoublings", 2}}}});
  Run("flaky");
  ASSERT_TRUE(target.WaitAnswered(3, 60s));
  auto seen = target.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_GE(seen[1].arrived - seen[0].answered, 1'000'000);
  EXPECT_GE(seen[2].arrived - seen[1].answered, 2'000'000);
  for (const auto& s : seen)
    EXPECT_EQ(s.Header("x-cloudscheduler-scheduletime"), seen[0].Header("x-cloudscheduler-scheduletime"));
  ASSERT_TRUE(WaitFor([&] {
    json j = GetJob("flaky");
    return j.contains("lastAttemptTime") &&
           *ParseTimestamp(j["lastAttemptTime"].get<std::string>()) >= seen[2].arrived - 1'000'000;
  }));
  EXPECT_EQ(GetJob("flaky").value("status", json::object()).value("code", 0), 0);

  // Always 500, one retry: two attempts, and INTERNAL (13) recorded.
  Target failing([](const Seen&, size_t) { return Answer{500}; });
  CreateJob("broken", {{"schedule", "0 0 1 1 *"},
                       {"httpTarget", {{"uri", failing.Url("/broken")}}},
                       {"retryConfig", {{"retryCount", 1}, {"minBackoffDuration", "1s"}}}});
  Run("broken");
  ASSERT_TRUE(failing.WaitAnswered(2, 60s));
  // The execution's last record: the next tick again (not a retry's time), INTERNAL (13).
  ASSERT_TRUE(WaitFor([&] {
    json j = GetJob("broken");
    return j.value("scheduleTime", "").rfind("-01-01T00:00:00Z") != std::string::npos &&
           j.value("status", json::object()).value("code", 0) == 13;
  })) << GetJob("broken").dump();
  EXPECT_EQ(failing.seen().size(), 2u);
}

TEST_F(SchedulerExec, AQueueTargetCreatesOneTaskPerExecution) {
  Target target([](const Seen&, size_t) { return Answer{}; });
  auto q = client_.Post(server_.tasks_url() + "/v2/" + kLoc + "/queues", {{"name", kLoc + "/queues/ticks"}});
  ASSERT_EQ(q.status, 200) << q.body.dump();
  CreateJob("via-queue", {{"schedule", "0 0 1 1 *"},
                          {"stratusQueue", kLoc + "/queues/ticks"},
                          {"httpTarget", {{"uri", target.Url("/from-queue")}, {"body", Base64Encode("{}")}}}});
  Run("via-queue");
  ASSERT_TRUE(target.WaitAnswered(1, 30s));
  const Seen s = target.seen()[0];
  EXPECT_EQ(s.path, "/from-queue");
  EXPECT_EQ(s.Header("user-agent"), "Google-Cloud-Tasks") << "delivered by the queue";
  EXPECT_EQ(s.Header("x-cloudtasks-queuename"), "ticks");
  EXPECT_EQ(s.Header("x-cloudscheduler-jobname"), "via-queue");
  EXPECT_NE(s.Header("x-cloudscheduler-scheduletime", "<absent>"), "<absent>");
  EXPECT_EQ(s.Header("content-type"), "application/octet-stream");
  ASSERT_TRUE(WaitFor([&] { return GetJob("via-queue").contains("lastAttemptTime"); }));
  EXPECT_EQ(GetJob("via-queue").value("status", json::object()).value("code", 0), 0);
}

TEST_F(SchedulerExec, MinuteTicksOnTimeNeverOverlappingAndKeptAcrossARestart) {
  // The first execution takes 65 s: the next minute's tick comes while it runs.
  Target target([](const Seen&, size_t n) { return Answer{200, n == 0 ? 65000ms : 0ms}; });
  CreateJob("minutely",
            {{"schedule", "* * * * *"}, {"attemptDeadline", "120s"}, {"httpTarget", {{"uri", target.Url("/tick")}}}});
  // A restart in between: the job and its next tick come back from the data dir.
  const std::string dir = server_.data_dir();
  server_.Stop();
  StratusProcess again;
  ASSERT_TRUE(again.Start({}, dir)) << again.output();
  auto got = client_.Get(again.tasks_url() + "/v1/" + kLoc + "/jobs/minutely");
  ASSERT_EQ(got.status, 200) << got.body.dump();
  auto next = ParseTimestamp(got.body.value("scheduleTime", ""));
  ASSERT_TRUE(next.ok()) << got.body.dump();
  EXPECT_EQ(*next % (60 * kMicrosPerSecond), 0);
  EXPECT_GT(*next, testing::WallMicros() - 1'000'000);

  ASSERT_TRUE(WaitFor([&] { return !target.seen().empty(); }, 75s));
  const Seen first = target.seen()[0];
  auto tick1 = ParseTimestamp(first.Header("x-cloudscheduler-scheduletime"));
  ASSERT_TRUE(tick1.ok());
  EXPECT_EQ(*tick1 % (60 * kMicrosPerSecond), 0) << "a minute boundary";
  EXPECT_GE(first.arrived, *tick1) << "fired before its tick";
  EXPECT_LT(first.arrived - *tick1, 5'000'000) << "fired more than 5 s late";
  std::cout << "first tick arrived " << (first.arrived - *tick1) / 1000 << " ms after its time\n";

  // The next tick waits for the slow execution to end, then runs once.
  ASSERT_TRUE(target.WaitAnswered(2, 90s));
  auto seen = target.seen();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_GE(seen[1].arrived, seen[0].answered) << "two executions overlapped";
  EXPECT_EQ(*ParseTimestamp(seen[1].Header("x-cloudscheduler-scheduletime")), *tick1 + 60 * kMicrosPerSecond);
  std::cout << "the delayed tick arrived " << (seen[1].arrived - seen[0].answered) / 1000
            << " ms after the slow execution's answer\n";
  again.Stop();
}

}  // namespace
}  // namespace stratus
