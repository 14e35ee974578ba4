#include "tasks/validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "common/clock.h"
#include "common/json.h"
#include "common/time.h"
#include "tasks/codec.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

constexpr Micros kSec = kMicrosPerSecond;

Micros At(const char* text) {
  return *ParseTimestamp(text);
}

class PrepareTaskTest : public ::testing::Test {
 protected:
  static Task HttpTask(std::string url = "https://example.com/h") {
    Task t;
    t.name = "projects/p/locations/l/queues/q/tasks/t";
    t.http_request = HttpRequest{};
    t.http_request->url = std::move(url);
    return t;
  }
  static Task AppEngineTask() {
    Task t;
    t.name = "projects/p/locations/l/queues/q/tasks/t";
    t.app_engine_http_request = AppEngineHttpRequest{};
    return t;
  }
  Status Prepare(Task* t) { return PrepareNewTask(t, clock_.Now(), limits_); }

  FakeClock clock_{At("2026-11-22T04:35:21.654321Z")};
  Limits limits_;
};

TEST(MaxBurstSizeFor, FollowsTheDocumentedFormula) {
  EXPECT_EQ(MaxBurstSizeFor(0.25), 10);
  EXPECT_EQ(MaxBurstSizeFor(1), 10);
  EXPECT_EQ(MaxBurstSizeFor(10), 10);
  EXPECT_EQ(MaxBurstSizeFor(50), 10);
  EXPECT_EQ(MaxBurstSizeFor(50.01), 11);
  EXPECT_EQ(MaxBurstSizeFor(500), 100);
  EXPECT_EQ(MaxBurstSizeFor(2500), 500);
  EXPECT_EQ(MaxBurstSizeFor(5000), 500);
  EXPECT_EQ(MaxBurstSizeFor(1e300), 500);
}

// gRPC carries doubles as IEEE bits, so NaN and infinities reach the defaults before validation.
TEST(ApplyQueueDefaults, NonFiniteRateLeavesValidationToRefuseIt) {
  for (double rate : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    Queue q;
    q.rate_limits.max_dispatches_per_second = rate;
    ApplyQueueDefaults(&q);
    EXPECT_GE(q.rate_limits.max_burst_size, 10);
    EXPECT_FALSE(ValidateQueueConfig(q, Limits{}).ok());
  }
  Queue q;
  q.logging_sampling_ratio = std::nan("");
  EXPECT_EQ(ValidateQueueConfig(q, Limits{}).message(),
            "StackdriverLoggingConfig.samplingRatio must be between 0.0 and 1.0.");
}

TEST(ApplyQueueDefaults, DerivesBurstEvenWhenTheRequestSetsIt) {
  Queue q;
  q.rate_limits.max_dispatches_per_second = 1;
  q.rate_limits.max_burst_size = 777;
  ApplyQueueDefaults(&q);
  EXPECT_EQ(q.rate_limits.max_burst_size, 10);
}

TEST(ApplyQueueDefaults, KeepsSetValues) {
  Queue q;
  q.rate_limits = {2, 0, 3};
  q.retry_config = {-1, 5, 7, 9, 1};
  q.state = QueueState::kPaused;
  ApplyQueueDefaults(&q);
  EXPECT_EQ(q.rate_limits.max_dispatches_per_second, 2);
  EXPECT_EQ(q.rate_limits.max_concurrent_dispatches, 3);
  EXPECT_EQ(q.retry_config.max_attempts, -1);
  EXPECT_EQ(q.retry_config.max_retry_duration, 5);
  EXPECT_EQ(q.retry_config.min_backoff, 7);
  EXPECT_EQ(q.retry_config.max_backoff, 9);
  EXPECT_EQ(q.retry_config.max_doublings, 1);
  EXPECT_EQ(q.state, QueueState::kPaused);
}

Status Validate(void (*edit)(Queue*), Limits limits = {}) {
  Queue q;
  edit(&q);
  return ValidateQueueConfig(q, limits);
}

