// TaskQueue against the real stratus binary: the task it creates, de-duplication by name,
// batches, queues.yaml entries, and the metadata-server token source (a fake metadata server
// here, as on Cloud Run) feeding stratus's --api-token.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/time.h"
#include "http/event_loops.h"
#include "http/server.h"
#include "rest_client.h"
#include "stratus/sdk/task_queue.h"
#include "stratus_process.h"

namespace stratus::sdk {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::RestClient;
using testing::StratusProcess;

constexpr char kSa[] = "worker@catchup-local.iam.gserviceaccount.com";

class SdkTaskQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(proc_.Start({"--redis-listen", "off"})) << proc_.output();
    TaskQueueOptions o;
    o.base_url = proc_.tasks_url();
    o.project = "catchup-local";
    o.service_url = "http://app.test:8080";
    o.service_account = kSa;
    o.job_queues = {{"calendar-sync", "sync-q"}, {"token-refresh", "token-q"}};
    auto q = TaskQueue::Create(o);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queue_ = std::move(q).value();
    for (const char* id : {"sync-q", "token-q"}) {
      // Paused, so the tasks stay to be inspected.
      Status s = queue_->ApplyQueue(id, json::object());
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(rest_.Post(Q(id) + ":pause").status, 200);
    }
  }
  std::string Q(const std::string& id) const {
    return proc_.tasks_url() + "/v2/projects/catchup-local/locations/us-central1/queues/" + id;
  }
  StratusProcess proc_;
  std::unique_ptr<TaskQueue> queue_;
  RestClient rest_;
};

