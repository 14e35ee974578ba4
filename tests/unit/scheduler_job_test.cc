// Cloud Scheduler jobs without I/O: the REST codec, the checks and their messages, defaults,
// and update masks.
#include <gtest/gtest.h>

#include "common/time.h"
#include "scheduler/codec.h"
#include "scheduler/messages.h"
#include "scheduler/service.h"
#include "scheduler/validation.h"

namespace stratus::scheduler {
namespace {

constexpr char kName[] = "projects/p/locations/us-central1/jobs/nightly";

StatusOr<JobInput> Decode(const std::string& text) {
  Json j = Json::parse(text);
  auto obj = JsonObject::Root(j, "job");
  if (!obj.ok()) return obj.status();
  return JobFromJson(*obj);
}

Job ValidJob() {
  auto in = Decode(R"({"name":"projects/p/locations/us-central1/jobs/nightly","schedule":"0 3 * * *",
                       "httpTarget":{"uri":"https://example.com/hook"}})");
  EXPECT_TRUE(in.ok()) << in.status().message();
  Job job = in->job;
  ApplyJobDefaults(&job);
  return job;
}

// The message ValidateJob answers for `job`, "" when it passes.
std::string Problem(Job job) {
  Status st = ValidateJob(&job, {});
  if (!st.ok()) {
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.message();
  }
  return st.ok() ? "" : st.message();
}

TEST(SchedulerCodec, RoundTripsEveryField) {
  auto in = Decode(R"({
    "name": "projects/p/locations/us-central1/jobs/nightly",
    "description": "renew webhooks",
    "schedule": "*/5 9-17 * * MON-FRI",
    "timeZone": "Europe/Berlin",
    "httpTarget": {"uri": "https://example.com/renew", "httpMethod": "PUT",
                   "headers": {"Content-Type": "application/json", "X-Trace": "1"},
                   "body": "eyJhIjoxfQ==",
                   "oidcToken": {"serviceAccountEmail": "sa@p.iam.gserviceaccount.com", "audience": "https://aud"}},
    "retryConfig": {"retryCount": 3, "maxRetryDuration": "600s", "minBackoffDuration": "10s",
                    "maxBackoffDuration": "300s", "maxDoublings": 2},
    "attemptDeadline": "320s",
    "stratusQueue": "projects/p/locations/us-central1/queues/periodic",
    "state": "PAUSED",
    "userUpdateTime": "2026-01-02T03:04:05Z",
    "scheduleTime": "2026-01-02T04:00:00Z",
    "lastAttemptTime": "2026-01-02T03:00:00.500Z",
    "status": {"code": 14, "message": "unavailable"}
  })");
  ASSERT_TRUE(in.ok()) << in.status().message();
  const Job& j = in->job;
  EXPECT_EQ(j.description, "renew webhooks");
  EXPECT_EQ(j.time_zone, "Europe/Berlin");
  EXPECT_EQ(j.http_target.http_method, HttpMethod::kPut);
  EXPECT_EQ(j.http_target.body, "{\"a\":1}");
  ASSERT_TRUE(j.http_target.oidc_token);
  EXPECT_EQ(j.http_target.oidc_token->audience, "https://aud");
  EXPECT_EQ(j.retry_config.retry_count, 3);
  EXPECT_EQ(j.retry_config.max_backoff, 300 * kMicrosPerSecond);
  EXPECT_EQ(j.attempt_deadline, 320 * kMicrosPerSecond);
  EXPECT_EQ(j.queue, "projects/p/locations/us-central1/queues/periodic");
  EXPECT_EQ(j.state, JobState::kPaused);
  ASSERT_TRUE(j.status);
  EXPECT_EQ(j.status->code(), Code::kUnavailable);