TEST(ValidateQueueConfig, AcceptsDefaultsAndBounds) {
  EXPECT_TRUE(Validate([](Queue*) {}).ok());
  EXPECT_TRUE(Validate([](Queue* q) { q->rate_limits.max_dispatches_per_second = 500; }).ok());
  EXPECT_TRUE(Validate([](Queue* q) { q->rate_limits.max_concurrent_dispatches = 5000; }).ok());
  EXPECT_TRUE(Validate([](Queue* q) { q->retry_config.max_attempts = -1; }).ok());
  EXPECT_TRUE(Validate([](Queue* q) { q->retry_config.min_backoff = q->retry_config.max_backoff; }).ok());
  EXPECT_TRUE(Validate([](Queue* q) { q->logging_sampling_ratio = 1.0; }).ok());
}

TEST(ValidateQueueConfig, RejectsOutOfRangeWithClearMessages) {
  EXPECT_EQ(Validate([](Queue* q) { q->rate_limits.max_dispatches_per_second = 500.5; }).message(),
            "RateLimits.maxDispatchesPerSecond must be less than or equal to 500.");
  EXPECT_EQ(Validate([](Queue* q) { q->rate_limits.max_dispatches_per_second = -1; }).message(),
            "RateLimits.maxDispatchesPerSecond cannot be negative.");
  EXPECT_EQ(Validate([](Queue* q) { q->rate_limits.max_concurrent_dispatches = 5001; }).message(),
            "RateLimits.maxConcurrentDispatches must be less than or equal to 5000.");
  EXPECT_EQ(Validate([](Queue* q) { q->rate_limits.max_concurrent_dispatches = -1; }).message(),
            "RateLimits.maxConcurrentDispatches cannot be negative.");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.max_attempts = -2; }).message(),
            "RetryConfig.maxAttempts must be greater or equal to -1.");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.max_doublings = -1; }).message(),
            "RetryConfig.maxDoublings cannot be negative.");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.min_backoff = -1; }).message(),
            "RetryConfig.minBackoff cannot be negative.");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.max_retry_duration = -1; }).message(),
            "RetryConfig.maxRetryDuration cannot be negative.");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.min_backoff = q->retry_config.max_backoff + 1; }).message(),
            "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.");
  EXPECT_EQ(Validate([](Queue* q) { q->logging_sampling_ratio = 1.01; }).message(),
            "StackdriverLoggingConfig.samplingRatio must be between 0.0 and 1.0.");
}

TEST(ValidateQueueConfig, RaisedRateLimitIsPrintedPlainly) {
  Limits raised;
  raised.max_dispatches_per_second = 5000;
  EXPECT_TRUE(Validate([](Queue* q) { q->rate_limits.max_dispatches_per_second = 5000; }, raised).ok());
  EXPECT_EQ(Validate([](Queue* q) { q->rate_limits.max_dispatches_per_second = 5001; }, raised).message(),
            "RateLimits.maxDispatchesPerSecond must be less than or equal to 5000.");
  raised.max_dispatches_per_second = 2.5;
  EXPECT_EQ(Validate([](Queue* q) { q->rate_limits.max_dispatches_per_second = 3; }, raised).message(),
            "RateLimits.maxDispatchesPerSecond must be less than or equal to 2.5.");
}

TEST_F(PrepareTaskTest, NeedsExactlyOnePayload) {
  Task none;
  EXPECT_EQ(Prepare(&none).code(), Code::kInvalidArgument);
  Task both = HttpTask();
  both.app_engine_http_request = AppEngineHttpRequest{};
  EXPECT_EQ(Prepare(&both).message(), "Task can set only one of httpRequest and appEngineHttpRequest.");
}

TEST_F(PrepareTaskTest, UrlIsRequiredWithAnHttpScheme) {
  Task t = HttpTask("");
  EXPECT_EQ(Prepare(&t).message(), msg::kUrlRequired);
  EXPECT_EQ(std::string(msg::kUrlRequired), "HttpRequest.url is required.");
  for (const char* bad : {"ftp://x", "example.com/h", "http:/x", "//x"}) {
    Task b = HttpTask(bad);
    Status st = Prepare(&b);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(st.message(), "HttpTarget.url must start with 'http://' or 'https://'.") << bad;
  }
  for (const char* ok : {"http://x", "HTTPS://EXAMPLE.COM/", "Http://x:8080/p?q=1"}) {
    Task g = HttpTask(ok);
    EXPECT_TRUE(Prepare(&g).ok()) << ok;
  }
}

