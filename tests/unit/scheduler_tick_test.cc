// The executor's pure decisions: next ticks, the tick after one that fired late, the retry
// schedule of an execution, and the request and task an attempt makes.
#include <gtest/gtest.h>

#include "common/time.h"
#include "cron/cron.h"
#include "scheduler/job_request.h"
#include "scheduler/tick.h"

namespace stratus::scheduler {
namespace {

constexpr Micros kSec = kMicrosPerSecond;

Micros At(const char* rfc3339) {
  auto t = ParseTimestamp(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

const date::time_zone& Zone(const char* name) {
  auto z = cron::FindZone(name);
  EXPECT_TRUE(z.ok()) << name;
  return **z;
}

cron::Schedule Parse(const char* text) {
  auto s = cron::Schedule::Parse(text);
  EXPECT_TRUE(s.ok()) << text;
  return *s;
}

TEST(SchedulerTick, NextTickIsStrictlyAfter) {
  const auto every5 = Parse("*/5 * * * *");
  EXPECT_EQ(NextTickAfter(every5, Zone("UTC"), At("2026-12-01T12:03:30Z")), At("2026-12-01T12:05:00Z"));
  EXPECT_EQ(NextTickAfter(every5, Zone("UTC"), At("2026-12-01T12:05:00Z")), At("2026-12-01T12:10:00Z"));
  // A fraction of a second after a tick is after it.
  EXPECT_EQ(NextTickAfter(every5, Zone("UTC"), At("2026-12-01T12:04:59.999999Z")), At("2026-12-01T12:05:00Z"));
  EXPECT_EQ(NextTickAfter(every5, Zone("UTC"), At("2026-12-01T12:05:00.000001Z")), At("2026-12-01T12:10:00Z"));
  // In the job's zone: 09:00 in Berlin is 08:00 UTC in winter.
  EXPECT_EQ(NextTickAfter(Parse("0 9 * * *"), Zone("Europe/Berlin"), At("2026-12-01T12:00:00Z")),
            At("2026-12-02T08:00:00Z"));
  EXPECT_EQ(NextTickAfter(Parse("0 0 30 2 *"), Zone("UTC"), At("2026-12-01T12:00:00Z")), 0) << "never fires";
}

TEST(SchedulerTick, MissedTicksAreNotReplayed) {
  const auto minutely = Parse("* * * * *");
  const Micros fired = At("2026-12-01T12:00:00Z");
  // On time: the next minute.
  EXPECT_EQ(FollowingTick(minutely, Zone("UTC"), fired, fired), At("2026-12-01T12:01:00Z"));
  EXPECT_EQ(FollowingTick(minutely, Zone("UTC"), fired, fired + 2 * kSec), At("2026-12-01T12:01:00Z"));
  // Handled 10 minutes late: the ticks in between are skipped, not fired one after another.
  EXPECT_EQ(FollowingTick(minutely, Zone("UTC"), fired, fired + 600 * kSec + kSec / 2), At("2026-12-01T12:11:00Z"));
  // Handled exactly at the next tick: one execution (the late one) for both, not two in a row.
  EXPECT_EQ(FollowingTick(minutely, Zone("UTC"), fired, fired + 60 * kSec), At("2026-12-01T12:02:00Z"));
}

TEST(SchedulerTick, BackoffAsJobProtoDocumentsIt) {
  // job.proto's example: min 10 s, max 300 s, 3 doublings: 10, 20, 40, 80, 160, 240, 300, 300.
  JobRetryConfig c;
  c.min_backoff = 10 * kSec;
  c.max_backoff = 300 * kSec;
  c.max_doublings = 3;
  const std::vector<Micros> want = {10, 20, 40, 80, 160, 240, 300, 300};
  for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(JobRetryDelay(c, static_cast<int>(k)), want[k] * kSec) << k;
  // The defaults: 5 s doubling five times, then linear, capped at an hour.
  JobRetryConfig d;
  EXPECT_EQ(JobRetryDelay(d, 0), 5 * kSec);
  EXPECT_EQ(JobRetryDelay(d, 5), 160 * kSec);
  EXPECT_EQ(JobRetryDelay(d, 6), 320 * kSec);
  EXPECT_EQ(JobRetryDelay(d, 100), 3600 * kSec);
}

TEST(SchedulerTick, RetriesUntilBothLimitsAreReached) {
  const Micros t0 = At("2026-12-01T12:00:00Z");
  JobRetryConfig none;  // retryCount 0, maxRetryDuration 0: no retry
  EXPECT_FALSE(JobMayRetry(none, 1, t0, t0));
  JobRetryConfig three;
  three.retry_count = 3;
  EXPECT_TRUE(JobMayRetry(three, 1, t0, t0));
  EXPECT_TRUE(JobMayRetry(three, 3, t0, t0 + 3600 * kSec));
  EXPECT_FALSE(JobMayRetry(three, 4, t0, t0)) << "3 retries made";
  JobRetryConfig duration;
  duration.max_retry_duration = 30 * kSec;
  EXPECT_TRUE(JobMayRetry(duration, 1, t0, t0 + 29 * kSec));
  EXPECT_FALSE(JobMayRetry(duration, 1, t0, t0 + 30 * kSec));
  JobRetryConfig both;
  both.retry_count = 1;
  both.max_retry_duration = 30 * kSec;
  EXPECT_TRUE(JobMayRetry(both, 5, t0, t0 + 10 * kSec)) << "count spent, duration not";
  EXPECT_TRUE(JobMayRetry(both, 1, t0, t0 + 60 * kSec)) << "duration spent, count not";
  EXPECT_FALSE(JobMayRetry(both, 2, t0, t0 + 30 * kSec));
}

Job SampleJob() {
  Job job;
  job.name = "projects/p/locations/l/jobs/nightly";
  job.schedule = "* * * * *";
  job.http_target.uri = "http://worker.test:8080/cron/nightly?x=1";
  job.http_target.http_method = HttpMethod::kPut;
  job.http_target.body = "payload";
  job.http_target.headers = {{"X-Custom", "v"},
                             {"User-Agent", "mine"},
                             {"X-Google-Foo", "no"},
                             {"x-appengine-bar", "no"},
                             {"X-CloudScheduler-JobName", "forged"},
                             {"Host", "elsewhere"},
                             {"Content-Length", "99"}};
  job.attempt_deadline = 20 * kSec;
  return job;
}

TEST(SchedulerRequest, HeadersAsTargetProtoSays) {
  const Job job = SampleJob();
  const Micros tick = At("2026-12-01T12:01:00Z");
  auto r = BuildJobRequest(job, tick, nullptr, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, std::string> got;
  for (const auto& f : r->request) got[std::string(f.name_string())] = std::string(f.value());
  const std::map<std::string, std::string> want = {{"Content-Length", "7"},
                                                   {"Content-Type", "application/octet-stream"},
                                                   {"Host", "worker.test:8080"},
                                                   {"User-Agent", "Google-Cloud-Scheduler"},
                                                   {"X-CloudScheduler", "true"},
                                                   {"X-CloudScheduler-JobName", "nightly"},
                                                   {"X-CloudScheduler-ScheduleTime", "2026-12-01T12:01:00Z"},
                                                   {"X-Custom", "v"}};
  for (const auto& [k, v] : want) EXPECT_EQ(got[k], v) << k;
  for (const auto& [k, v] : got) {
    if (k == "Connection") continue;
    EXPECT_TRUE(want.count(k)) << "unexpected header " << k << ": " << v;
  }
  EXPECT_EQ(r->request.method(), beast::http::verb::put);
  EXPECT_EQ(r->request.target(), "/cron/nightly?x=1");
  EXPECT_EQ(r->request.body(), "payload");
  EXPECT_EQ(r->timeout.count(), 20'000) << "attemptDeadline is the request timeout";
}

TEST(SchedulerRequest, ContentTypeOnlyForABodyAndOnlyWhenUnset) {
  Job job = SampleJob();
  job.http_target.headers = {{"content-type", "application/json"}};
  auto h = JobHeaders(job, 0);
  EXPECT_EQ(h.count("Content-Type"), 0u);
  EXPECT_EQ(h["content-type"], "application/json");
  job.http_target.headers.clear();
  job.http_target.body.clear();
  h = JobHeaders(job, 0);
  EXPECT_EQ(h.count("Content-Type"), 0u) << "no body, no default Content-Type";
}

TEST(SchedulerRequest, OauthJobsNeedAToken) {
  Job job = SampleJob();
  job.http_target.oauth_token = OAuthToken{"sa@p.iam.gserviceaccount.com", ""};
  auto refused = BuildJobRequest(job, 0, nullptr, {});
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  JobRequestOptions o;
  o.oauth_token = "tok";
  auto r = BuildJobRequest(job, 0, nullptr, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->request[beast::http::field::authorization], "Bearer tok");
}

TEST(SchedulerRequest, ABadUriOrHeaderSendsNothing) {
  Job job = SampleJob();
  job.http_target.uri = "not a url";
  EXPECT_FALSE(BuildJobRequest(job, 0, nullptr, {}).ok());
  job = SampleJob();
  job.http_target.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  EXPECT_EQ(BuildJobRequest(job, 0, nullptr, {}).status().code(), Code::kInvalidArgument);
}

TEST(SchedulerRequest, TaskForAQueueJob) {
  Job job = SampleJob();
  job.queue = "projects/p/locations/l/queues/q";
  job.http_target.oidc_token = OidcToken{"sa@p.iam.gserviceaccount.com", "aud"};
  Task t = TaskForJob(job, At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(t.http_request);
  EXPECT_EQ(t.http_request->url, job.http_target.uri);
  EXPECT_EQ(t.http_request->http_method, HttpMethod::kPut);
  EXPECT_EQ(t.http_request->body, "payload");
  EXPECT_EQ(t.http_request->headers["X-CloudScheduler-ScheduleTime"], "2026-12-01T12:01:00Z");
  EXPECT_EQ(t.http_request->headers["X-CloudScheduler-JobName"], "nightly");
  EXPECT_EQ(t.http_request->headers.count("User-Agent"), 0u);
  ASSERT_TRUE(t.http_request->oidc_token);
  EXPECT_EQ(t.http_request->oidc_token->audience, "aud");
  EXPECT_EQ(t.dispatch_deadline, 20 * kSec);
}

TEST(SchedulerRequest, StatusOfEachAnswer) {
  http::ClientResult r;
  r.status = 204;
  EXPECT_TRUE(StatusOfResult(r).ok());
  r.status = 503;
  EXPECT_EQ(StatusOfResult(r).code(), Code::kUnavailable);
  r.status = 404;
  EXPECT_EQ(StatusOfResult(r).code(), Code::kNotFound);
  r.status = 302;
  EXPECT_FALSE(StatusOfResult(r).ok()) << "only 2xx is success";
  r.failure = http::ClientResult::Failure::kTimeout;
  EXPECT_EQ(StatusOfResult(r).code(), Code::kDeadlineExceeded);
  r.failure = http::ClientResult::Failure::kConnect;
  EXPECT_EQ(StatusOfResult(r).code(), Code::kUnavailable);
}

}  // namespace
}  // namespace stratus::scheduler
