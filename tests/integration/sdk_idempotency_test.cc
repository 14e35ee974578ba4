// The JobServer's idempotency against a fake Upstash endpoint that misbehaves on purpose:
// claims that survive a retried SET NX, one Redis deadline per delivery, keys that cannot be
// aimed at another task's result, and outcomes stored in an unambiguous envelope.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "integration/fake_upstash.h"
#include "sdk/http_sync.h"
#include "stratus/sdk/canonical_json.h"
#include "stratus/sdk/idempotency.h"
#include "stratus/sdk/job_server.h"
#include "stratus/sdk/redis.h"

namespace stratus::sdk {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::FakeUpstash;

constexpr char kPrefix[] = "idempotency:";

std::unique_ptr<HttpRedis> RedisAt(const std::string& url, std::chrono::milliseconds timeout = 5000ms) {
  RedisOptions o;
  o.url = url;
  o.timeout = timeout;
  o.retry_base = 20ms;
  auto redis = HttpRedis::Create(o);
  EXPECT_TRUE(redis.ok()) << redis.status().ToString();
  return std::move(redis).value();
}

json Payload(const std::string& job, const json& data) {
  return {{"data", data}, {"idempotencyKey", IdempotencyKey(job, data).value()}, {"jobName", job}};
}

// A JobServer with idempotency on `redis`, its log lines kept, and a client to call it.
class Worker {
 public:
  Worker(HttpRedis& redis, IdempotencyOptions idem, std::vector<std::pair<std::string, JobHandler>> jobs) {
    JobServerOptions o;
    o.mode = JobServerMode::kLocal;
    o.allow_unauthenticated = true;
    o.idempotency = std::make_shared<IdempotencyManager>(redis, std::move(idem));
    o.logger = Logger([this](std::string_view line) {
      std::lock_guard lock(mu_);
      log_ += std::string(line) + "\n";
    });
    server_ = std::make_unique<JobServer>(std::move(o));
    for (auto& [name, handler] : jobs) server_->Register(name, std::move(handler));
    Status st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    http_ = internal::SyncHttp::Create("").value();
  }
  ~Worker() { server_->Stop(); }

  http::ClientResult Post(const std::string& job, const std::string& body,
                          const std::map<std::string, std::string>& headers = {}) {
    http::Request req = internal::MakeRequest(http::Verb::post, body);
    for (const auto& [k, v] : headers) req.set(k, v);
    return http_->Fetch(http::Url::Parse(server_->url() + "/api/jobs/" + job).value(), std::move(req), 60000ms);
  }
  http::ClientResult Post(const std::string& job, const json& body,
                          const std::map<std::string, std::string>& headers = {}) {
    return Post(job, body.dump(), headers);
  }
  std::string Log() {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  std::unique_ptr<JobServer> server_;
  std::unique_ptr<internal::SyncHttp> http_;
  std::mutex mu_;
  std::string log_;
};

std::map<std::string, std::string> Delivery(const std::string& task, int retry) {
  return {{"X-CloudTasks-QueueName", "q"},
          {"X-CloudTasks-TaskName", task},
          {"X-CloudTasks-TaskRetryCount", std::to_string(retry)},
          {"X-CloudTasks-TaskExecutionCount", std::to_string(retry)}};
}

IdempotencyOptions FailClosed() {
  IdempotencyOptions o;
  o.on_redis_error = IdempotencyFailureMode::kFailClosed;
  return o;
}

// Defect: a SET NX that Redis applied but whose reply timed out was sent again; the retry
// found the claim and the worker answered "already running" for the whole lease.
TEST(SdkIdempotency, AClaimWhoseReplyWasLostIsStillOurs) {
  FakeUpstash fake;
  auto redis = RedisAt(fake.url(), 500ms);
  std::atomic<int> runs{0};
  Worker worker(*redis, FailClosed(), {{"sync", [&](const JobContext&, const json&) {
                                          ++runs;
                                          return JobResult::Ok({{"synced", true}});
                                        }}});
  fake.StallAppliedSets(1, 3000ms);  // the claim is applied; its reply comes after the client gave up
  const json body = Payload("sync", {{"userId", "u1"}});
  auto first = worker.Post("sync", body, Delivery("task-1", 0));
  EXPECT_EQ(first.status, 200) << first.body << "\n" << worker.Log();
  EXPECT_EQ(runs, 1);
  EXPECT_GE(fake.Count("SET"), 3) << "claim, its retry, and the completion";

  // Someone else's claim still means "running elsewhere".
  const json other = Payload("sync", {{"userId", "u2"}});
  const std::string key = kPrefix + IdempotencyKey("sync", other["data"]).value();
  fake.Put(key, json{{"v", 1}, {"state", "processing"}, {"owner", "q/task-9#0"}}.dump());
  auto busy = worker.Post("sync", other, Delivery("task-2", 0));
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_EQ(runs, 1);

  // The next attempt of the first task gets the stored result.
  auto again = worker.Post("sync", body, Delivery("task-1", 1));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body), (json{{"ok", true}, {"duplicate", true}, {"result", {{"synced", true}}}}));
  EXPECT_EQ(runs, 1);
}

