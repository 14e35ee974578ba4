#include "tasks/validation.h"

#include <algorithm>
#include <cctype>

#include "common/time.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kDefaultHttpDeadline = 600 * kSecond;
constexpr size_t kMaxUrlLength = 2083;
constexpr size_t kMaxHeaderBytes = 80 * 1024;

std::string FormatNumber(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && StartsWithNoCase(a, b);
}

// Host and Content-Length are computed at dispatch; X-Google-* and X-AppEngine-* are reserved.
void DropReservedHeaders(std::map<std::string, std::string>* headers) {
  for (auto it = headers->begin(); it != headers->end();) {
    const std::string& k = it->first;
    if (EqualsNoCase(k, "host") || EqualsNoCase(k, "content-length") || EqualsNoCase(k, "user-agent") ||
        StartsWithNoCase(k, "x-google-") || StartsWithNoCase(k, "x-appengine-")) {
      it = headers->erase(it);
    } else {
      ++it;
    }
  }
}

size_t HeaderBytes(const std::map<std::string, std::string>& headers) {
  size_t n = 0;
  for (const auto& [k, v] : headers) n += k.size() + v.size() + 4;
  return n;
}

bool BodyAllowed(HttpMethod m, bool app_engine) {
  return m == HttpMethod::kPost || m == HttpMethod::kPut || (!app_engine && m == HttpMethod::kPatch);
}

Status CheckDeadline(Micros deadline, Micros max, const char* message) {
  if (deadline < 15 * kSecond || deadline > max) return InvalidArgument(message);
  return Status::Ok();
}

Status PrepareHttp(Task* task, const Limits& limits) {
  HttpRequest& r = *task->http_request;
  if (r.url.empty()) return InvalidArgument(msg::kUrlRequired);
  if (!StartsWithNoCase(r.url, "http://") && !StartsWithNoCase(r.url, "https://")) {
    return InvalidArgument(msg::kUrlScheme);
  }
  if (r.url.size() > kMaxUrlLength) {
    return InvalidArgument("HttpRequest.url must be at most " + std::to_string(kMaxUrlLength) + " characters.");
  }
  if (!r.body.empty() && !BodyAllowed(r.http_method, false)) {
    return InvalidArgument("HttpRequest.body can be set only when HttpRequest.httpMethod is POST, PUT or PATCH.");
  }
  DropReservedHeaders(&r.headers);
  if (HeaderBytes(r.headers) >= kMaxHeaderBytes) return InvalidArgument("HttpRequest.headers must be less than 80KB.");
  r.headers["User-Agent"] = "Google-Cloud-Tasks";
  if (r.oidc_token && r.oauth_token) {
    return InvalidArgument("HttpRequest can set only one of oauthToken and oidcToken.");
  }
  if (task->dispatch_deadline == 0) task->dispatch_deadline = kDefaultHttpDeadline;
  return CheckDeadline(task->dispatch_deadline, 30 * 60 * kSecond, msg::kDispatchDeadlineHttp);
}

Status PrepareAppEngine(Task* task) {
  AppEngineHttpRequest& r = *task->app_engine_http_request;
  if (r.relative_uri.empty() || r.relative_uri.front() != '/') {
    return InvalidArgument("AppEngineHttpRequest.relativeUri must begin with \"/\".");
  }
  if (!r.body.empty() && !BodyAllowed(r.http_method, true)) {
    return InvalidArgument("AppEngineHttpRequest.body can be set only when the HTTP method is POST or PUT.");
  }
  DropReservedHeaders(&r.headers);
  if (HeaderBytes(r.headers) >= kMaxHeaderBytes) {
    return InvalidArgument("AppEngineHttpRequest.headers must be less than 80KB.");
  }
  r.headers["User-Agent"] = "AppEngine-Google; (+http://code.google.com/appengine)";
  if (!r.body.empty()) {
    r.headers["Content-Length"] = std::to_string(r.body.size());
    bool has_type = std::any_of(r.headers.begin(), r.headers.end(),
                                [](const auto& h) { return EqualsNoCase(h.first, "content-type"); });
    if (!has_type) r.headers["Content-Type"] = "application/octet-stream";
  }
  if (task->dispatch_deadline == 0) return Status::Ok();
  return CheckDeadline(task->dispatch_deadline, 24 * 3600 * kSecond + 15 * kSecond, msg::kDispatchDeadlineAppEngine);
}

