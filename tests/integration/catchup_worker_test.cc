// The reference worker's handlers and flags, called directly: payloads an attacker or a bug
// could send (glob characters, huge retry counts, wrong types, long sleeps), bounded stats,
// and CLI11 flags with --help.
#include <gtest/gtest.h>

#include <sstream>

#include "flags.h"
#include "jobs.h"
#include "sdk/http_sync.h"
#include "stratus/sdk/canonical_json.h"
#include "stratus_process.h"

namespace catchup {
namespace {

using namespace std::chrono_literals;
using namespace stratus::sdk;
using json = nlohmann::json;

// The 11 jobs on an unauthenticated JobServer that acknowledges permanent failures.
class Handlers {
 public:
  explicit Handlers(Cache* cache = nullptr) {
    JobServerOptions o;
    o.mode = JobServerMode::kLocal;
    o.allow_unauthenticated = true;
    o.permanent_answer = PermanentFailureAnswer::kAcknowledge;
    o.logger = Logger([](std::string_view) {});
    deps.cache = cache;
    deps.simulation.latency = 0ms;
    server = std::make_unique<JobServer>(std::move(o));
    RegisterJobs(*server, deps);
    EXPECT_TRUE(server->Start().ok());
    http = internal::SyncHttp::Create("").value();
  }
  ~Handlers() { server->Stop(); }

  // The answer's body; `retry_count` goes in X-CloudTasks-TaskRetryCount.
  json Run(const std::string& job, const json& data, const std::string& retry_count = "0") {
    json body = {{"data", data}, {"idempotencyKey", IdempotencyKey(job, data).value()}, {"jobName", job}};
    auto req = internal::MakeRequest(stratus::http::Verb::post, body.dump());
    req.set("X-CloudTasks-TaskRetryCount", retry_count);
    auto url = stratus::http::Url::Parse(server->url() + "/api/jobs/" + job).value();
    auto res = http->Fetch(url, std::move(req), 30000ms);
    last_status = res.status;
    return json::parse(res.body, nullptr, false);
  }