// Release frees our own claim only.
TEST(SdkIdempotency, ReleaseLeavesAnotherOwnersClaim) {
  FakeUpstash fake;
  auto redis = RedisAt(fake.url());
  IdempotencyManager m(*redis);
  ASSERT_EQ(m.Begin("k", "a").value().state, IdempotencyClaim::State::kClaimed);
  EXPECT_EQ(m.Begin("k", "b").value().state, IdempotencyClaim::State::kInProgress);
  EXPECT_TRUE(m.Begin("k", "a").value().state == IdempotencyClaim::State::kClaimed);
  EXPECT_TRUE(m.Release("k", "b").ok());
  EXPECT_TRUE(fake.Value("idempotency:k").has_value());
  EXPECT_TRUE(m.Release("k", "a").ok());
  EXPECT_FALSE(fake.Value("idempotency:k").has_value());
  EXPECT_EQ(m.Begin(std::string(kMaxIdempotencyKeyBytes + 1, 'k')).status().code(), Code::kInvalidArgument);
}

// Defect: 4 attempts x 5 s per Redis call, several calls per delivery (81 s seen). With the
// client's defaults, one delivery now decides within its 5 s budget; the 503 names nothing
// internal.
TEST(SdkIdempotency, AHungRedisIsDecidedWithinOneDeliveryBudget) {
  FakeUpstash fake;
  fake.SetDelay(120s);
  auto redis = RedisAt(fake.url());  // client defaults: 5 s per exchange, 3 retries
  std::atomic<int> runs{0};
  Worker worker(*redis, FailClosed(), {{"sync", [&](const JobContext&, const json&) {
                                          ++runs;
                                          return JobResult::Ok();
                                        }}});
  auto start = std::chrono::steady_clock::now();
  auto r = worker.Post("sync", Payload("sync", {{"n", 1}}), Delivery("t", 0));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_LT(took, 12s) << "the default budget is 5 s";
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(json::parse(r.body), (json{{"error", "the idempotency store is unavailable; retry later"}}));
  const std::string port = fake.url().substr(fake.url().rfind(':') + 1);
  EXPECT_EQ(r.body.find(port), std::string::npos);
  std::string log = worker.Log();
  EXPECT_NE(log.find("unreachable"), std::string::npos) << log;
  EXPECT_NE(log.find(fake.url()), std::string::npos) << "the details are logged";
}

TEST(SdkIdempotency, FailOpenRunsTheJobWithinASmallBudget) {
  FakeUpstash fake;
  fake.SetDelay(120s);
  auto redis = RedisAt(fake.url());
  IdempotencyOptions o;
  o.on_redis_error = IdempotencyFailureMode::kFailOpen;
  o.redis_budget = 400ms;
  std::atomic<int> runs{0};
  Worker worker(*redis, o, {{"sync", [&](const JobContext&, const json&) {
                               ++runs;
                               return JobResult::Ok();
                             }}});
  auto start = std::chrono::steady_clock::now();
  auto r = worker.Post("sync", Payload("sync", {{"n", 2}}), Delivery("t", 0));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(runs, 1);
  // Claim and completion share the 400 ms (a loaded machine gets a generous bound).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  // The completion gets only what the claim left of the budget (little or nothing).
  EXPECT_LE(fake.Count("SET"), 2);
}

