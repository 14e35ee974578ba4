// What one attempt of a job execution sends, and what its answer means, as functions of plain
// values: the HTTP request of a job's httpTarget (target.proto's header rules, the
// X-CloudScheduler-* headers, an OIDC or OAuth bearer token), the Cloud Tasks task a job with a
// stratus `queue` creates instead, and the google.rpc status an attempt is recorded with.
#pragma once

#include <memory>
#include <string>

#include "auth/oidc.h"
#include "http/client.h"
#include "http/target_policy.h"
#include "scheduler/job.h"

namespace stratus::scheduler {

struct JobRequest {
  http::Url url;
  http::Request request;
  std::chrono::milliseconds timeout{0};  // the job's attemptDeadline
  http::SendOptions send;                // keeps the first KB of the response; the target policy
};

struct JobRequestOptions {
  std::string oauth_token;                                  // bearer token for oauthToken jobs ("" refuses them)
  std::shared_ptr<const http::TargetPolicy> target_policy;  // nullptr: any address
};

// The headers a job's target receives besides its own: the job's headers with the ones
// target.proto says are replaced or ignored dropped (Host, Content-Length, User-Agent,
// X-Google-*, X-AppEngine-*, X-CloudScheduler*), then X-CloudScheduler: true,
// X-CloudScheduler-JobName (the job id), X-CloudScheduler-ScheduleTime (RFC 3339, UTC) and,
// for a job with a body and no Content-Type, Content-Type: application/octet-stream.
// User-Agent is the sender's: BuildJobRequest adds Google-Cloud-Scheduler.
std::map<std::string, std::string> JobHeaders(const Job& job, Micros schedule_time);

// The request of one attempt at the tick `schedule_time`. INVALID_ARGUMENT when the job would
// not make exactly one well-formed request; FAILED_PRECONDITION for an oauthToken job with no
// --oauth-token-file; nothing is sent then.
StatusOr<JobRequest> BuildJobRequest(const Job& job, Micros schedule_time, auth::OidcSigner* signer,
                                     const JobRequestOptions& options);

// The task a job with a `queue` creates on it at the tick `schedule_time`: its httpTarget as
// the task's httpRequest (JobHeaders included, the token left to the queue's delivery) and
// attemptDeadline as the dispatch deadline.
Task TaskForJob(const Job& job, Micros schedule_time);

// The job id: the last segment of projects/P/locations/L/jobs/ID.
std::string JobId(const std::string& job_name);

// What an attempt's answer is recorded as (Job.status): OK for a 2xx; the google.rpc code of
// the HTTP status otherwise (tasks/engine/retry.h), DEADLINE_EXCEEDED past attemptDeadline,
// UNAVAILABLE without an answer, PERMISSION_DENIED when nothing was sent.
Status StatusOfResult(const http::ClientResult& result);

}  // namespace stratus::scheduler
