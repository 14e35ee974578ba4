#include "scheduler/validation.h"

#include <algorithm>
#include <cctype>

#include "common/time.h"
#include "model/names.h"
#include "scheduler/messages.h"

namespace stratus::scheduler {
namespace {

constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kDefaultDeadline = 180 * kSecond;
constexpr Micros kMinDeadline = 15 * kSecond;
constexpr Micros kMaxDeadline = 1800 * kSecond;
constexpr size_t kMaxUriLength = 2083;
constexpr size_t kMaxHeaderBytes = 80 * 1024;
constexpr size_t kMaxJobBytes = 1024 * 1024;
constexpr size_t kMaxDescription = 500;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Computed at delivery (Host, Content-Length), reserved by Google (X-Google-*,
// X-AppEngine-*) or set by the scheduler on every request (X-CloudScheduler*).
bool Reserved(std::string_view name) {
  std::string k = Lower(name);
  return k == "host" || k == "content-length" || k == "user-agent" || StartsWith(k, "x-google-") ||
         StartsWith(k, "x-appengine-") || StartsWith(k, "x-cloudscheduler");
}

// RFC 9110 tchar.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
  });
}

bool HasControl(std::string_view s, bool space_too) {
  return std::any_of(s.begin(), s.end(), [space_too](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f || (space_too && c == ' ');
  });
}

Status CheckUri(const std::string& uri) {
  if (uri.empty()) return InvalidArgument(msg::kUriRequired);
  std::string lower = Lower(uri.substr(0, 8));
  if (!StartsWith(lower, "http://") && !StartsWith(lower, "https://")) return InvalidArgument(msg::kUriScheme);
  if (uri.size() > kMaxUriLength) return InvalidArgument(msg::kUriTooLong);
  if (HasControl(uri, true)) return InvalidArgument("HttpTarget.uri must not contain spaces or control characters.");
  std::string_view rest = std::string_view(uri).substr(uri.find("://") + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.empty() || authority.front() == ':') return InvalidArgument("HttpTarget.uri must name a host.");
  return Status::Ok();
}

Status CheckHttpTarget(JobHttpTarget* t) {
  STRATUS_RETURN_IF_ERROR(CheckUri(t->uri));
  const HttpMethod m = t->http_method;
  if (static_cast<int>(m) < 1 || static_cast<int>(m) > 7) {
    return InvalidArgument("HttpTarget.httpMethod must be one of POST, GET, HEAD, PUT, DELETE, PATCH, OPTIONS.");
  }
  if (!t->body.empty() && m != HttpMethod::kPost && m != HttpMethod::kPut && m != HttpMethod::kPatch) {
    return InvalidArgument(msg::kBodyMethod);
  }
  size_t header_bytes = 0;
  for (auto it = t->headers.begin(); it != t->headers.end();) {
    if (!IsToken(it->first)) {
      return InvalidArgument(
          "HttpTarget.headers has an invalid header name; a header name must be a non-empty RFC "
          "9110 token (letters, digits and !#$%&'*+-.^_`|~).");
    }
    if (HasControl(it->second, false)) {
      return InvalidArgument("HttpTarget.headers[\"" + it->first +
                             "\"] has an invalid value; a header value must not contain control characters such as "
                             "CR or LF.");
    }
    if (Reserved(it->first)) {
      it = t->headers.erase(it);
      continue;
    }
    header_bytes += it->first.size() + it->second.size() + 4;
    ++it;
  }
  if (header_bytes >= kMaxHeaderBytes) return InvalidArgument(msg::kHeadersTooLarge);
  t->headers["User-Agent"] = "Google-Cloud-Scheduler";
  auto check_email = [](const char* field, const std::string& email) -> Status {
    if (email.empty()) return InvalidArgument(std::string(field) + ".serviceAccountEmail is required.");
    size_t at = email.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == email.size() || HasControl(email, true)) {
      return InvalidArgument(std::string(field) +
                             ".serviceAccountEmail must be an email address, such as "
                             "name@project.iam.gserviceaccount.com.");
    }
    return Status::Ok();
  };
  if (t->oidc_token) STRATUS_RETURN_IF_ERROR(check_email("HttpTarget.oidcToken", t->oidc_token->service_account_email));
  if (t->oauth_token) {
    STRATUS_RETURN_IF_ERROR(check_email("HttpTarget.oauthToken", t->oauth_token->service_account_email));
  }
  return Status::Ok();
}

Status CheckRetryConfig(const JobRetryConfig& r) {
  if (r.retry_count < 0 || r.retry_count > 5) return InvalidArgument(msg::kRetryCount);
  if (r.max_retry_duration < 0) return InvalidArgument(msg::kMaxRetryDuration);
  if (r.min_backoff < 0) return InvalidArgument(msg::kMinBackoff);
  if (r.max_backoff < 0) return InvalidArgument(msg::kMaxBackoff);
  if (r.min_backoff > r.max_backoff) return InvalidArgument(msg::kBackoffOrder);
  if (r.max_doublings < 0) return InvalidArgument(msg::kMaxDoublings);
  return Status::Ok();
}

