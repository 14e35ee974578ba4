#include "tasks/validation.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "common/json.h"
#include "common/time.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kDefaultHttpDeadline = 600 * kSecond;
constexpr size_t kMaxUrlLength = 2083;
constexpr size_t kMaxHeaderBytes = 80 * 1024;
// Below this a queue would dispatch once in about 32 years: a typo, and 1/rate overflows.
constexpr double kMinDispatchesPerSecond = 1e-9;
// Backoffs and the retry duration stay far inside the Timestamp range (year 9999) when
// added to now: 100 years of 365 days.
constexpr Micros kMaxRetryDuration = 3'153'600'000LL * kSecond;

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

// RFC 9110 tchar: what a header name (a token) is made of.
bool IsTokenChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  for (char t : std::string_view("!#$%&'*+-.^_`|~")) {
    if (c == static_cast<unsigned char>(t)) return true;
  }
  return false;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return IsTokenChar(c); });
}

// RFC 9110 field-value: visible characters, obs-text, spaces and tabs; never CR, LF or NUL.
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7f;
  });
}

// A DNS name or an IPv4 address: RFC 3986 reg-name without its sub-delims.
bool IsHostName(std::string_view h) {
  return !h.empty() && std::all_of(h.begin(), h.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
  });
}

// The inside of an IPv6 literal (no zone id).
bool IsIpv6Literal(std::string_view h) {
  return h.find(':') != std::string_view::npos && std::all_of(h.begin(), h.end(), [](char ch) {
           auto c = static_cast<unsigned char>(ch);
           return std::isxdigit(c) || c == ':' || c == '.';
         });
}