// Defect: the key was taken from the body as is.
TEST(SdkIdempotency, KeysAreRecomputedAndExact) {
  FakeUpstash fake;
  auto redis = RedisAt(fake.url());
  std::atomic<int> charges{0}, refunds{0};
  Worker worker(*redis, FailClosed(),
                {{"charge",
                  [&](const JobContext&, const json& d) {
                    ++charges;
                    return JobResult::Ok({{"charged", d["order"]}});
                  }},
                 {"refund", [&](const JobContext&, const json& d) {
                    ++refunds;
                    return JobResult::Ok({{"refunded", d["order"]}});
                  }}});
  const json real = {{"order", 1}};
  const std::string real_key = IdempotencyKey("charge", real).value();

  // The predicted key of a future task, sent with other data: refused, nothing stored.
  auto poison =
      worker.Post("charge", json{{"data", json::object()}, {"idempotencyKey", real_key}, {"jobName", "charge"}});
  EXPECT_EQ(poison.status, 400) << poison.body;
  EXPECT_NE(json::parse(poison.body)["error"].get<std::string>().find("does not match"), std::string::npos);
  // Upper case is another key.
  std::string upper = real_key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(worker.Post("charge", json{{"data", real}, {"idempotencyKey", upper}, {"jobName", "charge"}}).status, 400);
  // The charge's key on the refund job.
  EXPECT_EQ(worker.Post("refund", json{{"data", real}, {"idempotencyKey", real_key}, {"jobName", "refund"}}).status,
            400);
  // A huge key: refused by its length, and neither stored nor logged.
  const std::string huge(100000, 'a');
  auto big = worker.Post("charge", json{{"data", real}, {"idempotencyKey", huge}, {"jobName", "charge"}});
  EXPECT_EQ(big.status, 400);
  EXPECT_NE(big.body.find("longer than 128 bytes"), std::string::npos) << big.body.substr(0, 300);
  EXPECT_LT(big.body.size(), 1000u);
  EXPECT_EQ(fake.Keys(), 0u);
  EXPECT_EQ(charges + refunds, 0);
  EXPECT_EQ(worker.Log().find(std::string(200, 'a')), std::string::npos);

  // The real deliveries run, each with its own result.
  auto charged = worker.Post("charge", Payload("charge", real));
  EXPECT_EQ(json::parse(charged.body), (json{{"ok", true}, {"result", {{"charged", 1}}}}));
  auto refunded = worker.Post("refund", Payload("refund", real));
  EXPECT_EQ(json::parse(refunded.body), (json{{"ok", true}, {"result", {{"refunded", 1}}}}));
  EXPECT_EQ(charges, 1);
  EXPECT_EQ(refunds, 1);
  // 1, 1.0 and 1e0 are the same data, so the same key: a duplicate.
  auto same =
      worker.Post("charge", R"({"data":{"order":1.0},"idempotencyKey":")" + real_key + R"(","jobName":"charge"})");
  EXPECT_EQ(json::parse(same.body)["duplicate"], true) << same.body;
  EXPECT_EQ(charges, 1);
}

// Defect: a result shaped {"failed": "x"} came back as a permanent failure.
TEST(SdkIdempotency, AResultShapedLikeAFailureComesBackAsASuccess) {
  FakeUpstash fake;
  auto redis = RedisAt(fake.url());
  std::atomic<int> runs{0};
  Worker worker(*redis, FailClosed(),
                {{"check",
                  [&](const JobContext&, const json&) {
                    ++runs;
                    return JobResult::Ok({{"failed", "x"}});
                  }},
                 {"fatal", [&](const JobContext&, const json&) {
                    ++runs;
                    return JobResult::Permanent("no such user");
                  }}});
  const json body = Payload("check", {{"n", 1}});
  EXPECT_EQ(worker.Post("check", body).status, 200);
  auto again = worker.Post("check", body);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body), (json{{"ok", true}, {"duplicate", true}, {"result", {{"failed", "x"}}}}));
  auto stored = json::parse(fake.Value(kPrefix + body["idempotencyKey"].get<std::string>()).value());
  EXPECT_EQ(stored, (json{{"v", 1}, {"state", "done"}, {"outcome", "ok"}, {"result", {{"failed", "x"}}}}));

  const json fatal = Payload("fatal", {{"n", 1}});
  EXPECT_EQ(worker.Post("fatal", fatal).status, 200);
  auto dup = json::parse(worker.Post("fatal", fatal).body);
  EXPECT_EQ(dup, (json{{"ok", false}, {"permanent", true}, {"error", "no such user"}, {"duplicate", true}}));
  EXPECT_EQ(runs, 2);
}