TEST_F(PrepareTaskTest, UrlLengthLimit) {
  const std::string base = "https://example.com/";
  Task ok = HttpTask(base + std::string(2083 - base.size(), 'a'));
  EXPECT_TRUE(Prepare(&ok).ok());
  Task bad = HttpTask(base + std::string(2084 - base.size(), 'a'));
  EXPECT_EQ(Prepare(&bad).message(), "HttpRequest.url must be at most 2083 characters.");
}

TEST_F(PrepareTaskTest, DeadlineDefaultsTo600sForHttp) {
  Task t = HttpTask();
  ASSERT_TRUE(Prepare(&t).ok());
  EXPECT_EQ(t.dispatch_deadline, 600 * kSec);
}

TEST_F(PrepareTaskTest, HttpDeadlineBoundsAreInclusive) {
  for (Micros d : {15 * kSec, 1800 * kSec}) {
    Task t = HttpTask();
    t.dispatch_deadline = d;
    EXPECT_TRUE(Prepare(&t).ok()) << d;
    EXPECT_EQ(t.dispatch_deadline, d);
  }
  for (Micros d : {15 * kSec - 1, 1800 * kSec + 1, -15 * kSec, Micros{1}}) {
    Task t = HttpTask();
    t.dispatch_deadline = d;
    Status st = Prepare(&t);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << d;
    EXPECT_EQ(st.message(), "Task.dispatchDeadline must be between [15s, 30m].") << d;
  }
}

TEST_F(PrepareTaskTest, AppEngineDeadlineBounds) {
  Task unset = AppEngineTask();
  ASSERT_TRUE(Prepare(&unset).ok());
  EXPECT_EQ(unset.dispatch_deadline, 0);
  for (Micros d : {15 * kSec, 24 * 3600 * kSec + 15 * kSec}) {
    Task t = AppEngineTask();
    t.dispatch_deadline = d;
    EXPECT_TRUE(Prepare(&t).ok()) << d;
  }
  for (Micros d : {15 * kSec - 1, 24 * 3600 * kSec + 15 * kSec + 1}) {
    Task t = AppEngineTask();
    t.dispatch_deadline = d;
    EXPECT_EQ(Prepare(&t).message(), "Task.dispatchDeadline must be between [15s, 24h15s].") << d;
  }
}

TEST_F(PrepareTaskTest, ScheduleTimeExactlyAt720hIsAccepted) {
  Task t = HttpTask();
  t.schedule_time = clock_.Now() + 720LL * 3600 * kSec;
  ASSERT_TRUE(Prepare(&t).ok());
  EXPECT_EQ(t.schedule_time, clock_.Now() + 720LL * 3600 * kSec);
}

TEST_F(PrepareTaskTest, ScheduleTimePast720hIsRejected) {
  Task t = HttpTask();
  t.schedule_time = clock_.Now() + 720LL * 3600 * kSec + 1;
  EXPECT_EQ(Prepare(&t).message(),
            "The Task.scheduleTime, 2026-12-22T04:35:21.654322Z, is too far in the future. Schedule time must be no "
            "more than 720h in the future.");
}

TEST_F(PrepareTaskTest, PastOrUnsetScheduleTimeBecomesNow) {
  Task unset = HttpTask();
  ASSERT_TRUE(Prepare(&unset).ok());
  EXPECT_EQ(unset.schedule_time, clock_.Now());

  Task past = HttpTask();
  past.schedule_time = At("1970-01-01T00:00:01Z");
  clock_.Advance(5 * kSec);
  ASSERT_TRUE(Prepare(&past).ok());
  EXPECT_EQ(past.schedule_time, clock_.Now());

  Task future = HttpTask();
  future.schedule_time = clock_.Now() + 1;
  ASSERT_TRUE(Prepare(&future).ok());
  EXPECT_EQ(future.schedule_time, clock_.Now() + 1);
}

