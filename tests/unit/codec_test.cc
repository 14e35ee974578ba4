#include "tasks/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tasks/validation.h"

namespace stratus {
namespace {

using ::testing::HasSubstr;

Json Parse(std::string_view text) {
  auto j = ParseJsonBody(text);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? *j : Json();
}

StatusOr<Queue> DecodeQueue(std::string_view text) {
  Json j = Parse(text);
  auto o = JsonObject::Of(j, "queue");
  if (!o.ok()) return o.status();
  return QueueFromJson(*o);
}

StatusOr<Task> DecodeTask(std::string_view text) {
  Json j = Parse(text);
  auto o = JsonObject::Of(j, "task");
  if (!o.ok()) return o.status();
  return TaskFromJson(*o);
}

Status QueueError(std::string_view text) {
  auto q = DecodeQueue(text);
  return q.ok() ? Status::Ok() : q.status();
}

Status TaskError(std::string_view text) {
  auto t = DecodeTask(text);
  return t.ok() ? Status::Ok() : t.status();
}

// The body the Node client sends for queues.create (captures/tasks.txt #2).
constexpr char kCapturedQueue[] =
    R"({"name":"projects/p/locations/l/queues/q","rateLimits":{"maxDispatchesPerSecond":5.5,"maxConcurrentDispatches":2},)"
    R"("retryConfig":{"maxAttempts":3,"maxRetryDuration":"3600s","minBackoff":"1s","maxBackoff":"10.500s","maxDoublings":4}})";

// The task of tasks.create (captures/tasks.txt #5).
constexpr char kCapturedTask[] =
    R"({"name":"projects/p/locations/l/queues/q/tasks/t1","httpRequest":{"headers":{"Content-Type":"application/json",)"
    R"("X-Custom":"v"},"url":"https://example.com/handler","httpMethod":1,"body":"eyJoZWxsbyI6IndvcmxkIn0=",)"
    R"("oidcToken":{"serviceAccountEmail":"sa@p.iam.gserviceaccount.com","audience":"https://example.com"}},)"
    R"("scheduleTime":"2026-11-22T04:37:44.250Z","dispatchDeadline":"30s"})";

TEST(QueueCodec, ReadsTheNodeClientsCreateBody) {
  auto q = DecodeQueue(kCapturedQueue);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->name, "projects/p/locations/l/queues/q");
  EXPECT_EQ(q->rate_limits.max_dispatches_per_second, 5.5);
  EXPECT_EQ(q->rate_limits.max_concurrent_dispatches, 2);
  EXPECT_EQ(q->retry_config.max_attempts, 3);
  EXPECT_EQ(q->retry_config.max_retry_duration, 3600 * kMicrosPerSecond);
  EXPECT_EQ(q->retry_config.min_backoff, kMicrosPerSecond);
  EXPECT_EQ(q->retry_config.max_backoff, 10'500'000);
  EXPECT_EQ(q->retry_config.max_doublings, 4);
}

TEST(QueueCodec, WritesLowerCamelWithEnumNamesOrInts) {
  auto q = DecodeQueue(kCapturedQueue);
  ASSERT_TRUE(q.ok());
  ApplyQueueDefaults(&*q);
  Json named = QueueToJson(*q, JsonStyle{});
  EXPECT_EQ(named, Parse(R"({"name":"projects/p/locations/l/queues/q",
      "rateLimits":{"maxDispatchesPerSecond":5.5,"maxBurstSize":10,"maxConcurrentDispatches":2},
      "retryConfig":{"maxAttempts":3,"maxRetryDuration":"3600s","minBackoff":"1s","maxBackoff":"10.500s","maxDoublings":4},
      "state":"RUNNING"})"));
  Json ints = QueueToJson(*q, JsonStyle{true});
  EXPECT_EQ(ints["state"], 1);
}

TEST(QueueCodec, AcceptsSnakeCaseNames) {
  auto q = DecodeQueue(R"({"rate_limits":{"max_dispatches_per_second":2,"max_concurrent_dispatches":3},
                           "retry_config":{"max_attempts":4,"min_backoff":"2s","max_backoff":"9s","max_doublings":1,
                                           "max_retry_duration":"60s"},
                           "stackdriver_logging_config":{"sampling_ratio":0.5}})");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->rate_limits.max_dispatches_per_second, 2);
  EXPECT_EQ(q->rate_limits.max_concurrent_dispatches, 3);
  EXPECT_EQ(q->retry_config.max_attempts, 4);
  EXPECT_EQ(q->retry_config.min_backoff, 2 * kMicrosPerSecond);
  EXPECT_EQ(q->retry_config.max_backoff, 9 * kMicrosPerSecond);
  EXPECT_EQ(q->retry_config.max_doublings, 1);
  EXPECT_EQ(q->retry_config.max_retry_duration, 60 * kMicrosPerSecond);
  EXPECT_EQ(q->logging_sampling_ratio, 0.5);
}