// A bare queue ID names a queue in the job's location.
Status CheckQueue(Job* job, const JobName& name) {
  if (job->queue.empty()) return Status::Ok();
  if (job->queue.find('/') == std::string::npos) {
    if (!ValidQueueId(job->queue)) return InvalidArgument(msg::kQueueName);
    job->queue = name.Parent() + "/queues/" + job->queue;
    return Status::Ok();
  }
  if (!ParseQueueName(job->queue).ok()) return InvalidArgument(msg::kQueueName);
  return Status::Ok();
}

size_t JobBytes(const Job& j) {
  size_t n = j.name.size() + j.description.size() + j.schedule.size() + j.time_zone.size() + j.queue.size() +
             j.http_target.uri.size() + j.http_target.body.size();
  for (const auto& [k, v] : j.http_target.headers) n += k.size() + v.size();
  return n;
}

}  // namespace

bool ValidJobId(std::string_view id) {
  return ValidTaskId(id);  // the same alphabet and length: [A-Za-z0-9_-]{1,500}
}

StatusOr<JobName> ParseJobName(std::string_view name) {
  // projects/{p}/locations/{l}/jobs/{j}
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    parts.push_back(name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "jobs" ||
      !ValidProjectId(parts[1]) || !ValidLocationId(parts[3]) || !ValidJobId(parts[5])) {
    return InvalidArgument(msg::kJobNameFormat);
  }
  return JobName{std::string(parts[1]), std::string(parts[3]), std::string(parts[5])};
}

void ApplyJobDefaults(Job* job) {
  if (job->http_target.http_method == HttpMethod::kUnspecified) job->http_target.http_method = HttpMethod::kPost;
  if (job->attempt_deadline == 0) job->attempt_deadline = kDefaultDeadline;
  JobRetryConfig& r = job->retry_config;
  const JobRetryConfig defaults;
  if (r.min_backoff == 0) r.min_backoff = defaults.min_backoff;
  if (r.max_backoff == 0) r.max_backoff = defaults.max_backoff;
  if (r.max_doublings == 0) r.max_doublings = defaults.max_doublings;
}

StatusOr<const date::time_zone*> JobZone(const Job& job) {
  if (job.time_zone.empty() || Lower(job.time_zone) == "utc") return cron::FindZone("UTC");
  return cron::FindZone(job.time_zone);
}

StatusOr<Micros> NextTick(const Job& job, Micros after) {
  STRATUS_ASSIGN_OR_RETURN(auto schedule, cron::Schedule::Parse(job.schedule));
  STRATUS_ASSIGN_OR_RETURN(auto zone, JobZone(job));
  auto from = std::chrono::floor<std::chrono::seconds>(
      std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(after)));
  auto next = schedule.NextAfter(from, *zone);
  if (!next) return Micros{0};
  return static_cast<Micros>(std::chrono::duration_cast<std::chrono::microseconds>(next->time_since_epoch()).count());
}

Status ValidateJob(Job* job, const JobChecks& checks) {
  STRATUS_ASSIGN_OR_RETURN(JobName name, ParseJobName(job->name));
  if (job->description.size() > kMaxDescription) return InvalidArgument(msg::kDescriptionTooLong);
  if (job->schedule.empty()) return InvalidArgument(msg::kScheduleRequired);
  STRATUS_RETURN_IF_ERROR(cron::Schedule::Parse(job->schedule).status());
  STRATUS_RETURN_IF_ERROR(JobZone(*job).status());
  if (job->http_target.uri.empty() && job->http_target.headers.empty() && job->http_target.body.empty() &&
      !job->http_target.oidc_token && !job->http_target.oauth_token) {
    return InvalidArgument(msg::kTargetRequired);
  }
  STRATUS_RETURN_IF_ERROR(CheckHttpTarget(&job->http_target));
  if (checks.check_target_url) STRATUS_RETURN_IF_ERROR(checks.check_target_url(job->http_target.uri));
  if (job->attempt_deadline < kMinDeadline || job->attempt_deadline > kMaxDeadline) {
    return InvalidArgument(msg::kAttemptDeadline);
  }
  STRATUS_RETURN_IF_ERROR(CheckRetryConfig(job->retry_config));
  STRATUS_RETURN_IF_ERROR(CheckQueue(job, name));
  if (JobBytes(*job) > kMaxJobBytes) return InvalidArgument(msg::kJobTooLarge);
  return Status::Ok();
}

}  // namespace stratus::scheduler