TEST_F(PrepareTaskTest, CreateTimeIsTruncatedToSeconds) {
  Task t = HttpTask();
  t.create_time = 123;
  ASSERT_TRUE(Prepare(&t).ok());
  EXPECT_EQ(FormatTimestamp(t.create_time), "2026-11-22T04:35:21Z");
  EXPECT_EQ(FormatTimestamp(t.schedule_time), "2026-11-22T04:35:21.654321Z");
}

TEST_F(PrepareTaskTest, OutputOnlyCountersAreReset) {
  Task t = HttpTask();
  t.dispatch_count = 4;
  t.response_count = 3;
  t.first_attempt = Attempt{};
  t.last_attempt = Attempt{};
  ASSERT_TRUE(Prepare(&t).ok());
  EXPECT_EQ(t.dispatch_count, 0);
  EXPECT_EQ(t.response_count, 0);
  EXPECT_FALSE(t.first_attempt.has_value());
  EXPECT_FALSE(t.last_attempt.has_value());
}

TEST_F(PrepareTaskTest, UserAgentIsSetAndReservedHeadersDropped) {
  Task t = HttpTask();
  t.http_request->headers = {{"host", "evil"},
                             {"Content-Length", "9"},
                             {"USER-AGENT", "me"},
                             {"X-Google-Foo", "1"},
                             {"x-appengine-country", "x"},
                             {"X-Custom", "v"},
                             {"Content-Type", "text/plain"},
                             {"X-Googler", "kept"}};
  ASSERT_TRUE(Prepare(&t).ok());
  EXPECT_EQ(t.http_request->headers, (std::map<std::string, std::string>{{"Content-Type", "text/plain"},
                                                                         {"User-Agent", "Google-Cloud-Tasks"},
                                                                         {"X-Custom", "v"},
                                                                         {"X-Googler", "kept"}}));
}

TEST_F(PrepareTaskTest, AppEngineHeaders) {
  Task t = AppEngineTask();
  t.app_engine_http_request->body = "hello";
  t.app_engine_http_request->headers = {{"X-AppEngine-QueueName", "x"}, {"Content-Length", "1"}};
  ASSERT_TRUE(Prepare(&t).ok());
  EXPECT_EQ(
      t.app_engine_http_request->headers,
      (std::map<std::string, std::string>{{"Content-Length", "5"},
                                          {"Content-Type", "application/octet-stream"},
                                          {"User-Agent", "AppEngine-Google; (+http://code.google.com/appengine)"}}));
  Task typed = AppEngineTask();
  typed.app_engine_http_request->body = "{}";
  typed.app_engine_http_request->headers = {{"content-type", "application/json"}};
  ASSERT_TRUE(Prepare(&typed).ok());
  EXPECT_EQ(typed.app_engine_http_request->headers.count("Content-Type"), 0u);
  EXPECT_EQ(typed.app_engine_http_request->headers["content-type"], "application/json");
}

TEST_F(PrepareTaskTest, AppEngineRelativeUriMustBeAbsolute) {
  Task t = AppEngineTask();
  t.app_engine_http_request->relative_uri = "work";
  EXPECT_EQ(Prepare(&t).message(), "AppEngineHttpRequest.relativeUri must begin with \"/\".");
}

TEST_F(PrepareTaskTest, HeaderSizeLimitIs80KB) {
  Task ok = HttpTask();
  ok.http_request->headers["X-Big"] = std::string(79 * 1024, 'v');
  EXPECT_TRUE(Prepare(&ok).ok());
  Task big = HttpTask();
  big.http_request->headers["X-Big"] = std::string(80 * 1024, 'v');
  EXPECT_EQ(Prepare(&big).message(), "HttpRequest.headers must be less than 80KB.");
  Task many = HttpTask();
  for (int i = 0; i < 100; ++i) many.http_request->headers["X-H" + std::to_string(i)] = std::string(1024, 'v');
  EXPECT_EQ(Prepare(&many).code(), Code::kInvalidArgument);
  // Reserved headers do not count: they are dropped first.
  Task dropped = HttpTask();
  dropped.http_request->headers["X-Google-Big"] = std::string(100 * 1024, 'v');
  EXPECT_TRUE(Prepare(&dropped).ok());
  Task gae = AppEngineTask();
  gae.app_engine_http_request->headers["X-Big"] = std::string(80 * 1024, 'v');
  EXPECT_EQ(Prepare(&gae).message(), "AppEngineHttpRequest.headers must be less than 80KB.");
}