  JobDeps deps;
  std::unique_ptr<JobServer> server;
  std::unique_ptr<internal::SyncHttp> http;
  int last_status = 0;
};

TEST(CatchUpWorker, TheElevenJobsEachHaveTheirQueue) {
  auto m = JobQueues();
  ASSERT_EQ(m.size(), 11u);
  EXPECT_EQ(m["token-refresh"], "token-refresh-queue");
  EXPECT_EQ(m["token-health-reminder"], "token-health-reminder-queue");
  EXPECT_EQ(JobNames().size(), 11u);
}

// Defect: userId "*" went into the SCAN pattern as is and deleted every user's suggestions.
TEST(CatchUpWorker, AUserIdIsNotAGlobPattern) {
  stratus::testing::StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-token", "t0ken"})) << proc.output();
  auto redis = HttpRedis::Create({.url = proc.redis_url(), .token = "t0ken"}).value();
  Cache cache(*redis);
  for (const char* user : {"alice", "bob", "*"})
    ASSERT_TRUE(cache.Set(std::string("suggestions:") + user + ":1", 1, 60s).ok());
  Handlers h(&cache);
  json answer = h.Run("suggestion-regeneration", {{"userId", "*"}});
  EXPECT_EQ(answer["ok"], true) << answer.dump();
  EXPECT_TRUE(cache.Get("suggestions:alice:1").value().has_value());
  EXPECT_TRUE(cache.Get("suggestions:bob:1").value().has_value());
  EXPECT_FALSE(cache.Get("suggestions:*:1").value().has_value());
}

// Defect: 2147483647 + 1 wrapped to -2147483648.
TEST(CatchUpWorker, TheLargestRetryCountStaysPositive) {
  Handlers h;
  json answer = h.Run("token-refresh", {{"userId", "u"}}, "2147483647");
  EXPECT_EQ(answer["result"]["attempt"], int64_t{2147483648}) << answer.dump();
}

// Defect: a field of the wrong type threw a JSON type error, which was retried forever.
TEST(CatchUpWorker, WrongTypesArePermanentFailures) {
  Handlers h;
  const std::vector<std::pair<std::string, json>> bad = {
      {"adaptive-sync", {{"userId", "u"}, {"activityScore", "high"}}},
      {"token-refresh", {{"userId", 42}}},
      {"batch-notifications", {{"userIds", "u1,u2"}}},
      {"suggestion-generation", {{"userId", "u"}, {"contactId", json::array()}}},
      {"calendar-sync", {{"userId", "u"}, {"simulate", "fail"}}},
      {"calendar-sync", {{"userId", "u"}, {"simulate", {{"status", "503"}}}}},
  };
  for (const auto& [job, data] : bad) {
    json answer = h.Run(job, data);
    EXPECT_EQ(h.last_status, 200) << job << " " << data.dump();
    EXPECT_EQ(answer["permanent"], true) << job << " " << data.dump() << ": " << answer.dump();
  }
}

// Defect: "simulate": {"latencyMs": N} slept N ms, whatever N was.
TEST(CatchUpWorker, ABodyCannotChooseALongSleep) {
  Handlers h;
  auto start = std::chrono::steady_clock::now();
  json answer = h.Run("token-refresh", {{"userId", "u"}, {"simulate", {{"latencyMs", 1000000000}}}});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(answer["permanent"], true) << answer.dump();
  EXPECT_NE(answer["error"].get<std::string>().find("latencyMs"), std::string::npos);
  EXPECT_EQ(h.Run("token-refresh", {{"userId", "u"}, {"simulate", {{"latencyMs", 10}}}})["ok"], true);
}

TEST(CatchUpWorker, StatsKeepTheNewestKeysOnly) {
  JobStats stats(3, 2);
  for (int i = 0; i < 10; ++i) stats.Executed("job", "k" + std::to_string(i));
  for (int i = 0; i < 5; ++i) stats.Executed("job", "k9");
  EXPECT_EQ(stats.ByKey().size(), 3u);
  EXPECT_EQ(stats.Executions("k0"), 0);
  EXPECT_EQ(stats.Executions("k9"), 6);
  EXPECT_EQ(stats.Times("k9").size(), 2u);
  EXPECT_EQ(stats.ExecutionsOf("job"), 15);
  EXPECT_EQ(stats.Total(), 15);
}

TEST(CatchUpWorker, FlagsComeFromCli11WithHelp) {
  auto parse = [](std::vector<const char*> argv, WorkerFlags& f, std::string* out, std::string* err) {
    argv.insert(argv.begin(), "catchup-worker");
    std::ostringstream o, e;
    auto code = ParseWorkerFlags(static_cast<int>(argv.size()), argv.data(), f, o, e);
    *out = o.str();
    *err = e.str();
    return code;
  };
  WorkerFlags f;
  std::string out, err;
  EXPECT_EQ(parse({"--help"}, f, &out, &err), std::optional<int>(0));
  EXPECT_NE(out.find("--issuer"), std::string::npos) << out;

  EXPECT_NE(parse({"--no-such-flag", "x"}, f, &out, &err).value_or(0), 0);
  EXPECT_NE(err.find("--issuer"), std::string::npos) << "the usage comes with the error: " << err;
  EXPECT_NE(parse({"--port", "70000"}, f, &out, &err).value_or(0), 0);
  EXPECT_NE(parse({"--permanent-answer", "maybe"}, f, &out, &err).value_or(0), 0);

  EXPECT_EQ(parse({"--port", "9000", "--permanent-answer", "ack", "--failure-rate", "0.5"}, f, &out, &err),
            std::nullopt)
      << err;
  EXPECT_EQ(f.port, 9000);
  EXPECT_EQ(f.permanent_answer, "ack");
  EXPECT_EQ(f.failure_rate, 0.5);

  DemoFlags d;
  std::ostringstream o, e;
  const char* help[] = {"catchup-demo", "--help"};
  EXPECT_EQ(ParseDemoFlags(2, help, d, o, e), std::optional<int>(0));
  EXPECT_NE(o.str().find("--service-url"), std::string::npos);
}

}  // namespace
}  // namespace catchup