bool IsPort(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  if (!std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  int v = std::stoi(std::string(p));
  return v >= 1 && v <= 65535;
}

constexpr char kBadPort[] = " has an invalid port; a port must be between 1 and 65535.";

// The authority of an absolute http(s) URL: a host (a name, an IPv4 address or a bracketed
// IPv6 literal) and an optional port. The scheme has been checked already.
Status CheckUrl(std::string_view url, const std::string& field) {
  if (HasSpaceOrControl(url)) return InvalidArgument(field + " must not contain spaces or control characters.");
  std::string_view rest = url.substr(url.find("://") + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || !IsIpv6Literal(authority.substr(1, close - 1))) {
      return InvalidArgument(field + " has an invalid host.");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return InvalidArgument(field + " has an invalid host.");
    if (!after.empty()) port = after.substr(1);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument(field + " must name a host.");
  if (authority.front() != '[' && !IsHostName(host)) return InvalidArgument(field + " has an invalid host.");
  // "host:" with an empty port means the scheme's default port (RFC 3986 section 3.2.3).
  if (port && !port->empty() && !IsPort(*port)) return InvalidArgument(field + kBadPort);
  return Status::Ok();
}

Status CheckHeaders(const std::map<std::string, std::string>& headers, const std::string& field) {
  for (const auto& [name, value] : headers) {
    if (!IsToken(name)) {
      return InvalidArgument(field +
                             " has an invalid header name; a header name must be a non-empty RFC 9110 token "
                             "(letters, digits and !#$%&'*+-.^_`|~).");
    }
    if (!IsFieldValue(value)) {
      return InvalidArgument(field + "[\"" + name +
                             "\"] has an invalid value; a header value must not contain control characters such "
                             "as CR or LF.");
    }
  }
  return Status::Ok();
}

// A service account is named by its email: local part, '@', domain, visible ASCII only.
Status CheckServiceAccount(const std::string& email, const std::string& field) {
  if (email.empty()) return InvalidArgument(field + ".serviceAccountEmail is required.");
  size_t at = email.find('@');
  bool visible = std::all_of(email.begin(), email.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!visible || at == 0 || at == std::string::npos || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string::npos) {
    return InvalidArgument(field + ".serviceAccountEmail must be an email address, such as " +
                           "name@project.iam.gserviceaccount.com.");
  }
  return Status::Ok();
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
  STRATUS_RETURN_IF_ERROR(CheckUrl(r.url, "HttpRequest.url"));
  STRATUS_RETURN_IF_ERROR(CheckHeaders(r.headers, "HttpRequest.headers"));
  if (!r.body.empty() && !BodyAllowed(r.http_method, false)) {
    return InvalidArgument("HttpRequest.body can be set only when HttpRequest.httpMethod is POST, PUT or PATCH.");
  }
  DropReservedHeaders(&r.headers);
  if (HeaderBytes(r.headers) >= kMaxHeaderBytes) return InvalidArgument("HttpRequest.headers must be less than 80KB.");
  r.headers["User-Agent"] = "Google-Cloud-Tasks";
  if (r.oidc_token && r.oauth_token) {
    return InvalidArgument("HttpRequest can set only one of oauthToken and oidcToken.");
  }
  if (r.oidc_token) {
    STRATUS_RETURN_IF_ERROR(CheckServiceAccount(r.oidc_token->service_account_email, "HttpRequest.oidcToken"));
  }
  if (r.oauth_token) {
    STRATUS_RETURN_IF_ERROR(CheckServiceAccount(r.oauth_token->service_account_email, "HttpRequest.oauthToken"));
  }
  if (task->dispatch_deadline == 0) task->dispatch_deadline = kDefaultHttpDeadline;
  return CheckDeadline(task->dispatch_deadline, 30 * 60 * kSecond, msg::kDispatchDeadlineHttp);
}

Status PrepareAppEngine(Task* task) {
  AppEngineHttpRequest& r = *task->app_engine_http_request;
  if (r.relative_uri.empty() || r.relative_uri.front() != '/') {
    return InvalidArgument("AppEngineHttpRequest.relativeUri must begin with \"/\".");
  }
  if (HasSpaceOrControl(r.relative_uri)) {
    return InvalidArgument("AppEngineHttpRequest.relativeUri must not contain spaces or control characters.");
  }
  STRATUS_RETURN_IF_ERROR(CheckHeaders(r.headers, "AppEngineHttpRequest.headers"));
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

// Queue-level overrides: they are merged into every HTTP task's request, so they obey the
// same rules.
Status CheckHttpTarget(const std::optional<HttpTarget>& target) {
  if (!target) return Status::Ok();
  if (const auto& u = target->uri_override) {
    if (!u->host.empty() && !IsHostName(u->host) && !IsIpv6Literal(u->host)) {
      return InvalidArgument("HttpTarget.uriOverride.host must be a host name or an IP address.");
    }
    if (u->port != 0 && (u->port < 1 || u->port > 65535)) {
      return InvalidArgument("HttpTarget.uriOverride.port must be between 1 and 65535.");
    }
    if (u->path_override && u->path_override->path && HasSpaceOrControl(*u->path_override->path)) {
      return InvalidArgument("HttpTarget.uriOverride.pathOverride.path must not contain spaces or control characters.");
    }
    if (u->query_override && u->query_override->query_params && HasSpaceOrControl(*u->query_override->query_params)) {
      return InvalidArgument(
          "HttpTarget.uriOverride.queryOverride.queryParams must not contain spaces or control characters.");
    }
  }
  for (size_t i = 0; i < target->header_overrides.size(); ++i) {
    const HttpTarget::Header& h = target->header_overrides[i];
    const std::string field = "HttpTarget.headerOverrides[" + std::to_string(i) + "].header";
    if (!IsToken(h.key)) {
      return InvalidArgument(field + ".key must be a non-empty RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~).");
    }
    if (!IsFieldValue(h.value)) {
      return InvalidArgument(field + ".value must not contain control characters such as CR or LF.");
    }
  }
  if (target->oidc_token) {
    STRATUS_RETURN_IF_ERROR(CheckServiceAccount(target->oidc_token->service_account_email, "HttpTarget.oidcToken"));
  }
  if (target->oauth_token) {
    STRATUS_RETURN_IF_ERROR(CheckServiceAccount(target->oauth_token->service_account_email, "HttpTarget.oauthToken"));
  }
  return Status::Ok();
}

// What the routing adds to a task's size: the length of its JSON document ("null" unset).
size_t RoutingBytes(const std::optional<AppEngineRouting>& r) {
  if (!r) return 4;
  Json j = Json::object();
  for (auto [f, v] : {std::pair{"service", &r->service}, std::pair{"version", &r->version},
                      std::pair{"instance", &r->instance}, std::pair{"host", &r->host}}) {
    if (!v->empty()) j[f] = *v;
  }
  return j.dump().size();
}

size_t ApproximateSize(const Task& t) {
  size_t n = t.name.size() + 64;
  if (t.http_request) {
    n += t.http_request->url.size() + t.http_request->body.size() + HeaderBytes(t.http_request->headers);
  }
  if (t.app_engine_http_request) {
    const auto& r = *t.app_engine_http_request;
    n += r.relative_uri.size() + r.body.size() + HeaderBytes(r.headers) + RoutingBytes(r.app_engine_routing);
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
  // !(x >= min) also refuses NaN.
  if (!(r.max_dispatches_per_second >= kMinDispatchesPerSecond)) {
    return InvalidArgument(
        "RateLimits.maxDispatchesPerSecond must be at least 0.000000001 (one dispatch in about 32 years).");
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
  // minBackoff <= maxBackoff, so this bounds both.
  if (c.max_backoff > kMaxRetryDuration) {
    return InvalidArgument("RetryConfig.maxBackoff must be at most 3153600000s (100 years).");
  }
  if (c.max_retry_duration > kMaxRetryDuration) {
    return InvalidArgument("RetryConfig.maxRetryDuration must be at most 3153600000s (100 years).");
  }
  if (q.logging_sampling_ratio && !(*q.logging_sampling_ratio >= 0 && *q.logging_sampling_ratio <= 1)) {
    return InvalidArgument("StackdriverLoggingConfig.samplingRatio must be between 0.0 and 1.0.");
  }
  return CheckHttpTarget(q.http_target);
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