TEST_F(PrepareTaskTest, BodyOnlyWithPostPutPatch) {
  for (HttpMethod m : {HttpMethod::kPost, HttpMethod::kPut, HttpMethod::kPatch}) {
    Task t = HttpTask();
    t.http_request->http_method = m;
    t.http_request->body = "x";
    EXPECT_TRUE(Prepare(&t).ok()) << static_cast<int>(m);
  }
  for (HttpMethod m : {HttpMethod::kGet, HttpMethod::kHead, HttpMethod::kDelete, HttpMethod::kOptions}) {
    Task t = HttpTask();
    t.http_request->http_method = m;
    t.http_request->body = "x";
    EXPECT_EQ(Prepare(&t).message(),
              "HttpRequest.body can be set only when HttpRequest.httpMethod is POST, PUT or PATCH.")
        << static_cast<int>(m);
    Task empty = HttpTask();
    empty.http_request->http_method = m;
    EXPECT_TRUE(Prepare(&empty).ok()) << static_cast<int>(m);
  }
  Task gae = AppEngineTask();
  gae.app_engine_http_request->http_method = HttpMethod::kPatch;
  gae.app_engine_http_request->body = "x";
  EXPECT_EQ(Prepare(&gae).message(), "AppEngineHttpRequest.body can be set only when the HTTP method is POST or PUT.");
}

TEST_F(PrepareTaskTest, OnlyOneTokenKind) {
  Task t = HttpTask();
  t.http_request->oidc_token = OidcToken{"sa@x", ""};
  t.http_request->oauth_token = OAuthToken{"sa@x", ""};
  EXPECT_EQ(Prepare(&t).message(), "HttpRequest can set only one of oauthToken and oidcToken.");
}

TEST_F(PrepareTaskTest, TaskSizeLimit) {
  Task ok = HttpTask();
  ok.http_request->body = std::string(1'000'000, 'b');
  EXPECT_TRUE(Prepare(&ok).ok());
  Task big = HttpTask();
  big.http_request->body = std::string(1024 * 1024, 'b');
  Status st = Prepare(&big);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "Task size too large");
}

TEST_F(PrepareTaskTest, UrlWithoutAValidHostOrPortIsRejected) {
  const std::map<std::string, std::string> bad = {
      {"http://", "HttpRequest.url must name a host."},
      {"http://:80/", "HttpRequest.url must name a host."},
      {"https:///path", "HttpRequest.url must name a host."},
      {"http://[::1/", "HttpRequest.url has an invalid host."},
      {"http://[::1]x/", "HttpRequest.url has an invalid host."},
      {"http://[zz]/", "HttpRequest.url has an invalid host."},
      {"http://a\"b/", "HttpRequest.url has an invalid host."},
      {"http://x:99999999999/", "HttpRequest.url has an invalid port; a port must be between 1 and 65535."},
      {"http://x:114689/", "HttpRequest.url has an invalid port; a port must be between 1 and 65535."},
      {"http://x:0/", "HttpRequest.url has an invalid port; a port must be between 1 and 65535."},
      {"http://x:-5/", "HttpRequest.url has an invalid port; a port must be between 1 and 65535."},
      {"http://x:8o/", "HttpRequest.url has an invalid port; a port must be between 1 and 65535."},
      {"http://x /", "HttpRequest.url must not contain spaces or control characters."},
      {"http://x/a b", "HttpRequest.url must not contain spaces or control characters."},
      {"http://x/\r\nGET /smuggled HTTP/1.1", "HttpRequest.url must not contain spaces or control characters."},
      {"http://x/\n", "HttpRequest.url must not contain spaces or control characters."},
      {std::string("http://x/\0", 10), "HttpRequest.url must not contain spaces or control characters."},
      {"http://x/\t", "HttpRequest.url must not contain spaces or control characters."},
      {"http://x/\x7f", "HttpRequest.url must not contain spaces or control characters."},
  };
  for (const auto& [url, message] : bad) {
    Task t = HttpTask(url);
    Status st = Prepare(&t);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << url;
    EXPECT_EQ(st.message(), message) << url;
  }
  for (const char* ok : {"http://127.0.0.1:65535/", "http://[::1]/", "http://[::1]:8080/p", "http://x:1",
                         "http://user:pw@host.example:80/p?q=a%20b#frag", "http://x:/", "http://x?q",
                         "http://my_host.local/p", "https://xn--bcher-kva.example/"}) {
    Task t = HttpTask(ok);
    EXPECT_TRUE(Prepare(&t).ok()) << ok << ": " << Prepare(&t).message();
  }
}