TEST(QueueCodec, ZeroAndNullAreUnsetAndGetDefaults) {
  for (const char* text : {"{}", R"({"rateLimits":null,"retryConfig":null})",
                           R"({"rateLimits":{"maxDispatchesPerSecond":0,"maxConcurrentDispatches":0},
                               "retryConfig":{"maxAttempts":0,"minBackoff":"0s","maxBackoff":"0s","maxDoublings":0},
                               "state":0})",
                           R"({"retryConfig":{"maxAttempts":null},"state":"STATE_UNSPECIFIED"})"}) {
    auto q = DecodeQueue(text);
    ASSERT_TRUE(q.ok()) << text << q.status().ToString();
    ApplyQueueDefaults(&*q);
    EXPECT_EQ(q->rate_limits.max_dispatches_per_second, 500) << text;
    EXPECT_EQ(q->rate_limits.max_burst_size, 100) << text;
    EXPECT_EQ(q->rate_limits.max_concurrent_dispatches, 1000) << text;
    EXPECT_EQ(q->retry_config.max_attempts, 100) << text;
    EXPECT_EQ(q->retry_config.max_retry_duration, 0) << text;
    EXPECT_EQ(q->retry_config.min_backoff, 100'000) << text;
    EXPECT_EQ(q->retry_config.max_backoff, 3600 * kMicrosPerSecond) << text;
    EXPECT_EQ(q->retry_config.max_doublings, 16) << text;
    EXPECT_EQ(q->state, QueueState::kRunning) << text;
  }
}

TEST(QueueCodec, DefaultQueueJsonMatchesGoogle) {
  auto q = DecodeQueue(R"({"name":"projects/p/locations/l/queues/q"})");
  ASSERT_TRUE(q.ok());
  ApplyQueueDefaults(&*q);
  EXPECT_EQ(QueueToJson(*q, JsonStyle{}), Parse(R"({"name":"projects/p/locations/l/queues/q",
      "rateLimits":{"maxDispatchesPerSecond":500.0,"maxBurstSize":100,"maxConcurrentDispatches":1000},
      "retryConfig":{"maxAttempts":100,"minBackoff":"0.100s","maxBackoff":"3600s","maxDoublings":16},
      "state":"RUNNING"})"));
}

TEST(QueueCodec, Int64AsString) {
  auto q = DecodeQueue(
      R"({"retryConfig":{"maxAttempts":"-1","maxDoublings":"3"},"rateLimits":{"maxConcurrentDispatches":"7"}})");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->retry_config.max_attempts, -1);
  EXPECT_EQ(q->retry_config.max_doublings, 3);
  EXPECT_EQ(q->rate_limits.max_concurrent_dispatches, 7);
}

TEST(QueueCodec, HugeNumbersNeverBecomeUnlimited) {
  // A number past int64 must be refused, not wrapped to -1 (which means "unlimited attempts").
  auto q = DecodeQueue(R"({"retryConfig":{"maxAttempts":18446744073709551615}})");
  if (q.ok()) ADD_FAILURE() << "maxAttempts 18446744073709551615 decoded as " << q->retry_config.max_attempts;
  EXPECT_EQ(q.status().message(),
            "Invalid value at 'queue.retry_config.max_attempts' (TYPE_INT32), 18446744073709551615");
}