  Json out = JobToJson(j, JsonStyle{});
  EXPECT_EQ(out["httpTarget"]["body"], "eyJhIjoxfQ==");
  EXPECT_EQ(out["httpTarget"]["httpMethod"], "PUT");
  EXPECT_EQ(out["retryConfig"]["minBackoffDuration"], "10s");
  EXPECT_EQ(out["attemptDeadline"], "320s");
  EXPECT_EQ(out["stratusQueue"], "projects/p/locations/us-central1/queues/periodic");
  EXPECT_EQ(out["lastAttemptTime"], "2026-01-02T03:00:00.500Z");
  EXPECT_EQ(out["status"]["code"], 14);
  auto again = JobFromJson(*JsonObject::Root(out, "job"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(JobToJson(again->job, JsonStyle{}), out);
  // The Node client's REST mode asks for enums as numbers.
  Json ints = JobToJson(j, JsonStyle{true});
  EXPECT_EQ(ints["state"], 2);
  EXPECT_EQ(ints["httpTarget"]["httpMethod"], 4);
}

TEST(SchedulerCodec, SnakeCaseNamesAreAccepted) {
  auto in = Decode(R"({"time_zone":"UTC","http_target":{"uri":"http://h/","http_method":2},
                       "retry_config":{"retry_count":1},"attempt_deadline":"20s"})");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_EQ(in->job.http_target.http_method, HttpMethod::kGet);
  EXPECT_EQ(in->job.retry_config.retry_count, 1);
  EXPECT_EQ(in->job.attempt_deadline, 20 * kMicrosPerSecond);
}

TEST(SchedulerCodec, OtherTargetsAreUnimplemented) {
  for (const char* body :
       {R"({"pubsubTarget":{"topicName":"projects/p/topics/t"}})", R"({"appEngineHttpTarget":{"relativeUri":"/x"}})"}) {
    auto in = Decode(body);
    ASSERT_FALSE(in.ok());
    EXPECT_EQ(in.status().code(), Code::kUnimplemented);
    EXPECT_NE(in.status().message().find("not supported by stratus"), std::string::npos);
  }
}

TEST(SchedulerCodec, UnknownFieldsAndBadValuesAreRefusedInGooglesWords) {
  auto unknown = Decode(R"({"schedual":"* * * * *"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("Unknown name \"schedual\""), std::string::npos)
      << unknown.status().message();
  auto bad_body = Decode(R"({"httpTarget":{"uri":"http://h/","body":"%%%"}})");
  ASSERT_FALSE(bad_body.ok());
  EXPECT_NE(bad_body.status().message().find("Invalid value at 'job.http_target.body'"), std::string::npos)
      << bad_body.status().message();
  auto both = Decode(R"({"httpTarget":{"uri":"http://h/","oidcToken":{"serviceAccountEmail":"a@b"},
                                        "oauthToken":{"serviceAccountEmail":"a@b"}}})");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), Code::kInvalidArgument);
}

TEST(SchedulerCodec, RecordsWhichFieldsTheRequestNamed) {
  auto in = Decode(R"({"description":"d","httpTarget":{"uri":"http://h/"},"retryConfig":{"retryCount":2}})");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->present, (std::set<std::string>{"description", "httpTarget.uri", "retryConfig.retryCount"}));
}

TEST(SchedulerValidation, DefaultsAreCloudSchedulers) {
  Job job = ValidJob();
  ASSERT_EQ(Problem(job), "");
  EXPECT_EQ(job.http_target.http_method, HttpMethod::kPost);
  EXPECT_EQ(job.attempt_deadline, 180 * kMicrosPerSecond);
  EXPECT_EQ(job.retry_config.retry_count, 0);
  EXPECT_EQ(job.retry_config.max_retry_duration, 0);
  EXPECT_EQ(job.retry_config.min_backoff, 5 * kMicrosPerSecond);
  EXPECT_EQ(job.retry_config.max_backoff, 3600 * kMicrosPerSecond);
  EXPECT_EQ(job.retry_config.max_doublings, 5);
}

TEST(SchedulerValidation, JobNames) {
  EXPECT_TRUE(ParseJobName(kName).ok());
  EXPECT_TRUE(ParseJobName("projects/my-proj:x.y/locations/europe-west1/jobs/a_B-9").ok());
  EXPECT_TRUE(ParseJobName("projects/p/locations/l/jobs/" + std::string(500, 'a')).ok());
  for (std::string bad : std::vector<std::string>{
           "nightly", "projects/p/locations/l/jobs/", "projects/p/locations/l/jobs/a.b",
           "projects/p/locations/l/jobs/a/b", "projects/p/locations/l/queues/q",
           "projects/p/locations/l/jobs/" + std::string(501, 'a'), "projects//locations/l/jobs/j"}) {
    auto n = ParseJobName(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().message(), msg::kJobNameFormat) << bad;
  }
  EXPECT_EQ(std::string(msg::kJobNameFormat),
            "Job name must be formatted: \"projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>\".");
}

TEST(SchedulerValidation, ScheduleAndTimeZoneUseCronsMessages) {
  Job job = ValidJob();
  job.schedule = "61 * * * *";
  auto parsed = cron::Schedule::Parse(job.schedule);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Problem(job), parsed.status().message());
  job = ValidJob();
  job.schedule = "";
  EXPECT_EQ(Problem(job), msg::kScheduleRequired);
  job = ValidJob();
  job.time_zone = "Mars/Olympus_Mons";
  auto zone = cron::FindZone(job.time_zone);
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(Problem(job), zone.status().message());
  for (const char* ok : {"", "utc", "UTC", "Etc/UTC", "America/New_York"}) {
    job = ValidJob();
    job.time_zone = ok;
    EXPECT_EQ(Problem(job), "") << ok;
  }
}