TEST_F(PrepareTaskTest, HeaderNamesMustBeTokensAndValuesHaveNoControlCharacters) {
  const std::string name_message =
      "HttpRequest.headers has an invalid header name; a header name must be a non-empty RFC 9110 token (letters, "
      "digits and !#$%&'*+-.^_`|~).";
  for (const std::string& name :
       std::initializer_list<std::string>{"", " ", "X A", "X-A ", "X:A", "X\r\nInjected", "X\n", "X(A)", "\xc3\xa9"}) {
    Task t = HttpTask();
    t.http_request->headers[name] = "v";
    Status st = Prepare(&t);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(st.message(), name_message) << name;
  }
  for (const std::string& value :
       std::initializer_list<std::string>{"a\r\nX-Injected: 1", "a\n", "a\r", std::string("a\0b", 3), "\x7f", "\x01"}) {
    Task t = HttpTask();
    t.http_request->headers["X-A"] = value;
    EXPECT_EQ(Prepare(&t).message(),
              "HttpRequest.headers[\"X-A\"] has an invalid value; a header value must not contain control characters "
              "such as CR or LF.");
  }
  // Reserved headers are refused too when malformed: they would be dropped, but they show intent.
  Task host = HttpTask();
  host.http_request->headers["Host"] = "x\r\nY: z";
  EXPECT_EQ(Prepare(&host).code(), Code::kInvalidArgument);
  Task ok = HttpTask();
  ok.http_request->headers = {
      {"X-Tab", "a\tb"}, {"X-Space", " spaced value "}, {"X-Utf8", "caf\xc3\xa9"}, {"!#$%&'*+-.^_`|~09azAZ", ""}};
  EXPECT_TRUE(Prepare(&ok).ok()) << Prepare(&ok).message();
}

TEST_F(PrepareTaskTest, AppEngineRelativeUriAndHeadersAreChecked) {
  for (const char* uri : {"/a b", "/x\r\nGET / HTTP/1.1", "/\t"}) {
    Task t = AppEngineTask();
    t.app_engine_http_request->relative_uri = uri;
    EXPECT_EQ(Prepare(&t).message(), "AppEngineHttpRequest.relativeUri must not contain spaces or control characters.")
        << uri;
  }
  Task header = AppEngineTask();
  header.app_engine_http_request->relative_uri = "/ok?x=1";
  header.app_engine_http_request->headers["X A"] = "v";
  EXPECT_EQ(Prepare(&header).message().rfind("AppEngineHttpRequest.headers has an invalid header name", 0), 0u);
  Task value = AppEngineTask();
  value.app_engine_http_request->headers["X-A"] = "\r\n";
  EXPECT_EQ(Prepare(&value).message().rfind("AppEngineHttpRequest.headers[\"X-A\"] has an invalid value", 0), 0u);
}

