// The storage codec (model/storage_codec.h): the format rows are kept in, apart from the API.
#include "model/storage_codec.h"

#include <gtest/gtest.h>

#include "common/time.h"

namespace stratus {
namespace {

constexpr Micros kT0 = 1'795'000'000LL * kMicrosPerSecond;

Queue FullQueue() {
  Queue q;
  q.name = "projects/p/locations/l/queues/q";
  q.rate_limits = {2.5, 10, 3};
  q.retry_config = {-1, 7200 * kMicrosPerSecond, 250'000, 30 * kMicrosPerSecond, 4};
  q.state = QueueState::kPaused;
  q.purge_time = kT0 + 123;
  q.logging_sampling_ratio = 0.25;
  HttpTarget t;
  UriOverride u;
  u.scheme = UriOverride::Scheme::kHttp;
  u.host = "h.example";
  u.port = 8080;
  u.path_override = UriOverride::PathOverride{""};
  u.query_override = UriOverride::QueryOverride{std::nullopt};
  u.enforce_mode = UriOverride::EnforceMode::kAlways;
  t.uri_override = u;
  t.http_method = HttpMethod::kDelete;
  t.header_overrides = {{"X-A", "1"}, {"X-B", ""}};
  t.oauth_token = OAuthToken{"o@x.example", "scope"};
  t.oidc_token = OidcToken{"i@x.example", ""};
  q.http_target = t;
  q.app_engine_routing_override = AppEngineRouting{"", "v", "", "host"};
  q.stratus.permanent_failure_statuses = {404};
  return q;
}

void ExpectSameQueue(const Queue& a, const Queue& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.rate_limits.max_dispatches_per_second, b.rate_limits.max_dispatches_per_second);
  EXPECT_EQ(a.rate_limits.max_burst_size, b.rate_limits.max_burst_size);
  EXPECT_EQ(a.rate_limits.max_concurrent_dispatches, b.rate_limits.max_concurrent_dispatches);
  EXPECT_EQ(a.retry_config.max_attempts, b.retry_config.max_attempts);
  EXPECT_EQ(a.retry_config.max_retry_duration, b.retry_config.max_retry_duration);
  EXPECT_EQ(a.retry_config.min_backoff, b.retry_config.min_backoff);
  EXPECT_EQ(a.retry_config.max_backoff, b.retry_config.max_backoff);
  EXPECT_EQ(a.retry_config.max_doublings, b.retry_config.max_doublings);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.purge_time, b.purge_time);
  EXPECT_EQ(a.logging_sampling_ratio, b.logging_sampling_ratio);
  EXPECT_TRUE(a.http_target == b.http_target);
  EXPECT_TRUE(a.app_engine_routing_override == b.app_engine_routing_override);
  EXPECT_EQ(a.stratus, b.stratus);
}

TEST(StorageCodec, QueueRoundTripsEveryField) {
  const Queue q = FullQueue();
  auto back = storage::DecodeQueue(storage::EncodeQueue(q), storage::EncodeQueueExtensions(q.stratus));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameQueue(*back, q);
  // Presence survives: an empty pathOverride is not an absent one.
  ASSERT_TRUE(back->http_target->uri_override->path_override.has_value());
  EXPECT_EQ(back->http_target->uri_override->path_override->path, "");
  EXPECT_FALSE(back->http_target->uri_override->query_override->query_params.has_value());
}

TEST(StorageCodec, TaskRoundTripsWithAndWithoutAttempts) {
  Task t;
  t.name = "projects/p/locations/l/queues/q/tasks/t";
  t.http_request =
      HttpRequest{"https://x.example/a", HttpMethod::kPut, {{"A", "b"}}, "", OidcToken{"i@x", "aud"}, std::nullopt};
  t.schedule_time = kT0 + 1;
  t.create_time = kT0;
  t.dispatch_deadline = 30 * kMicrosPerSecond;
  t.dispatch_count = 2;
  t.response_count = 1;
  t.first_attempt = Attempt{0, kT0 + 5, 0, std::nullopt};
  t.last_attempt = Attempt{kT0 + 1, kT0 + 6, kT0 + 7, Status(Code::kNotFound, "HTTP status code 404")};
  auto full = storage::DecodeTask(storage::EncodeTask(t, true));
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->name, t.name);
  EXPECT_EQ(full->http_request->url, t.http_request->url);
  EXPECT_EQ(full->http_request->http_method, HttpMethod::kPut);
  EXPECT_EQ(full->http_request->headers, t.http_request->headers);
  EXPECT_EQ(full->http_request->oidc_token, t.http_request->oidc_token);
  EXPECT_EQ(full->schedule_time, t.schedule_time);
  EXPECT_EQ(full->dispatch_deadline, t.dispatch_deadline);
  EXPECT_EQ(full->dispatch_count, 2);
  EXPECT_EQ(full->response_count, 1);
  EXPECT_EQ(full->first_attempt->dispatch_time, kT0 + 5);
  EXPECT_EQ(full->last_attempt->response_status->code(), Code::kNotFound);
  EXPECT_EQ(full->last_attempt->response_status->message(), "HTTP status code 404");