TEST(SchedulerValidation, AttemptDeadlineIs15sTo30min) {
  for (Micros d : {15, 180, 1800}) {
    Job job = ValidJob();
    job.attempt_deadline = d * kMicrosPerSecond;
    EXPECT_EQ(Problem(job), "") << d;
  }
  for (Micros d : {Micros{14}, Micros{1801}, Micros{-20}}) {
    Job job = ValidJob();
    job.attempt_deadline = d * kMicrosPerSecond;
    EXPECT_EQ(Problem(job), msg::kAttemptDeadline) << d;
  }
}

TEST(SchedulerValidation, RetryConfig) {
  auto with = [](auto change) {
    Job job = ValidJob();
    change(job.retry_config);
    return Problem(job);
  };
  EXPECT_EQ(with([](JobRetryConfig& r) { r.retry_count = 5; }), "");
  EXPECT_EQ(with([](JobRetryConfig& r) { r.retry_count = 6; }), msg::kRetryCount);
  EXPECT_EQ(with([](JobRetryConfig& r) { r.retry_count = -1; }), msg::kRetryCount);
  EXPECT_EQ(with([](JobRetryConfig& r) { r.max_retry_duration = -1; }), msg::kMaxRetryDuration);
  EXPECT_EQ(with([](JobRetryConfig& r) { r.min_backoff = -1; }), msg::kMinBackoff);
  EXPECT_EQ(with([](JobRetryConfig& r) { r.max_backoff = -1; }), msg::kMaxBackoff);
  EXPECT_EQ(with([](JobRetryConfig& r) { r.min_backoff = r.max_backoff + 1; }), msg::kBackoffOrder);
  EXPECT_EQ(with([](JobRetryConfig& r) { r.max_doublings = -1; }), msg::kMaxDoublings);
}

TEST(SchedulerValidation, HttpTarget) {
  auto with = [](auto change) {
    Job job = ValidJob();
    change(job.http_target);
    return Problem(job);
  };
  EXPECT_EQ(with([](JobHttpTarget& t) { t.uri = "ftp://example.com/"; }), msg::kUriScheme);
  EXPECT_EQ(with([](JobHttpTarget& t) { t.uri = "/relative"; }), msg::kUriScheme);
  EXPECT_EQ(with([](JobHttpTarget& t) { t.uri = "https://example.com/" + std::string(2100, 'a'); }), msg::kUriTooLong);
  EXPECT_EQ(with([](JobHttpTarget& t) { t.uri = "https:///path"; }), "HttpTarget.uri must name a host.");
  EXPECT_EQ(with([](JobHttpTarget& t) {
              t.http_method = HttpMethod::kGet;
              t.body = "x";
            }),
            msg::kBodyMethod);
  EXPECT_EQ(with([](JobHttpTarget& t) {
              t.http_method = HttpMethod::kPatch;
              t.body = "x";
            }),
            "");
  EXPECT_EQ(with([](JobHttpTarget& t) { t.headers["X-Big"] = std::string(81 * 1024, 'a'); }), msg::kHeadersTooLarge);
  EXPECT_NE(with([](JobHttpTarget& t) { t.headers["Bad Name"] = "v"; }), "");
  EXPECT_NE(with([](JobHttpTarget& t) { t.headers["X-A"] = "a\r\nb"; }), "");
  EXPECT_EQ(with([](JobHttpTarget& t) {
              t.oidc_token = OidcToken{"", ""};
            }),
            "HttpTarget.oidcToken.serviceAccountEmail is required.");
  Job none = ValidJob();
  none.http_target = JobHttpTarget{};
  EXPECT_EQ(Problem(none), msg::kTargetRequired);
}

TEST(SchedulerValidation, ReservedHeadersAreDroppedAndUserAgentSet) {
  Job job = ValidJob();
  job.http_target.headers = {{"Host", "evil"},
                             {"content-length", "9"},
                             {"X-Google-Foo", "1"},
                             {"X-AppEngine-Bar", "1"},
                             {"X-CloudScheduler", "false"},
                             {"X-CloudScheduler-JobName", "x"},
                             {"User-Agent", "mine"},
                             {"X-Kept", "yes"}};
  ASSERT_EQ(Problem(job), "");
  ValidateJob(&job, {}).IgnoreError();
  EXPECT_EQ(job.http_target.headers,
            (std::map<std::string, std::string>{{"User-Agent", "Google-Cloud-Scheduler"}, {"X-Kept", "yes"}}));
}