TEST_F(PrepareTaskTest, TokensNeedAServiceAccountEmail) {
  Task empty = HttpTask();
  empty.http_request->oidc_token = OidcToken{"", "aud"};
  EXPECT_EQ(Prepare(&empty).message(), "HttpRequest.oidcToken.serviceAccountEmail is required.");
  Task oauth = HttpTask();
  oauth.http_request->oauth_token = OAuthToken{"", ""};
  EXPECT_EQ(Prepare(&oauth).message(), "HttpRequest.oauthToken.serviceAccountEmail is required.");
  for (const char* bad : {"sa", "@p.iam.gserviceaccount.com", "sa@", "a@b@c", "sa @x", "sa@x\r\n", "s\xc3\xa9@x"}) {
    Task t = HttpTask();
    t.http_request->oidc_token = OidcToken{bad, ""};
    EXPECT_EQ(Prepare(&t).message(),
              "HttpRequest.oidcToken.serviceAccountEmail must be an email address, such as "
              "name@project.iam.gserviceaccount.com.")
        << bad;
  }
  Task ok = HttpTask();
  ok.http_request->oidc_token = OidcToken{"sa@p.iam.gserviceaccount.com", ""};
  EXPECT_TRUE(Prepare(&ok).ok());
}

TEST(ValidateQueueConfig, RateBelowTheMinimumIsRejected) {
  for (double rate : {1e-300, 4.9e-324, 1e-10, std::nan("")}) {
    Queue q;
    q.rate_limits.max_dispatches_per_second = rate;
    EXPECT_EQ(ValidateQueueConfig(q, Limits{}).message(),
              "RateLimits.maxDispatchesPerSecond must be at least 0.000000001 (one dispatch in about 32 years).")
        << rate;
  }
  Queue inf;
  inf.rate_limits.max_dispatches_per_second = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ValidateQueueConfig(inf, Limits{}).code(), Code::kInvalidArgument);
  Queue slow;
  slow.rate_limits.max_dispatches_per_second = 1e-9;
  EXPECT_TRUE(ValidateQueueConfig(slow, Limits{}).ok());
}