TEST(QueueCodec, Int32FieldsRefuseValuesOutsideInt32) {
  EXPECT_EQ(QueueError(R"({"rateLimits":{"maxConcurrentDispatches":"99999999999"}})").message(),
            "Invalid value at 'queue.rate_limits.max_concurrent_dispatches' (TYPE_INT32), \"99999999999\"");
  EXPECT_EQ(QueueError(R"({"retryConfig":{"maxAttempts":2147483648}})").message(),
            "Invalid value at 'queue.retry_config.max_attempts' (TYPE_INT32), 2147483648");
  auto q = DecodeQueue(R"({"retryConfig":{"maxAttempts":2147483647,"maxDoublings":-2147483648}})");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->retry_config.max_attempts, INT32_MAX);
  EXPECT_EQ(q->retry_config.max_doublings, INT32_MIN);
}

TEST(QueueCodec, UnknownFieldsAreRejectedAtEveryDepth) {
  EXPECT_EQ(QueueError(R"({"nmae":"x"})").message(),
            "Invalid JSON payload received. Unknown name \"nmae\" at 'queue': Cannot find field.");
  EXPECT_EQ(QueueError(R"({"rateLimits":{"maxBurst":1}})").message(),
            "Invalid JSON payload received. Unknown name \"maxBurst\" at 'queue.rate_limits': Cannot find field.");
  EXPECT_EQ(QueueError(R"({"retry_config":{"max_tries":1}})").message(),
            "Invalid JSON payload received. Unknown name \"max_tries\" at 'queue.retry_config': Cannot find field.");
  EXPECT_EQ(QueueError(R"({"httpTarget":{"uriOverride":{"pathOverride":{"p":"/"}}}})").message(),
            "Invalid JSON payload received. Unknown name \"p\" at 'queue.http_target.uri_override.path_override': "
            "Cannot find field.");
  EXPECT_EQ(QueueError(R"({"httpTarget":{"headerOverrides":[{"header":{"key":"a","val":"b"}}]}})").message(),
            "Invalid JSON payload received. Unknown name \"val\" at 'queue.http_target.header_overrides[0].header': "
            "Cannot find field.");
  EXPECT_EQ(QueueError(R"({"appEngineRoutingOverride":{"zone":"x"}})").message(),
            "Invalid JSON payload received. Unknown name \"zone\" at 'queue.app_engine_routing_override': "
            "Cannot find field.");
}

TEST(QueueCodec, BadValuesNameTheProtoField) {
  EXPECT_EQ(QueueError(R"({"state":"ASLEEP"})").message(),
            "Invalid value at 'queue.state' (type.googleapis.com/google.cloud.tasks.v2.Queue.State), \"ASLEEP\"");
  EXPECT_EQ(QueueError(R"({"rateLimits":{"maxDispatchesPerSecond":"fast"}})").message(),
            "Invalid value at 'queue.rate_limits.max_dispatches_per_second' (TYPE_DOUBLE), \"fast\"");
  EXPECT_EQ(QueueError(R"({"retryConfig":{"minBackoff":1}})").message(),
            "Invalid value at 'queue.retry_config.min_backoff' (type.googleapis.com/google.protobuf.Duration), 1");
  EXPECT_EQ(QueueError(R"({"rateLimits":[]})").message(),
            "Invalid JSON payload received. Expected an object at 'queue.rate_limits', got [].");
  EXPECT_EQ(QueueError(R"({"httpTarget":{"headerOverrides":{}}})").message(),
            "Invalid value at 'queue.http_target.header_overrides', expected a list.");
}

TEST(QueueCodec, EnumsAsNamesOrNumbers) {
  for (const char* text : {R"({"state":"PAUSED"})", R"({"state":2})"}) {
    auto q = DecodeQueue(text);
    ASSERT_TRUE(q.ok()) << text;
    EXPECT_EQ(q->state, QueueState::kPaused) << text;
  }
}

