// Request building (tasks/engine/delivery.h): the X-CloudTasks-* headers on first and later
// attempts, the body, the method and the dispatch deadline. No I/O: BuildDelivery only builds.
#include <gtest/gtest.h>

#include "tasks/engine/delivery.h"

namespace stratus {
namespace {

constexpr Micros kSec = kMicrosPerSecond;

Queue MakeQueue() {
  Queue q;
  q.name = "projects/p/locations/l/queues/my-queue";
  return q;
}

// A task as AttemptStart leaves it for its `dispatch_count`-th attempt.
Task MakeTask(int dispatch_count, int execution_count, int previous_response) {
  Task t;
  t.name = "projects/p/locations/l/queues/my-queue/tasks/task-7";
  HttpRequest r;
  r.url = "http://worker.test:8080/jobs/run?x=1";
  r.headers = {{"Content-Type", "application/json"}, {"X-App", "a"}};
  r.body = R"({"n":1})";
  t.http_request = r;
  t.schedule_time = 1'795'322'121'250'000;  // 2026-11-22T04:35:21.250Z
  t.dispatch_count = dispatch_count;
  t.execution_count = execution_count;
  t.previous_response = previous_response;
  return t;
}

std::map<std::string, std::string> HeadersOf(const http::Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& f : req) out[std::string(f.name_string())] = std::string(f.value());
  return out;
}

Delivery Build(const Task& t, const Queue& q = MakeQueue()) {
  auto d = BuildDelivery(q, t, nullptr, DeliveryOptions{});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(*d) : Delivery{};
}

TEST(EngineDelivery, FirstAttemptHeaders) {
  Delivery d = Build(MakeTask(1, 0, 0));
  auto h = HeadersOf(d.request);
  EXPECT_EQ(h["User-Agent"], "Google-Cloud-Tasks");
  EXPECT_EQ(h["X-CloudTasks-QueueName"], "my-queue");
  EXPECT_EQ(h["X-CloudTasks-TaskName"], "task-7");
  EXPECT_EQ(h["X-CloudTasks-TaskRetryCount"], "0");
  EXPECT_EQ(h["X-CloudTasks-TaskExecutionCount"], "0");
  EXPECT_EQ(h["X-CloudTasks-TaskETA"], "1795322121.250000");
  EXPECT_EQ(h.count("X-CloudTasks-TaskPreviousResponse"), 0u) << "retries only";
  EXPECT_EQ(h.count("X-CloudTasks-TaskRetryReason"), 0u) << "retries only";
  EXPECT_EQ(h["Content-Type"], "application/json") << "the task's own headers";
  EXPECT_EQ(h["X-App"], "a");
  EXPECT_EQ(h.count("Authorization"), 0u);
}

TEST(EngineDelivery, LaterAttemptHeaders) {
  // The fourth attempt, after 503, 404, 500: three retries, one execution (the 404).
  Task t = MakeTask(4, 1, 500);
  t.schedule_time = 1'795'322'130'000'001;
  auto h = HeadersOf(Build(t).request);
  EXPECT_EQ(h["X-CloudTasks-TaskRetryCount"], "3");
  EXPECT_EQ(h["X-CloudTasks-TaskExecutionCount"], "1");
  EXPECT_EQ(h["X-CloudTasks-TaskPreviousResponse"], "500");
  ASSERT_EQ(h.count("X-CloudTasks-TaskRetryReason"), 1u);
  EXPECT_EQ(h["X-CloudTasks-TaskRetryReason"], "") << "empty for HTTP targets";
  EXPECT_EQ(h["X-CloudTasks-TaskETA"], "1795322130.000001");
  EXPECT_EQ(h["X-CloudTasks-QueueName"], "my-queue");
  EXPECT_EQ(h["X-CloudTasks-TaskName"], "task-7");
}

TEST(EngineDelivery, RetryAfterATimeoutNamesA504) {
  auto h = HeadersOf(Build(MakeTask(2, 0, 504)).request);
  EXPECT_EQ(h["X-CloudTasks-TaskPreviousResponse"], "504");
  EXPECT_EQ(h["X-CloudTasks-TaskRetryCount"], "1");
}

TEST(EngineDelivery, RetryAfterAConnectionErrorHasNoPreviousResponse) {
  auto h = HeadersOf(Build(MakeTask(2, 0, 0)).request);
  EXPECT_EQ(h.count("X-CloudTasks-TaskPreviousResponse"), 0u);
  EXPECT_EQ(h["X-CloudTasks-TaskRetryReason"], "");
}

TEST(EngineDelivery, EtaKeepsMicroseconds) {
  EXPECT_EQ(EtaSeconds(0), "0.000000");
  EXPECT_EQ(EtaSeconds(1'795'322'121'000'000), "1795322121.000000");
  EXPECT_EQ(EtaSeconds(1'795'322'121'123'456), "1795322121.123456");
}

TEST(EngineDelivery, TargetMethodAndBody) {
  Delivery d = Build(MakeTask(1, 0, 0));
  EXPECT_EQ(d.url.host, "worker.test");
  EXPECT_EQ(d.url.port, 8080);
  EXPECT_EQ(d.request.target(), "/jobs/run?x=1");
  EXPECT_EQ(d.request.method(), beast::http::verb::post);
  EXPECT_EQ(d.request.body(), R"({"n":1})");
  EXPECT_EQ(HeadersOf(d.request)["Content-Length"], "7");
  Task put = MakeTask(1, 0, 0);
  put.http_request->http_method = HttpMethod::kPut;
  EXPECT_EQ(Build(put).request.method(), beast::http::verb::put);
}

TEST(EngineDelivery, DispatchDeadlineDefaultsToTenMinutes) {
  EXPECT_EQ(Build(MakeTask(1, 0, 0)).deadline, 600 * kSec);
  Task t = MakeTask(1, 0, 0);
  t.dispatch_deadline = 15 * kSec;
  EXPECT_EQ(Build(t).deadline, 15 * kSec);
  t.dispatch_deadline = 1800 * kSec;
  EXPECT_EQ(Build(t).deadline, 1800 * kSec);
}

TEST(EngineDelivery, OAuthTasksNeedAToken) {
  Task t = MakeTask(1, 0, 0);
  t.http_request->oauth_token = OAuthToken{"sa@p.iam.gserviceaccount.com", ""};
  auto refused = BuildDelivery(MakeQueue(), t, nullptr, DeliveryOptions{});
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  DeliveryOptions o;
  o.oauth_token = "tok";
  auto d = BuildDelivery(MakeQueue(), t, nullptr, o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(HeadersOf(d->request)["Authorization"], "Bearer tok");
}

}  // namespace
}  // namespace stratus