TEST_F(SdkTaskQueue, CreatesTheHttpTaskTheJobEndpointExpects) {
  json data = {{"userId", "u1"}, {"calendarId", "primary"}};
  auto before = std::chrono::system_clock::now();
  auto t = queue_->Add("calendar-sync", data, {.delay = 90s});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->queue, "sync-q");
  EXPECT_EQ(t->idempotency_key, IdempotencyKey("calendar-sync", data).value());
  auto got = rest_.Get(proc_.tasks_url() + "/v2/" + t->name + "?responseView=FULL");
  ASSERT_EQ(got.status, 200) << got.body.dump();
  const json& req = got.body["httpRequest"];
  EXPECT_EQ(req["url"], "http://app.test:8080/api/jobs/calendar-sync");
  EXPECT_EQ(req["httpMethod"], "POST");
  EXPECT_EQ(req["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(req["oidcToken"]["serviceAccountEmail"], kSa);
  EXPECT_EQ(req["oidcToken"]["audience"], "http://app.test:8080");
  auto body = Base64Decode(req["body"].get<std::string>());
  ASSERT_TRUE(body.ok());
  json payload = json::parse(*body);
  EXPECT_EQ(payload["data"], data);
  EXPECT_EQ(payload["jobName"], "calendar-sync");
  EXPECT_EQ(payload["idempotencyKey"], t->idempotency_key);
  // scheduleTime is about 90 s on.
  auto when = ParseTimestamp(got.body["scheduleTime"].get<std::string>());
  ASSERT_TRUE(when.ok());
  auto before_us = std::chrono::duration_cast<std::chrono::microseconds>(before.time_since_epoch()).count();
  EXPECT_GE(*when, before_us + 90'000'000);
  EXPECT_LE(*when, before_us + 95'000'000);
}

TEST_F(SdkTaskQueue, NamedTaskIsDeduplicatedByTheQueue) {
  auto a = queue_->Add("token-refresh", json{{"userId", "u1"}}, {.task_id = "refresh-u1-2026-11-22"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "projects/catchup-local/locations/us-central1/queues/token-q/tasks/refresh-u1-2026-11-22");
  auto b = queue_->Add("token-refresh", json{{"userId", "u1"}}, {.task_id = "refresh-u1-2026-11-22"});
  EXPECT_EQ(b.status().code(), Code::kAlreadyExists) << b.status().ToString();
}

TEST_F(SdkTaskQueue, BatchCreatesEveryTask) {
  std::vector<Job> jobs;
  for (int i = 0; i < 60; ++i) jobs.push_back({i % 2 ? "calendar-sync" : "token-refresh", json{{"userId", i}}, {}});
  auto results = queue_->AddBatch(jobs, 8);
  ASSERT_EQ(results.size(), 60u);
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.status().ToString();
  auto listed = rest_.Get(Q("sync-q") + "/tasks?pageSize=1000");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body["tasks"].size(), 30u);
}

TEST_F(SdkTaskQueue, MissingQueueIsNotFound) {
  auto q = TaskQueue::Create({.base_url = proc_.tasks_url(),
                              .project = "catchup-local",
                              .service_url = "http://app.test",
                              .job_queues = {{"x", "no-such-queue"}}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Add("x", json::object()).status().code(), Code::kNotFound);
}

TEST_F(SdkTaskQueue, ApplyQueueSetsRetryRatesAndPermanentStatuses) {
  json fields = {{"retryConfig", {{"maxAttempts", 3}, {"minBackoff", "60s"}}},
                 {"rateLimits", {{"maxDispatchesPerSecond", 10}}},
                 {"stratus", {{"permanentFailureStatuses", {422}}}}};
  ASSERT_TRUE(queue_->ApplyQueue("token-refresh-queue", fields).ok());
  auto q = rest_.Get(Q("token-refresh-queue"));
  ASSERT_EQ(q.status, 200);
  EXPECT_EQ(q.body["retryConfig"]["maxAttempts"], 3);
  EXPECT_EQ(q.body["retryConfig"]["minBackoff"], "60s");
  EXPECT_EQ(q.body["rateLimits"]["maxDispatchesPerSecond"], 10.0);
  auto cfg = rest_.Get(proc_.tasks_url() +
                       "/stratus/v1/projects/catchup-local/locations/us-central1/queues/token-refresh-queue/config");
  EXPECT_EQ(cfg.body["permanentFailureStatuses"], json::array({422}));
  EXPECT_EQ(queue_->ApplyQueue("bad", json{{"retryConfig", {{"maxAttempts", -5}}}}).code(), Code::kInvalidArgument);
}

// A client pointed at a closed port: every local refusal must come back as INVALID_ARGUMENT,
// which proves no request was attempted (that would be UNAVAILABLE).
class SdkTaskQueueLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    auto q = TaskQueue::Create({.base_url = "http://127.0.0.1:1",
                                .project = "p",
                                .service_url = "http://app.test",
                                .job_queues = {{"token-refresh", "token-refresh-queue"}}});
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queue_ = std::move(q).value();
  }
  std::unique_ptr<TaskQueue> queue_;
};