TEST(QueueCodec, HttpTargetRoundTripsWithEnumStyle) {
  auto q = DecodeQueue(R"({"httpTarget":{"uriOverride":{"scheme":"HTTPS","host":"h","port":"8443",
      "pathOverride":{"path":"/p"},"queryOverride":{"queryParams":"a=1"},"uriOverrideEnforceMode":2},
      "httpMethod":"PUT","headerOverrides":[{"header":{"key":"X-A","value":"1"}}],
      "oidcToken":{"serviceAccountEmail":"sa@x","audience":"aud"}}})");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ApplyQueueDefaults(&*q);
  Json named = QueueToJson(*q, JsonStyle{});
  EXPECT_EQ(named["httpTarget"], Parse(R"({"uriOverride":{"scheme":"HTTPS","host":"h","port":"8443",
      "pathOverride":{"path":"/p"},"queryOverride":{"queryParams":"a=1"},"uriOverrideEnforceMode":"ALWAYS"},
      "httpMethod":"PUT","headerOverrides":[{"header":{"key":"X-A","value":"1"}}],
      "oidcToken":{"serviceAccountEmail":"sa@x","audience":"aud"}})"));
  Json ints = QueueToJson(*q, JsonStyle{true});
  EXPECT_EQ(ints["httpTarget"]["httpMethod"], 4);
  EXPECT_EQ(ints["httpTarget"]["uriOverride"]["scheme"], 2);
  // Decoding what we wrote gives the same queue.
  auto o = JsonObject::Of(ints, "queue");
  auto again = QueueFromJson(*o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ApplyQueueDefaults(&*again);
  EXPECT_EQ(QueueToJson(*again, JsonStyle{}), named);
}

TEST(QueueCodec, OutputOnlyFieldsRoundTrip) {
  auto q = DecodeQueue(R"({"name":"projects/p/locations/l/queues/q","state":"DISABLED",
                           "purgeTime":"2026-11-22T03:37:44.749Z","rateLimits":{"maxBurstSize":33}})");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->state, QueueState::kDisabled);
  ASSERT_TRUE(q->purge_time.has_value());
  Json out = QueueToJson(*q, JsonStyle{});
  EXPECT_EQ(out["purgeTime"], "2026-11-22T03:37:44.749Z");
  EXPECT_EQ(out["rateLimits"]["maxBurstSize"], 33);
  EXPECT_EQ(out["state"], "DISABLED");
}

TEST(TaskCodec, ReadsTheNodeClientsCreateBody) {
  auto t = DecodeTask(kCapturedTask);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name, "projects/p/locations/l/queues/q/tasks/t1");
  ASSERT_TRUE(t->http_request.has_value());
  const HttpRequest& r = *t->http_request;
  EXPECT_EQ(r.url, "https://example.com/handler");
  EXPECT_EQ(r.http_method, HttpMethod::kPost);
  EXPECT_EQ(r.body, R"({"hello":"world"})");
  EXPECT_EQ(r.headers, (std::map<std::string, std::string>{{"Content-Type", "application/json"}, {"X-Custom", "v"}}));
  ASSERT_TRUE(r.oidc_token.has_value());
  EXPECT_EQ(r.oidc_token->service_account_email, "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(r.oidc_token->audience, "https://example.com");
  EXPECT_FALSE(r.oauth_token.has_value());
  EXPECT_EQ(t->schedule_time, *ParseTimestamp("2026-11-22T04:37:44.250Z"));
  EXPECT_EQ(t->dispatch_deadline, 30 * kMicrosPerSecond);
}

TEST(TaskCodec, BasicViewHidesTheBodyButKeepsHeaders) {
  auto t = DecodeTask(kCapturedTask);
  ASSERT_TRUE(t.ok());
  Json basic = TaskToJson(*t, TaskView::kBasic, JsonStyle{});
  EXPECT_FALSE(basic["httpRequest"].contains("body"));
  EXPECT_EQ(basic["httpRequest"]["headers"]["X-Custom"], "v");
  EXPECT_EQ(basic["view"], "BASIC");
  Json unspecified = TaskToJson(*t, TaskView::kUnspecified, JsonStyle{true});
  EXPECT_FALSE(unspecified["httpRequest"].contains("body"));
  EXPECT_EQ(unspecified["view"], 1);
  Json full = TaskToJson(*t, TaskView::kFull, JsonStyle{true});
  EXPECT_EQ(full["httpRequest"]["body"], "eyJoZWxsbyI6IndvcmxkIn0=");
  EXPECT_EQ(full["view"], 2);
}