size_t ApproximateSize(const Task& t) {
  size_t n = t.name.size() + 64;
  if (t.http_request) {
    n += t.http_request->url.size() + t.http_request->body.size() + HeaderBytes(t.http_request->headers);
  }
  if (t.app_engine_http_request) {
    const auto& r = *t.app_engine_http_request;
    n += r.relative_uri.size() + r.body.size() + HeaderBytes(r.headers) + r.app_engine_routing.dump().size();
  }
  return n;
}

}  // namespace

void ApplyQueueDefaults(Queue* q) {
  const RateLimits rd;
  const RetryConfig cd;
  if (q->rate_limits.max_dispatches_per_second == 0)
    q->rate_limits.max_dispatches_per_second = rd.max_dispatches_per_second;
  if (q->rate_limits.max_concurrent_dispatches == 0)
    q->rate_limits.max_concurrent_dispatches = rd.max_concurrent_dispatches;
  q->rate_limits.max_burst_size = MaxBurstSizeFor(q->rate_limits.max_dispatches_per_second);
  if (q->retry_config.max_attempts == 0) q->retry_config.max_attempts = cd.max_attempts;
  if (q->retry_config.min_backoff == 0) q->retry_config.min_backoff = cd.min_backoff;
  if (q->retry_config.max_backoff == 0) q->retry_config.max_backoff = cd.max_backoff;
  if (q->retry_config.max_doublings == 0) q->retry_config.max_doublings = cd.max_doublings;
  if (q->state == QueueState::kUnspecified) q->state = QueueState::kRunning;
}

Status ValidateQueueConfig(const Queue& q, const Limits& limits) {
  const RateLimits& r = q.rate_limits;
  const RetryConfig& c = q.retry_config;
  if (r.max_dispatches_per_second < 0) return InvalidArgument("RateLimits.maxDispatchesPerSecond cannot be negative.");
  if (r.max_dispatches_per_second > limits.max_dispatches_per_second) {
    return InvalidArgument("RateLimits.maxDispatchesPerSecond must be less than or equal to " +
                           FormatNumber(limits.max_dispatches_per_second) + ".");
  }
  if (r.max_concurrent_dispatches < 0) return InvalidArgument("RateLimits.maxConcurrentDispatches cannot be negative.");
  if (r.max_concurrent_dispatches > limits.max_concurrent_dispatches) {
    return InvalidArgument("RateLimits.maxConcurrentDispatches must be less than or equal to " +
                           std::to_string(limits.max_concurrent_dispatches) + ".");
  }
  if (c.max_attempts < -1) return InvalidArgument("RetryConfig.maxAttempts must be greater or equal to -1.");
  if (c.max_doublings < 0) return InvalidArgument("RetryConfig.maxDoublings cannot be negative.");
  if (c.min_backoff < 0) return InvalidArgument("RetryConfig.minBackoff cannot be negative.");
  if (c.max_backoff < 0) return InvalidArgument("RetryConfig.maxBackoff cannot be negative.");
  if (c.max_retry_duration < 0) return InvalidArgument("RetryConfig.maxRetryDuration cannot be negative.");
  if (c.min_backoff > c.max_backoff) {
    return InvalidArgument("RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.");
  }
  if (q.logging_sampling_ratio && (*q.logging_sampling_ratio < 0 || *q.logging_sampling_ratio > 1)) {
    return InvalidArgument("StackdriverLoggingConfig.samplingRatio must be between 0.0 and 1.0.");
  }
  return Status::Ok();
}

Status PrepareNewTask(Task* task, Micros now, const Limits& limits) {
  if (!task->http_request && !task->app_engine_http_request) return InvalidArgument("Task.payload_type is not set.");
  if (task->http_request && task->app_engine_http_request) {
    return InvalidArgument("Task can set only one of httpRequest and appEngineHttpRequest.");
  }
  STRATUS_RETURN_IF_ERROR(task->http_request ? PrepareHttp(task, limits) : PrepareAppEngine(task));
  if (task->schedule_time > now + limits.max_schedule_ahead) {
    return InvalidArgument("The Task.scheduleTime, " + FormatTimestamp(task->schedule_time) +
                           ", is too far in the future. Schedule time must be no more than 720h in the future.");
  }
  if (task->schedule_time < now) task->schedule_time = now;
  // createTime has whole-second precision in Cloud Tasks.
  task->create_time = now / kSecond * kSecond;
  task->dispatch_count = 0;
  task->response_count = 0;
  task->first_attempt.reset();
  task->last_attempt.reset();
  if (ApproximateSize(*task) > limits.max_task_bytes) return InvalidArgument(msg::kTaskTooLarge);
  return Status::Ok();
}

}  // namespace stratus
