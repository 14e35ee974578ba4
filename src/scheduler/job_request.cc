#include "scheduler/job_request.h"

#include "common/time.h"
#include "tasks/engine/delivery.h"
#include "tasks/engine/retry.h"

namespace stratus::scheduler {
namespace {

namespace bh = beast::http;
constexpr size_t kKeptResponseBody = 1024;

bool IEquals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()), beast::string_view(b.data(), b.size()));
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

// target.proto: computed by Cloud Scheduler, set by it, or for Google's internal use.
bool Replaced(std::string_view name) {
  return IEquals(name, "host") || IEquals(name, "content-length") || IEquals(name, "user-agent") ||
         IStartsWith(name, "x-google-") || IStartsWith(name, "x-appengine-") || IStartsWith(name, "x-cloudscheduler");
}

}  // namespace

std::string JobId(const std::string& job_name) {
  return job_name.substr(job_name.rfind('/') + 1);
}

std::map<std::string, std::string> JobHeaders(const Job& job, Micros schedule_time) {
  std::map<std::string, std::string> out;
  bool has_content_type = false;
  for (const auto& [k, v] : job.http_target.headers) {
    if (Replaced(k)) continue;
    if (IEquals(k, "content-type")) has_content_type = true;
    out[k] = v;
  }
  out["X-CloudScheduler"] = "true";
  out["X-CloudScheduler-JobName"] = JobId(job.name);
  out["X-CloudScheduler-ScheduleTime"] = FormatTimestamp(schedule_time);
  if (!job.http_target.body.empty() && !has_content_type) out["Content-Type"] = "application/octet-stream";
  return out;
}

StatusOr<JobRequest> BuildJobRequest(const Job& job, Micros schedule_time, auth::OidcSigner* signer,
                                     const JobRequestOptions& options) {
  try {
    JobRequest r;
    const JobHttpTarget& t = job.http_target;
    STRATUS_ASSIGN_OR_RETURN(r.url, http::Url::Parse(t.uri));
    r.timeout = std::chrono::milliseconds(std::max<Micros>(1, job.attempt_deadline / 1000));
    r.send.max_body = kKeptResponseBody;
    r.send.discard_excess_body = true;
    r.send.policy = options.target_policy.get();
    http::Request& req = r.request;
    req.method(VerbOf(t.http_method));
    req.version(11);
    req.target(r.url.target);
    for (const auto& [k, v] : JobHeaders(job, schedule_time)) {
      // Checked before Beast sees them: an empty name or an oversized value makes it throw.
      if (k.empty() || k.size() > kMaxHeaderName || v.size() > kMaxHeaderValue) {
        return InvalidArgument("header '" + k.substr(0, 64) + "' has an empty or oversized name or value");
      }
      req.set(k, v);
    }
    req.set(bh::field::user_agent, "Google-Cloud-Scheduler");
    if (t.oidc_token && signer) {
      const std::string audience = t.oidc_token->audience.empty() ? t.uri : t.oidc_token->audience;
      STRATUS_ASSIGN_OR_RETURN(std::string token, signer->Token(t.oidc_token->service_account_email, audience));
      req.set(bh::field::authorization, "Bearer " + token);
    } else if (t.oauth_token) {
      if (options.oauth_token.empty()) {
        return FailedPrecondition("oauthToken jobs need --oauth-token-file to supply a bearer token");
      }
      req.set(bh::field::authorization, "Bearer " + options.oauth_token);
    }
    req.body() = t.body;
    if (Status st = http::PrepareRequest(r.url, &req); !st.ok()) {
      return InvalidArgument("request not sent: " + st.message());
    }
    return r;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("cannot build the request: ") + e.what());
  }
}

Task TaskForJob(const Job& job, Micros schedule_time) {
  Task task;
  HttpRequest r;
  r.url = job.http_target.uri;
  r.http_method =
      job.http_target.http_method == HttpMethod::kUnspecified ? HttpMethod::kPost : job.http_target.http_method;
  r.headers = JobHeaders(job, schedule_time);
  r.body = job.http_target.body;
  r.oidc_token = job.http_target.oidc_token;
  r.oauth_token = job.http_target.oauth_token;
  task.http_request = std::move(r);
  task.dispatch_deadline = job.attempt_deadline;
  return task;
}

Status StatusOfResult(const http::ClientResult& result) {
  using Failure = http::ClientResult::Failure;
  switch (result.failure) {
    case Failure::kNone:
      if (result.status >= 200 && result.status < 300) return Status::Ok();
      return Status(RpcCodeForHttpStatus(result.status), "HTTP status code " + std::to_string(result.status));
    case Failure::kTimeout:
      return Status(Code::kDeadlineExceeded, result.error.empty() ? "attemptDeadline passed" : result.error);
    case Failure::kRefused:
      return Status(Code::kPermissionDenied, result.error.empty() ? "request not sent" : result.error);
    default:
      return Status(Code::kUnavailable, result.error.empty() ? "no response" : result.error);
  }
}

}  // namespace stratus::scheduler