TEST(ValidateQueueConfig, BackoffsAndRetryDurationStayInsideTheTimestampRange) {
  constexpr Micros kHundredYears = 3'153'600'000LL * kSec;
  EXPECT_TRUE(Validate([](Queue* q) {
                q->retry_config.min_backoff = kHundredYears;
                q->retry_config.max_backoff = kHundredYears;
                q->retry_config.max_retry_duration = kHundredYears;
              }).ok());
  // 315576000000s is the largest protobuf Duration: the backoff once scheduled a retry in 12027.
  EXPECT_EQ(Validate([](Queue* q) {
              q->retry_config.min_backoff = 315'576'000'000LL * kSec;
              q->retry_config.max_backoff = 315'576'000'000LL * kSec;
            }).message(),
            "RetryConfig.maxBackoff must be at most 3153600000s (100 years).");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.max_backoff = kHundredYears + 1; }).message(),
            "RetryConfig.maxBackoff must be at most 3153600000s (100 years).");
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.max_retry_duration = kHundredYears + 1; }).message(),
            "RetryConfig.maxRetryDuration must be at most 3153600000s (100 years).");
  // A huge minBackoff under the default maxBackoff keeps its old answer.
  EXPECT_EQ(Validate([](Queue* q) { q->retry_config.min_backoff = 315'576'000'000LL * kSec; }).message(),
            "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.");
}

// The target as the REST codec reads it from a request.
Status ValidateTarget(const char* target_json) {
  Json body = Json{{"httpTarget", Json::parse(target_json)}};
  auto obj = JsonObject::Of(body, "queue");
  if (!obj.ok()) return obj.status();
  auto q = QueueFromJson(*obj);
  if (!q.ok()) return q.status();
  ApplyQueueDefaults(&*q);
  return ValidateQueueConfig(*q, Limits{});
}

TEST(ValidateQueueConfig, HttpTargetOverridesObeyTheRequestRules) {
  const std::map<std::string, std::string> bad = {
      {R"({"uriOverride":{"port":"99999999999"}})", "HttpTarget.uriOverride.port must be between 1 and 65535."},
      {R"({"uriOverride":{"port":"114689"}})", "HttpTarget.uriOverride.port must be between 1 and 65535."},
      {R"({"uriOverride":{"port":"-5"}})", "HttpTarget.uriOverride.port must be between 1 and 65535."},
      {R"({"uriOverride":{"host":"x\r\nInjected: 1"}})",
       "HttpTarget.uriOverride.host must be a host name or an IP address."},
      {R"({"uriOverride":{"host":"a b"}})", "HttpTarget.uriOverride.host must be a host name or an IP address."},
      {R"({"uriOverride":{"host":"h/p"}})", "HttpTarget.uriOverride.host must be a host name or an IP address."},
      {R"({"uriOverride":{"host":"h:80"}})", "HttpTarget.uriOverride.host must be a host name or an IP address."},
      {R"({"uriOverride":{"pathOverride":{"path":"/p HTTP/1.1\r\nX: y"}}})",
       "HttpTarget.uriOverride.pathOverride.path must not contain spaces or control characters."},
      {R"({"uriOverride":{"queryOverride":{"queryParams":"a=1\n"}}})",
       "HttpTarget.uriOverride.queryOverride.queryParams must not contain spaces or control characters."},
      {R"({"headerOverrides":[{"header":{"key":"X-A","value":"1"}},{"header":{"key":"X B","value":"1"}}]})",
       "HttpTarget.headerOverrides[1].header.key must be a non-empty RFC 9110 token (letters, digits and "
       "!#$%&'*+-.^_`|~)."},
      {R"({"headerOverrides":[{"header":{"value":"1"}}]})",
       "HttpTarget.headerOverrides[0].header.key must be a non-empty RFC 9110 token (letters, digits and "
       "!#$%&'*+-.^_`|~)."},
      {R"({"headerOverrides":[{"header":{"key":"X-A","value":"1\r\nX-B: 2"}}]})",
       "HttpTarget.headerOverrides[0].header.value must not contain control characters such as CR or LF."},
      {R"({"oidcToken":{"audience":"a"}})", "HttpTarget.oidcToken.serviceAccountEmail is required."},
      {R"({"oauthToken":{"serviceAccountEmail":"nobody"}})",
       "HttpTarget.oauthToken.serviceAccountEmail must be an email address, such as "
       "name@project.iam.gserviceaccount.com."},
  };
  for (const auto& [target, message] : bad) {
    Status st = ValidateTarget(target.c_str());
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << target;
    EXPECT_EQ(st.message(), message) << target;
  }
  EXPECT_TRUE(ValidateTarget(R"({"uriOverride":{"scheme":2,"host":"api.example.com","port":"65535",
      "pathOverride":{"path":"/v1/run"},"queryOverride":{"queryParams":"a=1&b=2"}},"httpMethod":1,
      "headerOverrides":[{"header":{"key":"X-A","value":"a b\t"}}],"oidcToken":{"serviceAccountEmail":"sa@x"}})")
                  .ok());
  EXPECT_TRUE(ValidateTarget(R"({"uriOverride":{"host":"::1","port":"1"}})").ok());
  EXPECT_TRUE(ValidateTarget(R"({"uriOverride":{"host":"10.0.0.1"}})").ok());
}

TEST(Messages, AreGooglesProductionTexts) {
  EXPECT_STREQ(msg::kQueueExists, "Queue already exists");
  EXPECT_STREQ(msg::kQueueRecentlyDeleted,
               "The queue cannot be created because a queue with this name existed too recently.");
  EXPECT_STREQ(msg::kQueueMissing,
               "Queue does not exist. If you just created the queue, wait at least a minute for the queue to "
               "initialize.");
  EXPECT_STREQ(msg::kEntityMissing, "Requested entity was not found.");
  EXPECT_STREQ(msg::kEntityExists, "Requested entity already exists");
  EXPECT_STREQ(msg::kTaskRecentlyDeleted,
               "The task no longer exists, though a task with this name existed recently. The task either "
               "successfully completed or was deleted.");
  EXPECT_STREQ(msg::kUrlScheme, "HttpTarget.url must start with 'http://' or 'https://'.");
}

}  // namespace
}  // namespace stratus