TEST_F(SdkTaskQueueLocal, RefusesBeforeAnyRequest) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(queue_->Add("no-such-job", json::object()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Add("token-refresh", json::array()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Add("token-refresh", json::object(), {.schedule_time = now - 1h}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(queue_->Add("token-refresh", json::object(), {.schedule_time = now + 24h * 31}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(queue_->Add("token-refresh", json::object(), {.delay = 24h * 31}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Add("token-refresh", json::object(), {.delay = -1s}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Add("token-refresh", json::object(), {.delay = 1s, .schedule_time = now + 1h}).status().code(),
            Code::kInvalidArgument);
  // A valid job does try, and the closed port answers UNAVAILABLE.
  EXPECT_EQ(queue_->Add("token-refresh", json{{"userId", "u"}}).status().code(), Code::kUnavailable);
}

TEST_F(SdkTaskQueueLocal, BatchGivesOneResultPerJobInOrder) {
  std::vector<Job> jobs = {
      {"token-refresh", json{{"u", 1}}, {}}, {"nope", json::object(), {}}, {"token-refresh", json::array(), {}}};
  auto r = queue_->AddBatch(jobs, 2);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status().code(), Code::kUnavailable);
  EXPECT_EQ(r[1].status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r[2].status().code(), Code::kInvalidArgument);
}

// A fake GCE/Cloud Run metadata server: answers the token path when Metadata-Flavor is set.
class FakeMetadataServer {
 public:
  explicit FakeMetadataServer(int expires_in) : loops_(1) {
    Status s = router_.Add(http::Route{
        http::Verb::get, "/computeMetadata/v1/instance/service-accounts/default/token", http::Scope::kPublic,
        "metadata.token", [this, expires_in](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
          ++calls;
          if (ctx.request["Metadata-Flavor"] != "Google") {
            co_return http::MakeResponse(ctx.request, beast::http::status::forbidden, "missing Metadata-Flavor",
                                         "text/plain");
          }
          json body = {{"access_token", "meta-token-" + std::to_string(calls.load())},
                       {"expires_in", expires_in},
                       {"token_type", "Bearer"}};
          co_return http::MakeResponse(ctx.request, beast::http::status::ok, body.dump(), "application/json");
        }});
    EXPECT_TRUE(s.ok());
    http::ServerHooks hooks;
    hooks.error = [](const http::Request& req, int status, std::string msg) {
      return http::MakeResponse(req, static_cast<beast::http::status>(status), msg, "text/plain");
    };
    hooks.authorize = [](const http::RequestContext&, http::Scope) { return std::optional<http::Response>(); };
    server_ = std::make_unique<http::Server>(loops_, router_, hooks, http::ServerOptions{});
    EXPECT_TRUE(server_->Start().ok());
    loops_.Start();
  }
  ~FakeMetadataServer() {
    server_->Stop();
    loops_.Stop();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::atomic<int> calls{0};

 private:
  http::EventLoops loops_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

TEST(SdkMetadataToken, FetchesWithTheFlavorHeaderAndCachesUntilNearExpiry) {
  FakeMetadataServer meta(3600);
  MetadataServerTokenSource src(meta.url());
  auto a = src.Token();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "meta-token-1");
  EXPECT_EQ(*src.Token(), "meta-token-1");
  EXPECT_EQ(meta.calls.load(), 1);
  // A token that expires within the refresh margin is fetched again each time.
  FakeMetadataServer short_lived(30);
  MetadataServerTokenSource src2(short_lived.url());
  EXPECT_EQ(*src2.Token(), "meta-token-1");
  EXPECT_EQ(*src2.Token(), "meta-token-2");
}

TEST(SdkMetadataToken, UnreachableMetadataServerIsUnavailable) {
  MetadataServerTokenSource src("http://127.0.0.1:1", 500ms);
  EXPECT_EQ(src.Token().status().code(), Code::kUnavailable);
}

TEST(SdkMetadataToken, TaskQueueAuthenticatesWithTheMetadataToken) {
  FakeMetadataServer meta(3600);
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off", "--api-token", "meta-token-1"})) << proc.output();
  TaskQueueOptions o;
  o.base_url = proc.tasks_url();
  o.project = "catchup-local";
  o.service_url = "http://app.test";
  o.job_queues = {{"j", "q"}};
  o.token_source = std::make_shared<MetadataServerTokenSource>(meta.url());
  auto q = TaskQueue::Create(o);
  ASSERT_TRUE(q.ok());
  Status applied = (*q)->ApplyQueue("q", json::object());
  ASSERT_TRUE(applied.ok()) << applied.ToString();
  EXPECT_TRUE((*q)->Add("j", json{{"n", 1}}).ok());
  // Without a token source the same server refuses.
  o.token_source = nullptr;
  auto anon = TaskQueue::Create(o);
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ((*anon)->Add("j", json{{"n", 2}}).status().code(), Code::kUnauthenticated);
  o.token_source = std::make_shared<StaticTokenSource>("wrong");
  auto wrong = TaskQueue::Create(o);
  EXPECT_EQ((*wrong)->Add("j", json{{"n", 3}}).status().code(), Code::kUnauthenticated);
}

}  // namespace
}  // namespace stratus::sdk