  auto bare = storage::DecodeTask(storage::EncodeTask(t, false));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->dispatch_count, 0);
  EXPECT_FALSE(bare->last_attempt.has_value());

  Task gae;
  gae.name = t.name;
  gae.app_engine_http_request =
      AppEngineHttpRequest{HttpMethod::kPost, AppEngineRouting{"s", "", "", ""}, "/w", {}, ""};
  auto back = storage::DecodeTask(storage::EncodeTask(gae, false));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->app_engine_http_request->app_engine_routing, gae.app_engine_http_request->app_engine_routing);
  EXPECT_EQ(back->app_engine_http_request->relative_uri, "/w");
}

TEST(StorageCodec, ReadsLenientlyWhatTheRestCodecWouldRefuse) {
  // Unknown members, enums as numbers, int64 as a number, snake_case the REST reader would
  // reject: a row is read for what it holds.
  auto q = storage::DecodeQueue(
      R"({"name":"projects/p/locations/l/queues/q","futureField":{"x":1},"state":2,
          "httpTarget":{"httpMethod":4,"uriOverride":{"scheme":2,"port":8443,"extra":true},"newThing":[]}})",
      "");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->state, QueueState::kPaused);
  EXPECT_EQ(q->http_target->http_method, HttpMethod::kPut);
  EXPECT_EQ(q->http_target->uri_override->scheme, UriOverride::Scheme::kHttps);
  EXPECT_EQ(q->http_target->uri_override->port, 8443);
  EXPECT_TRUE(q->stratus.permanent_failure_statuses.empty());
  auto t = storage::DecodeTask(R"({"name":"n","httpRequest":{"url":"http://x/","body":"aGk=","httpMethod":"GET"},
                                  "view":"BASIC","somethingNew":1})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->http_request->body, "hi");
  EXPECT_EQ(t->http_request->http_method, HttpMethod::kGet);
}

TEST(StorageCodec, CorruptAndNewerRecordsAreRefused) {
  EXPECT_EQ(storage::DecodeQueue("not json", "").status().message(), "storage: corrupt queue record");
  EXPECT_EQ(storage::DecodeTask("[1]").status().message(), "storage: corrupt task record");
  auto wrong = storage::DecodeTask(R"({"name":"n","scheduleTime":17})");
  EXPECT_EQ(wrong.status().code(), Code::kInternal);
  EXPECT_EQ(wrong.status().message(), "storage: corrupt task record (scheduleTime)");
  EXPECT_EQ(storage::DecodeQueue(R"({"rateLimits":{"maxDispatchesPerSecond":"fast"}})", "").status().message(),
            "storage: corrupt queue record (maxDispatchesPerSecond)");
  auto newer = storage::DecodeTask(R"({"storageFormat":1,"name":"n"})");
  EXPECT_EQ(newer.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("newer than this stratus reads (0)"), std::string::npos)
      << newer.status().message();
  EXPECT_TRUE(storage::DecodeTask(R"({"storageFormat":0,"name":"n"})").ok());
}

}  // namespace
}  // namespace stratus
