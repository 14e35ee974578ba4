#include "scheduler/codec.h"

#include "common/base64.h"

namespace stratus::scheduler {
namespace {

#define RETURN_IF_ERROR STRATUS_RETURN_IF_ERROR

const std::vector<EnumName> kStates = {
    {"STATE_UNSPECIFIED", 0}, {"ENABLED", 1}, {"PAUSED", 2}, {"DISABLED", 3}, {"UPDATE_FAILED", 4}};
const std::vector<EnumName> kMethods = {{"HTTP_METHOD_UNSPECIFIED", 0},
                                        {"POST", 1},
                                        {"GET", 2},
                                        {"HEAD", 3},
                                        {"PUT", 4},
                                        {"DELETE", 5},
                                        {"PATCH", 6},
                                        {"OPTIONS", 7}};
constexpr char kStateType[] = "type.googleapis.com/google.cloud.scheduler.v1.Job.State";
constexpr char kMethodType[] = "type.googleapis.com/google.cloud.scheduler.v1.HttpMethod";

// The JSON name of the stratus extension Job.queue.
constexpr char kQueueField[] = "stratusQueue";

Json EnumOut(const std::vector<EnumName>& names, int value, JsonStyle style) {
  if (style.enums_as_int) return value;
  for (const auto& n : names) {
    if (n.value == value) return std::string(n.name);
  }
  return value;
}

template <typename T>
void SetIf(const std::optional<T>& v, T* out) {
  if (v) *out = *v;
}

Status ReadTokenObject(const JsonObject& o, std::string_view second_field, std::string* email, std::string* second) {
  RETURN_IF_ERROR(o.CheckFields({"serviceAccountEmail", second_field}));
  std::optional<std::string> e, s;
  RETURN_IF_ERROR(o.GetString("serviceAccountEmail", &e));
  RETURN_IF_ERROR(o.GetString(second_field, &s));
  SetIf(e, email);
  SetIf(s, second);
  return Status::Ok();
}

Status ReadHttpTarget(const JsonObject& o, JobHttpTarget* t, std::set<std::string>* present) {
  RETURN_IF_ERROR(o.CheckFields({"uri", "httpMethod", "headers", "body", "oauthToken", "oidcToken"}));
  for (const char* f : {"uri", "httpMethod", "headers", "body", "oauthToken", "oidcToken"}) {
    if (o.Has(f)) present->insert(std::string("httpTarget.") + f);
  }
  std::optional<std::string> uri, body;
  std::optional<int> method;
  std::optional<std::map<std::string, std::string>> headers;
  RETURN_IF_ERROR(o.GetString("uri", &uri));
  RETURN_IF_ERROR(o.GetEnum("httpMethod", kMethods, kMethodType, &method));
  RETURN_IF_ERROR(o.GetStringMap("headers", &headers));
  RETURN_IF_ERROR(o.GetBytes("body", &body));
  SetIf(uri, &t->uri);
  t->http_method = method ? static_cast<HttpMethod>(*method) : HttpMethod::kUnspecified;
  SetIf(headers, &t->headers);
  SetIf(body, &t->body);
  STRATUS_ASSIGN_OR_RETURN(auto oauth, o.GetObject("oauthToken"));
  if (oauth) {
    OAuthToken tok;
    RETURN_IF_ERROR(ReadTokenObject(*oauth, "scope", &tok.service_account_email, &tok.scope));
    t->oauth_token = std::move(tok);
  }
  STRATUS_ASSIGN_OR_RETURN(auto oidc, o.GetObject("oidcToken"));
  if (oidc) {
    OidcToken tok;
    RETURN_IF_ERROR(ReadTokenObject(*oidc, "audience", &tok.service_account_email, &tok.audience));
    t->oidc_token = std::move(tok);
  }
  if (t->oauth_token && t->oidc_token) {
    // A oneof in the proto: Google's JSON parser refuses the second member.
    return InvalidArgument(
        "Invalid JSON payload received. oneof field 'authorization_header' is already set. Cannot "
        "set 'oidcToken'");
  }
  return Status::Ok();
}

Status ReadRetryConfig(const JsonObject& o, JobRetryConfig* c, std::set<std::string>* present) {
  RETURN_IF_ERROR(
      o.CheckFields({"retryCount", "maxRetryDuration", "minBackoffDuration", "maxBackoffDuration", "maxDoublings"}));
  for (const char* f : {"retryCount", "maxRetryDuration", "minBackoffDuration", "maxBackoffDuration", "maxDoublings"}) {
    if (o.Has(f)) present->insert(std::string("retryConfig.") + f);
  }
  std::optional<int64_t> count, doublings;
  std::optional<Micros> max_retry, min_backoff, max_backoff;
  RETURN_IF_ERROR(o.GetInt32("retryCount", &count));
  RETURN_IF_ERROR(o.GetInt32("maxDoublings", &doublings));
  RETURN_IF_ERROR(o.GetDuration("maxRetryDuration", &max_retry));
  RETURN_IF_ERROR(o.GetDuration("minBackoffDuration", &min_backoff));
  RETURN_IF_ERROR(o.GetDuration("maxBackoffDuration", &max_backoff));
  c->retry_count = static_cast<int32_t>(count.value_or(0));
  c->max_doublings = static_cast<int32_t>(doublings.value_or(0));
  c->max_retry_duration = max_retry.value_or(0);
  c->min_backoff = min_backoff.value_or(0);
  c->max_backoff = max_backoff.value_or(0);
  return Status::Ok();
}

Json HttpTargetToJson(const JobHttpTarget& t, JsonStyle style) {
  Json j = Json::object();
  if (!t.uri.empty()) j["uri"] = t.uri;
  if (t.http_method != HttpMethod::kUnspecified) {
    j["httpMethod"] = EnumOut(kMethods, static_cast<int>(t.http_method), style);
  }
  if (!t.headers.empty()) j["headers"] = t.headers;
  if (!t.body.empty()) j["body"] = Base64Encode(t.body);
  if (t.oauth_token) {
    Json o = Json::object();
    if (!t.oauth_token->service_account_email.empty()) o["serviceAccountEmail"] = t.oauth_token->service_account_email;
    if (!t.oauth_token->scope.empty()) o["scope"] = t.oauth_token->scope;
    j["oauthToken"] = o;
  }
  if (t.oidc_token) {
    Json o = Json::object();
    if (!t.oidc_token->service_account_email.empty()) o["serviceAccountEmail"] = t.oidc_token->service_account_email;
    if (!t.oidc_token->audience.empty()) o["audience"] = t.oidc_token->audience;
    j["oidcToken"] = o;
  }
  return j;
}

}  // namespace

std::string_view JobStateName(JobState s) {
  for (const auto& n : kStates) {
    if (n.value == static_cast<int>(s)) return n.name;
  }
  return "STATE_UNSPECIFIED";
}

StatusOr<JobInput> JobFromJson(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"name", "description", "pubsubTarget", "appEngineHttpTarget", "httpTarget", "schedule",
                                 "timeZone", "userUpdateTime", "state", "status", "scheduleTime", "lastAttemptTime",
                                 "retryConfig", "attemptDeadline", kQueueField}));
  for (const char* f : {"pubsubTarget", "appEngineHttpTarget"}) {
    if (o.Has(f)) {
      return Unimplemented(std::string("Job.") + f +
                           " is not supported by stratus: use httpTarget (or stratusQueue with an httpTarget).");
    }
  }
  JobInput in;
  Job& job = in.job;
  // Proto3 zeros mean "unset": ApplyJobDefaults fills them.
  job.retry_config = JobRetryConfig{0, 0, 0, 0, 0};
  job.attempt_deadline = 0;
  job.state = JobState::kUnspecified;
  job.http_target.http_method = HttpMethod::kUnspecified;
  // httpTarget and retryConfig count by their members (ReadHttpTarget, ReadRetryConfig).
  for (const char* f : {"name", "description", "schedule", "timeZone", "attemptDeadline", kQueueField}) {
    if (o.Has(f)) in.present.insert(f);
  }
  std::optional<std::string> name, description, schedule, time_zone, queue;
  RETURN_IF_ERROR(o.GetString("name", &name));
  RETURN_IF_ERROR(o.GetString("description", &description));
  RETURN_IF_ERROR(o.GetString("schedule", &schedule));
  RETURN_IF_ERROR(o.GetString("timeZone", &time_zone));
  RETURN_IF_ERROR(o.GetString(kQueueField, &queue));
  SetIf(name, &job.name);
  SetIf(description, &job.description);
  SetIf(schedule, &job.schedule);
  SetIf(time_zone, &job.time_zone);
  SetIf(queue, &job.queue);
  STRATUS_ASSIGN_OR_RETURN(auto target, o.GetObject("httpTarget"));
  if (target) RETURN_IF_ERROR(ReadHttpTarget(*target, &job.http_target, &in.present));
  STRATUS_ASSIGN_OR_RETURN(auto retry, o.GetObject("retryConfig"));
  if (retry) RETURN_IF_ERROR(ReadRetryConfig(*retry, &job.retry_config, &in.present));
  std::optional<Micros> deadline, update_time, schedule_time, last_attempt;
  RETURN_IF_ERROR(o.GetDuration("attemptDeadline", &deadline));
  RETURN_IF_ERROR(o.GetTimestamp("userUpdateTime", &update_time));
  RETURN_IF_ERROR(o.GetTimestamp("scheduleTime", &schedule_time));
  RETURN_IF_ERROR(o.GetTimestamp("lastAttemptTime", &last_attempt));
  SetIf(deadline, &job.attempt_deadline);
  SetIf(update_time, &job.user_update_time);
  SetIf(schedule_time, &job.schedule_time);
  SetIf(last_attempt, &job.last_attempt_time);
  std::optional<int> state;
  RETURN_IF_ERROR(o.GetEnum("state", kStates, kStateType, &state));
  if (state) job.state = static_cast<JobState>(*state);
  STRATUS_ASSIGN_OR_RETURN(auto status, o.GetObject("status"));
  if (status) {
    RETURN_IF_ERROR(status->CheckFields({"code", "message", "details"}));
    std::optional<int64_t> code;
    std::optional<std::string> message;
    RETURN_IF_ERROR(status->GetInt32("code", &code));
    RETURN_IF_ERROR(status->GetString("message", &message));
    int64_t c = code.value_or(0);
    job.status = Status(static_cast<Code>(c >= 0 && c <= 16 ? c : 2), message.value_or(""));
  }
  return in;
}