TEST(SchedulerValidation, QueueExtension) {
  Job job = ValidJob();
  job.queue = "periodic";
  ASSERT_TRUE(ValidateJob(&job, {}).ok());
  EXPECT_EQ(job.queue, "projects/p/locations/us-central1/queues/periodic");
  job.queue = "projects/p/locations/us-central1/queues/bad_name";
  EXPECT_EQ(Problem(job), msg::kQueueName);
  job.queue = "bad_name";
  EXPECT_EQ(Problem(job), msg::kQueueName);
}

TEST(SchedulerValidation, DescriptionAtMost500) {
  Job job = ValidJob();
  job.description = std::string(500, 'd');
  EXPECT_EQ(Problem(job), "");
  job.description += "d";
  EXPECT_EQ(Problem(job), msg::kDescriptionTooLong);
}

TEST(SchedulerValidation, TargetPolicyIsAsked) {
  Job job = ValidJob();
  JobChecks checks;
  checks.check_target_url = [](std::string_view url) {
    return url.find("example.com") != std::string_view::npos ? InvalidArgument("denied: " + std::string(url))
                                                             : Status::Ok();
  };
  Status st = ValidateJob(&job, checks);
  EXPECT_EQ(st.message(), "denied: https://example.com/hook");
}

TEST(SchedulerValidation, NextTickIsAfterNowInTheJobsZone) {
  Job job = ValidJob();  // 03:00 every day
  auto now = ParseTimestamp("2026-03-10T12:00:00Z");
  ASSERT_TRUE(now.ok());
  auto next = NextTick(job, *now);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(FormatTimestamp(*next), "2026-03-11T03:00:00Z");
  job.time_zone = "America/New_York";  // EDT (UTC-4) from 2026-03-08
  next = NextTick(job, *now);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(FormatTimestamp(*next), "2026-03-11T07:00:00Z");
}

TEST(SchedulerMask, CopiesNamedFieldsOnly) {
  Job from = ValidJob();
  from.description = "new";
  from.schedule = "*/10 * * * *";
  from.http_target.uri = "https://other/";
  from.http_target.headers = {{"A", "1"}};
  from.retry_config.retry_count = 4;
  from.retry_config.min_backoff = 1;
  Job to = ValidJob();
  to.http_target.headers = {{"Old", "1"}};
  ASSERT_TRUE(ApplyJobMask(from, "description,http_target.uri,retryConfig.retryCount", &to).ok());
  EXPECT_EQ(to.description, "new");
  EXPECT_EQ(to.schedule, "0 3 * * *");
  EXPECT_EQ(to.http_target.uri, "https://other/");
  EXPECT_EQ(to.http_target.headers, (std::map<std::string, std::string>{{"Old", "1"}}));
  EXPECT_EQ(to.retry_config.retry_count, 4);
  EXPECT_EQ(to.retry_config.min_backoff, 5 * kMicrosPerSecond);
  // A message path copies all of it; a path inside a token copies the token.
  ASSERT_TRUE(ApplyJobMask(from, "retryConfig,httpTarget.oidcToken.audience", &to).ok());
  EXPECT_EQ(to.retry_config.min_backoff, 1);
  // Output-only paths are ignored; unknown ones refused; other targets unimplemented.
  EXPECT_TRUE(ApplyJobMask(from, "state,scheduleTime,name", &to).ok());
  Status unknown = ApplyJobMask(from, "colour", &to);
  EXPECT_EQ(unknown.message(),
            "Invalid update_mask provided: the field path \"colour\" is not an updatable Job field.");
  EXPECT_EQ(ApplyJobMask(from, "pubsubTarget.topicName", &to).code(), Code::kUnimplemented);
}

TEST(SchedulerMask, OidcAndOauthAreOneOf) {
  Job from = ValidJob();
  from.http_target.oidc_token = OidcToken{"sa@p.iam.gserviceaccount.com", ""};
  Job to = ValidJob();
  to.http_target.oauth_token = OAuthToken{"sa@p.iam.gserviceaccount.com", "scope"};
  ASSERT_TRUE(ApplyJobMask(from, "httpTarget.oidcToken", &to).ok());
  EXPECT_TRUE(to.http_target.oidc_token);
  EXPECT_FALSE(to.http_target.oauth_token);
}

}  // namespace
}  // namespace stratus::scheduler