// Records written before the envelope keep their old meaning until they expire.
TEST(SdkIdempotency, RecordsFromBeforeTheEnvelopeReadAsTheyWereMeant) {
  FakeUpstash fake;
  auto redis = RedisAt(fake.url());
  IdempotencyManager m(*redis);
  fake.Put("idempotency:old-ok", R"({"state":"done","result":{"n":1}})");
  fake.Put("idempotency:old-failed", R"({"state":"done","result":{"failed":"card declined"}})");
  fake.Put("idempotency:old-claim", R"({"state":"processing"})");
  fake.Put("idempotency:future", R"({"v":2,"state":"done","outcome":"ok","result":1})");
  auto ok = m.Begin("old-ok").value();
  EXPECT_EQ(ok.state, IdempotencyClaim::State::kCompleted);
  EXPECT_EQ(ok.result, std::optional<json>(json{{"n", 1}}));
  auto failed = m.Begin("old-failed").value();
  EXPECT_EQ(failed.state, IdempotencyClaim::State::kCompleted);
  EXPECT_EQ(failed.permanent_error, std::optional<std::string>("card declined"));
  EXPECT_FALSE(failed.result.has_value());
  EXPECT_EQ(m.Begin("old-claim").value().state, IdempotencyClaim::State::kInProgress);
  EXPECT_EQ(m.Begin("future").status().code(), Code::kInternal);
}

}  // namespace
}  // namespace stratus::sdk

namespace stratus::sdk {
namespace {

// A Cloud Scheduler job sends the same jobName and data at every tick: each tick must run once
// (its retries deduplicated), and the next tick must run again rather than answer "duplicate".
TEST(SdkIdempotency, EachSchedulerTickRunsOnceAndTheNextTickRunsAgain) {
  FakeUpstash fake;
  auto redis = RedisAt(fake.url());
  std::atomic<int> runs{0};
  std::mutex mu;
  std::vector<std::string> keys;
  Worker worker(*redis, FailClosed(), {{"renew", [&](const JobContext& ctx, const json&) {
                                          ++runs;
                                          std::lock_guard lock(mu);
                                          keys.push_back(ctx.idempotency_key + (ctx.schedule_time ? "" : " (no tick)"));
                                          return JobResult::Ok();
                                        }}});
  const json body = Payload("renew", {{"channel", "c1"}});
  auto tick = [&](const std::string& task, int retry, const std::string& at) {
    auto h = Delivery(task, retry);
    h["X-CloudScheduler-ScheduleTime"] = at;
    return worker.Post("renew", body, h);
  };
  EXPECT_EQ(tick("t1", 0, "2026-12-01T06:00:00Z").status, 200);
  auto retried = tick("t1", 1, "2026-12-01T06:00:00Z");  // the same tick delivered again
  EXPECT_EQ(retried.status, 200);
  EXPECT_EQ(json::parse(retried.body).value("duplicate", false), true) << retried.body;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(tick("t2", 0, "2026-12-01T12:00:00Z").status, 200);  // the next tick
  EXPECT_EQ(runs, 2);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(keys.size(), 2u);
    const std::string base = body["idempotencyKey"];
    EXPECT_EQ(keys[0], base + "@2026-12-01T06:00:00Z");
    EXPECT_EQ(keys[1], base + "@2026-12-01T12:00:00Z");
  }
  // Without the header the payload's key alone decides, as before.
  EXPECT_EQ(worker.Post("renew", body, Delivery("t3", 0)).status, 200);
  EXPECT_EQ(worker.Post("renew", body, Delivery("t4", 0)).status, 200);
  EXPECT_EQ(runs, 3);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(keys.size(), 3u);
    EXPECT_EQ(keys[2], body["idempotencyKey"].get<std::string>() + " (no tick)");
  }
  // A header that is not a time is refused, not used as a key.
  auto bad = tick("t5", 0, "yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("X-CloudScheduler-ScheduleTime"), std::string::npos) << bad.body;
  EXPECT_EQ(runs, 3);
}

}  // namespace
}  // namespace stratus::sdk