Json JobToJson(const Job& job, JsonStyle style) {
  Json j = Json::object();
  j["name"] = job.name;
  if (!job.description.empty()) j["description"] = job.description;
  j["httpTarget"] = HttpTargetToJson(job.http_target, style);
  if (!job.queue.empty()) j[kQueueField] = job.queue;
  if (job.user_update_time) j["userUpdateTime"] = FormatTimestamp(job.user_update_time);
  if (job.state != JobState::kUnspecified) j["state"] = EnumOut(kStates, static_cast<int>(job.state), style);
  if (job.status) j["status"] = RpcStatusToJson(*job.status);
  if (job.schedule_time) j["scheduleTime"] = FormatTimestamp(job.schedule_time);
  if (job.last_attempt_time) j["lastAttemptTime"] = FormatTimestamp(job.last_attempt_time);
  if (!job.schedule.empty()) j["schedule"] = job.schedule;
  if (!job.time_zone.empty()) j["timeZone"] = job.time_zone;
  Json retry = Json::object();
  const JobRetryConfig& r = job.retry_config;
  if (r.retry_count) retry["retryCount"] = r.retry_count;
  retry["maxRetryDuration"] = FormatDuration(r.max_retry_duration);
  retry["minBackoffDuration"] = FormatDuration(r.min_backoff);
  retry["maxBackoffDuration"] = FormatDuration(r.max_backoff);
  if (r.max_doublings) retry["maxDoublings"] = r.max_doublings;
  j["retryConfig"] = retry;
  if (job.attempt_deadline) j["attemptDeadline"] = FormatDuration(job.attempt_deadline);
  return j;
}

}  // namespace stratus::scheduler