TEST(TaskCodec, WritesTheFieldsGoogleWrites) {
  auto t = DecodeTask(kCapturedTask);
  ASSERT_TRUE(t.ok());
  t->create_time = *ParseTimestamp("2026-11-22T03:37:44Z");
  Json j = TaskToJson(*t, TaskView::kFull, JsonStyle{true});
  EXPECT_EQ(j, Parse(R"({"name":"projects/p/locations/l/queues/q/tasks/t1",
      "scheduleTime":"2026-11-22T04:37:44.250Z","createTime":"2026-11-22T03:37:44Z","dispatchDeadline":"30s",
      "httpRequest":{"headers":{"Content-Type":"application/json","X-Custom":"v"},"url":"https://example.com/handler",
      "httpMethod":1,"body":"eyJoZWxsbyI6IndvcmxkIn0=",
      "oidcToken":{"serviceAccountEmail":"sa@p.iam.gserviceaccount.com","audience":"https://example.com"}},
      "view":2})"));
}

TEST(TaskCodec, TimestampsAreWrittenInZulu) {
  auto t = DecodeTask(R"({"httpRequest":{"url":"http://x"},"scheduleTime":"2026-11-22T05:37:44.123456789+01:00"})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(TaskToJson(*t, TaskView::kBasic, JsonStyle{})["scheduleTime"], "2026-11-22T04:37:44.123456Z");
}

TEST(TaskCodec, BodyInUrlSafeUnpaddedBase64) {
  auto t = DecodeTask(R"({"httpRequest":{"url":"http://x","body":"-_8"}})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->http_request->body, "\xfb\xff");
  EXPECT_EQ(TaskToJson(*t, TaskView::kFull, JsonStyle{})["httpRequest"]["body"], "+/8=");
}

TEST(TaskCodec, MethodsByNameOrNumber) {
  for (auto [text, method] : {std::pair{R"({"httpRequest":{"httpMethod":"GET"}})", HttpMethod::kGet},
                              std::pair{R"({"httpRequest":{"httpMethod":7}})", HttpMethod::kOptions},
                              std::pair{R"({"httpRequest":{"httpMethod":0}})", HttpMethod::kPost},
                              std::pair{R"({"httpRequest":{}})", HttpMethod::kPost}}) {
    auto t = DecodeTask(text);
    ASSERT_TRUE(t.ok()) << text;
    EXPECT_EQ(t->http_request->http_method, method) << text;
  }
  EXPECT_EQ(TaskError(R"({"httpRequest":{"httpMethod":"FETCH"}})").message(),
            "Invalid value at 'task.http_request.http_method' (type.googleapis.com/google.cloud.tasks.v2.HttpMethod), "
            "\"FETCH\"");
  EXPECT_EQ(TaskError(R"({"httpRequest":{"httpMethod":8}})").code(), Code::kInvalidArgument);
  EXPECT_EQ(HttpMethodName(HttpMethod::kDelete), "DELETE");
}

TEST(TaskCodec, UnknownAndBadFields) {
  EXPECT_EQ(TaskError(R"({"httpRequest":{"url":"http://x","method":"GET"}})").message(),
            "Invalid JSON payload received. Unknown name \"method\" at 'task.http_request': Cannot find field.");
  EXPECT_EQ(
      TaskError(R"({"httpRequest":{"oidcToken":{"aud":"x"}}})").message(),
      "Invalid JSON payload received. Unknown name \"aud\" at 'task.http_request.oidc_token': Cannot find field.");
  EXPECT_EQ(TaskError(R"({"lastAttempt":{"responseStatus":{"cod":1}}})").message(),
            "Invalid JSON payload received. Unknown name \"cod\" at 'task.last_attempt.response_status': "
            "Cannot find field.");
  EXPECT_EQ(TaskError(R"({"httpRequest":{"body":"not base64!"}})").message(),
            "Invalid value at 'task.http_request.body' (TYPE_BYTES), \"not base64!\"");
  EXPECT_EQ(TaskError(R"({"scheduleTime":"2026-11-22 04:37:44Z"})").message(),
            "Invalid value at 'task.schedule_time' (type.googleapis.com/google.protobuf.Timestamp), "
            "\"2026-11-22 04:37:44Z\"");
  EXPECT_EQ(TaskError(R"({"dispatchDeadline":"30"})").message(),
            "Invalid value at 'task.dispatch_deadline' (type.googleapis.com/google.protobuf.Duration), \"30\"");
  EXPECT_EQ(TaskError(R"({"httpRequest":{"headers":["a"]}})").code(), Code::kInvalidArgument);
  EXPECT_EQ(TaskError(R"({"view":"HUGE"})").code(), Code::kInvalidArgument);
}

TEST(TaskCodec, AppEngineRequest) {
  auto t = DecodeTask(R"({"appEngineHttpRequest":{"httpMethod":"PUT","relativeUri":"/work?x=1",
      "appEngineRouting":{"service":"worker","version":""},"headers":{"A":"b"},"body":"aGk="}})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(t->app_engine_http_request.has_value());
  const auto& r = *t->app_engine_http_request;
  EXPECT_EQ(r.http_method, HttpMethod::kPut);
  EXPECT_EQ(r.relative_uri, "/work?x=1");
  EXPECT_EQ(r.app_engine_routing, (AppEngineRouting{"worker", "", "", ""}));
  EXPECT_EQ(r.body, "hi");
  Json basic = TaskToJson(*t, TaskView::kBasic, JsonStyle{});
  EXPECT_FALSE(basic["appEngineHttpRequest"].contains("body"));
  EXPECT_EQ(basic["appEngineHttpRequest"]["appEngineRouting"]["service"], "worker");
  EXPECT_EQ(TaskToJson(*t, TaskView::kFull, JsonStyle{})["appEngineHttpRequest"]["body"], "aGk=");

  auto d = DecodeTask(R"({"appEngineHttpRequest":{}})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->app_engine_http_request->relative_uri, "/");
}

TEST(TaskCodec, AttemptsRoundTrip) {
  constexpr char kText[] = R"({"name":"projects/p/locations/l/queues/q/tasks/t","httpRequest":{"url":"http://x"},
      "scheduleTime":"2026-11-22T04:37:44.250Z","createTime":"2026-11-22T03:37:44Z","dispatchCount":"2","responseCount":1,
      "firstAttempt":{"dispatchTime":"2026-11-22T03:37:44.730Z"},
      "lastAttempt":{"scheduleTime":"2026-11-22T04:37:44.250Z","dispatchTime":"2026-11-22T04:37:45Z",
                     "responseTime":"2026-11-22T04:37:46.000001Z","responseStatus":{"code":5,"message":"Not Found"}}})";
  auto t = DecodeTask(kText);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->dispatch_count, 2);
  EXPECT_EQ(t->response_count, 1);
  ASSERT_TRUE(t->last_attempt && t->last_attempt->response_status);
  EXPECT_EQ(t->last_attempt->response_status->code(), Code::kNotFound);
  Json out = TaskToJson(*t, TaskView::kFull, JsonStyle{});
  EXPECT_EQ(out["lastAttempt"]["responseStatus"], Parse(R"({"code":5,"message":"Not Found"})"));
  EXPECT_EQ(out["lastAttempt"]["responseTime"], "2026-11-22T04:37:46.000001Z");
  EXPECT_EQ(out["firstAttempt"], Parse(R"({"dispatchTime":"2026-11-22T03:37:44.730Z"})"));
  EXPECT_EQ(out["dispatchCount"], 2);
  auto o = JsonObject::Of(out, "task");
  auto again = TaskFromJson(*o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(TaskToJson(*again, TaskView::kFull, JsonStyle{}), out);
}

TEST(TaskCodec, SuccessfulAttemptStatusIsCodeZero) {
  auto t = DecodeTask(R"({"lastAttempt":{"responseStatus":{"code":0}}})");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->last_attempt->response_status.has_value());
  EXPECT_TRUE(t->last_attempt->response_status->ok());
}

TEST(RpcStatusToJson, OmitsZeroFields) {
  EXPECT_EQ(RpcStatusToJson(Status()), Json::object());
  EXPECT_EQ(RpcStatusToJson(Status(Code::kDeadlineExceeded, "")), Parse(R"({"code":4})"));
  EXPECT_EQ(RpcStatusToJson(NotFound("gone")), Parse(R"({"code":5,"message":"gone"})"));
}

TEST(TaskCodec, NestedValueInAnUnexpectedPlaceNamesThePath) {
  std::string text = R"({"appEngineHttpRequest":{"appEngineRouting":{"service":)" + std::string(50, '[') +
                     std::string(50, ']') + "}}}";
  EXPECT_THAT(TaskError(text).message(),
              HasSubstr("Invalid value at 'task.app_engine_http_request.app_engine_routing.service'"));
}

}  // namespace
}  // namespace stratus
