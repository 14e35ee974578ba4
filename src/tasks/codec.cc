#include "tasks/codec.h"

#include <utility>

#include "common/base64.h"

namespace stratus {
namespace {

const std::vector<EnumName> kStates = {{"STATE_UNSPECIFIED", 0}, {"RUNNING", 1}, {"PAUSED", 2}, {"DISABLED", 3}};
const std::vector<EnumName> kMethods = {{"HTTP_METHOD_UNSPECIFIED", 0},
                                        {"POST", 1},
                                        {"GET", 2},
                                        {"HEAD", 3},
                                        {"PUT", 4},
                                        {"DELETE", 5},
                                        {"PATCH", 6},
                                        {"OPTIONS", 7}};
const std::vector<EnumName> kViews = {{"VIEW_UNSPECIFIED", 0}, {"BASIC", 1}, {"FULL", 2}};
const std::vector<EnumName> kSchemes = {{"SCHEME_UNSPECIFIED", 0}, {"HTTP", 1}, {"HTTPS", 2}};
const std::vector<EnumName> kEnforceModes = {
    {"URI_OVERRIDE_ENFORCE_MODE_UNSPECIFIED", 0}, {"IF_NOT_EXISTS", 1}, {"ALWAYS", 2}};

constexpr char kStateType[] = "type.googleapis.com/google.cloud.tasks.v2.Queue.State";
constexpr char kMethodType[] = "type.googleapis.com/google.cloud.tasks.v2.HttpMethod";

Json EnumOut(const std::vector<EnumName>& names, int value, JsonStyle style) {
  if (style.enums_as_int) return value;
  for (const auto& n : names) {
    if (n.value == value) return std::string(n.name);
  }
  return value;
}

#define RETURN_IF_ERROR STRATUS_RETURN_IF_ERROR

// One optional member of `o`, read with `get` (&JsonObject::GetString, GetInt32, ...): when
// it is set, *out takes its value (converted to the slot's type; GetInt32 has refused
// values out of int32 range already).
template <typename T, typename Slot>
Status Field(const JsonObject& o, Status (JsonObject::*get)(std::string_view, std::optional<T>*) const,
             std::string_view name, Slot* out) {
  std::optional<T> v;
  RETURN_IF_ERROR((o.*get)(name, &v));
  if (v) *out = static_cast<Slot>(std::move(*v));
  return Status::Ok();
}

// An enum member, by name or number, into *out when set.
template <typename E>
Status EnumField(const JsonObject& o, std::string_view name, const std::vector<EnumName>& names, std::string_view type,
                 E* out) {
  std::optional<int> v;
  RETURN_IF_ERROR(o.GetEnum(name, names, type, &v));
  if (v) *out = static_cast<E>(*v);
  return Status::Ok();
}

// A task's httpMethod: HTTP_METHOD_UNSPECIFIED (or none) leaves the default, POST.
Status TaskMethodField(const JsonObject& o, HttpMethod* out) {
  std::optional<int> v;
  RETURN_IF_ERROR(o.GetEnum("httpMethod", kMethods, kMethodType, &v));
  if (v && *v) *out = static_cast<HttpMethod>(*v);
  return Status::Ok();
}

// A message member: when it is set, `read` (StatusOr<T>(const JsonObject&)) fills *out.
template <typename T, typename Read>
Status MessageField(const JsonObject& o, std::string_view name, Read read, std::optional<T>* out) {
  STRATUS_ASSIGN_OR_RETURN(auto member, o.GetObject(name));
  if (member) {
    STRATUS_ASSIGN_OR_RETURN(*out, read(*member));
  }
  return Status::Ok();
}

StatusOr<OAuthToken> ReadOAuthToken(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"serviceAccountEmail", "scope"}));
  OAuthToken t;
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "serviceAccountEmail", &t.service_account_email));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "scope", &t.scope));
  return t;
}

StatusOr<OidcToken> ReadOidcToken(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"serviceAccountEmail", "audience"}));
  OidcToken t;
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "serviceAccountEmail", &t.service_account_email));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "audience", &t.audience));
  return t;
}

StatusOr<AppEngineRouting> ReadRouting(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"service", "version", "instance", "host"}));
  AppEngineRouting r;
  for (auto [f, slot] : {std::pair{"service", &r.service}, std::pair{"version", &r.version},
                         std::pair{"instance", &r.instance}, std::pair{"host", &r.host}}) {
    RETURN_IF_ERROR(Field(o, &JsonObject::GetString, f, slot));
  }
  return r;
}

Json RoutingToJson(const AppEngineRouting& r) {
  Json j = Json::object();
  for (auto [f, v] : {std::pair{"service", &r.service}, std::pair{"version", &r.version},
                      std::pair{"instance", &r.instance}, std::pair{"host", &r.host}}) {
    if (!v->empty()) j[f] = *v;
  }
  return j;
}

StatusOr<UriOverride::PathOverride> ReadPathOverride(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"path"}));
  UriOverride::PathOverride p;
  RETURN_IF_ERROR(o.GetString("path", &p.path));
  return p;
}

StatusOr<UriOverride::QueryOverride> ReadQueryOverride(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"queryParams"}));
  UriOverride::QueryOverride q;
  RETURN_IF_ERROR(o.GetString("queryParams", &q.query_params));
  return q;
}

StatusOr<UriOverride> ReadUriOverride(const JsonObject& u) {
  RETURN_IF_ERROR(u.CheckFields({"scheme", "host", "port", "pathOverride", "queryOverride", "uriOverrideEnforceMode"}));
  UriOverride out;
  RETURN_IF_ERROR(
      EnumField(u, "scheme", kSchemes, "type.googleapis.com/google.cloud.tasks.v2.UriOverride.Scheme", &out.scheme));
  RETURN_IF_ERROR(EnumField(u, "uriOverrideEnforceMode", kEnforceModes,
                            "type.googleapis.com/google.cloud.tasks.v2.UriOverride.UriOverrideEnforceMode",
                            &out.enforce_mode));
  RETURN_IF_ERROR(Field(u, &JsonObject::GetString, "host", &out.host));
  RETURN_IF_ERROR(Field(u, &JsonObject::GetInt, "port", &out.port));
  RETURN_IF_ERROR(MessageField(u, "pathOverride", ReadPathOverride, &out.path_override));
  RETURN_IF_ERROR(MessageField(u, "queryOverride", ReadQueryOverride, &out.query_override));
  return out;
}

StatusOr<HttpTarget> ReadHttpTarget(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"uriOverride", "httpMethod", "headerOverrides", "oauthToken", "oidcToken"}));
  HttpTarget t;
  RETURN_IF_ERROR(MessageField(o, "uriOverride", ReadUriOverride, &t.uri_override));
  RETURN_IF_ERROR(EnumField(o, "httpMethod", kMethods, kMethodType, &t.http_method));
  if (const Json* arr = o.Raw("headerOverrides")) {
    if (!arr->is_array()) {
      return InvalidArgument("Invalid value at '" + o.FieldPath("headerOverrides") + "', expected a list.");
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      STRATUS_ASSIGN_OR_RETURN(
          auto item, JsonObject::Of((*arr)[i], o.FieldPath("headerOverrides") + "[" + std::to_string(i) + "]"));
      RETURN_IF_ERROR(item.CheckFields({"header"}));
      STRATUS_ASSIGN_OR_RETURN(auto header, item.GetObject("header"));
      HttpTarget::Header h;
      if (header) {
        RETURN_IF_ERROR(header->CheckFields({"key", "value"}));
        RETURN_IF_ERROR(Field(*header, &JsonObject::GetString, "key", &h.key));
        RETURN_IF_ERROR(Field(*header, &JsonObject::GetString, "value", &h.value));
      }
      t.header_overrides.push_back(std::move(h));
    }
  }
  RETURN_IF_ERROR(MessageField(o, "oauthToken", ReadOAuthToken, &t.oauth_token));
  RETURN_IF_ERROR(MessageField(o, "oidcToken", ReadOidcToken, &t.oidc_token));
  return t;
}

Json OAuthToJson(const OAuthToken& t) {
  Json j = Json::object();
  if (!t.service_account_email.empty()) j["serviceAccountEmail"] = t.service_account_email;
  if (!t.scope.empty()) j["scope"] = t.scope;
  return j;
}

Json OidcToJson(const OidcToken& t) {
  Json j = Json::object();
  if (!t.service_account_email.empty()) j["serviceAccountEmail"] = t.service_account_email;
  if (!t.audience.empty()) j["audience"] = t.audience;
  return j;
}

Json HttpTargetToJson(const HttpTarget& t, JsonStyle style) {
  Json j = Json::object();
  if (t.uri_override) {
    const UriOverride& u = *t.uri_override;
    Json uj = Json::object();
    if (u.scheme != UriOverride::Scheme::kUnspecified)
      uj["scheme"] = EnumOut(kSchemes, static_cast<int>(u.scheme), style);
    if (!u.host.empty()) uj["host"] = u.host;
    if (u.port) uj["port"] = std::to_string(u.port);  // int64: a string in protobuf JSON
    if (u.path_override) {
      uj["pathOverride"] = Json::object();
      if (u.path_override->path) uj["pathOverride"]["path"] = *u.path_override->path;
    }
    if (u.query_override) {
      uj["queryOverride"] = Json::object();
      if (u.query_override->query_params) uj["queryOverride"]["queryParams"] = *u.query_override->query_params;
    }
    if (u.enforce_mode != UriOverride::EnforceMode::kUnspecified) {
      uj["uriOverrideEnforceMode"] = EnumOut(kEnforceModes, static_cast<int>(u.enforce_mode), style);
    }
    j["uriOverride"] = uj;
  }
  if (t.http_method != HttpMethod::kUnspecified)
    j["httpMethod"] = EnumOut(kMethods, static_cast<int>(t.http_method), style);
  if (!t.header_overrides.empty()) {
    Json out = Json::array();
    for (const auto& h : t.header_overrides) {
      Json hj = Json::object();
      if (!h.key.empty()) hj["key"] = h.key;
      if (!h.value.empty()) hj["value"] = h.value;
      out.push_back(Json{{"header", hj}});
    }
    j["headerOverrides"] = out;
  }
  if (t.oauth_token) j["oauthToken"] = OAuthToJson(*t.oauth_token);
  if (t.oidc_token) j["oidcToken"] = OidcToJson(*t.oidc_token);
  return j;
}

StatusOr<Attempt> ReadAttempt(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"scheduleTime", "dispatchTime", "responseTime", "responseStatus"}));
  Attempt a;
  RETURN_IF_ERROR(Field(o, &JsonObject::GetTimestamp, "scheduleTime", &a.schedule_time));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetTimestamp, "dispatchTime", &a.dispatch_time));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetTimestamp, "responseTime", &a.response_time));
  STRATUS_ASSIGN_OR_RETURN(auto rs, o.GetObject("responseStatus"));
  if (rs) {
    RETURN_IF_ERROR(rs->CheckFields({"code", "message", "details"}));
    int64_t code = 0;
    std::string message;
    RETURN_IF_ERROR(Field(*rs, &JsonObject::GetInt, "code", &code));
    RETURN_IF_ERROR(Field(*rs, &JsonObject::GetString, "message", &message));
    int c = static_cast<int>(code);
    a.response_status = (c <= 0 || c > 16) ? Status() : Status(static_cast<Code>(c), message);
  }
  return a;
}

Json AttemptToJson(const Attempt& a) {
  Json j = Json::object();
  if (a.schedule_time) j["scheduleTime"] = FormatTimestamp(a.schedule_time);
  if (a.dispatch_time) j["dispatchTime"] = FormatTimestamp(a.dispatch_time);
  if (a.response_time) j["responseTime"] = FormatTimestamp(a.response_time);
  if (a.response_status) j["responseStatus"] = RpcStatusToJson(*a.response_status);
  return j;
}

StatusOr<HttpRequest> ReadHttpRequest(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"url", "httpMethod", "headers", "body", "oauthToken", "oidcToken"}));
  HttpRequest r;
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "url", &r.url));
  RETURN_IF_ERROR(TaskMethodField(o, &r.http_method));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetBytes, "body", &r.body));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetStringMap, "headers", &r.headers));
  RETURN_IF_ERROR(MessageField(o, "oidcToken", ReadOidcToken, &r.oidc_token));
  RETURN_IF_ERROR(MessageField(o, "oauthToken", ReadOAuthToken, &r.oauth_token));
  return r;
}

StatusOr<AppEngineHttpRequest> ReadAppEngineRequest(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"httpMethod", "appEngineRouting", "relativeUri", "headers", "body"}));
  AppEngineHttpRequest r;
  std::optional<std::string> uri;
  RETURN_IF_ERROR(o.GetString("relativeUri", &uri));
  if (uri && !uri->empty()) r.relative_uri = *uri;  // an empty one keeps the default, "/"
  RETURN_IF_ERROR(TaskMethodField(o, &r.http_method));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetBytes, "body", &r.body));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetStringMap, "headers", &r.headers));
  RETURN_IF_ERROR(MessageField(o, "appEngineRouting", ReadRouting, &r.app_engine_routing));
  return r;
}

Json HeadersToJson(const std::map<std::string, std::string>& headers) {
  Json j = Json::object();
  for (const auto& [k, v] : headers) j[k] = v;
  return j;
}

}  // namespace

std::string_view HttpMethodName(HttpMethod m) {
  for (const auto& n : kMethods) {
    if (n.value == static_cast<int>(m)) return n.name;
  }
  return "HTTP_METHOD_UNSPECIFIED";
}

Json RpcStatusToJson(const Status& status) {
  Json j = Json::object();
  if (status.code() != Code::kOk) j["code"] = static_cast<int>(status.code());
  if (!status.message().empty()) j["message"] = status.message();
  return j;
}

StatusOr<Queue> QueueFromJson(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"name", "appEngineRoutingOverride", "httpTarget", "rateLimits", "retryConfig", "state",
                                 "purgeTime", "stackdriverLoggingConfig"}));
  Queue q;
  // Zero means "unset" in proto3: these start at zero and ApplyQueueDefaults fills them.
  q.rate_limits = RateLimits{0, 0, 0};
  q.retry_config = RetryConfig{0, 0, 0, 0, 0};
  q.state = QueueState::kUnspecified;
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "name", &q.name));

  STRATUS_ASSIGN_OR_RETURN(auto rate, o.GetObject("rateLimits"));
  if (rate) {
    const JsonObject& r = *rate;
    RETURN_IF_ERROR(r.CheckFields({"maxDispatchesPerSecond", "maxBurstSize", "maxConcurrentDispatches"}));
    RateLimits& l = q.rate_limits;
    RETURN_IF_ERROR(Field(r, &JsonObject::GetDouble, "maxDispatchesPerSecond", &l.max_dispatches_per_second));
    RETURN_IF_ERROR(Field(r, &JsonObject::GetInt32, "maxBurstSize", &l.max_burst_size));
    RETURN_IF_ERROR(Field(r, &JsonObject::GetInt32, "maxConcurrentDispatches", &l.max_concurrent_dispatches));
  }
  STRATUS_ASSIGN_OR_RETURN(auto retry, o.GetObject("retryConfig"));
  if (retry) {
    const JsonObject& r = *retry;
    RETURN_IF_ERROR(r.CheckFields({"maxAttempts", "maxRetryDuration", "minBackoff", "maxBackoff", "maxDoublings"}));
    RetryConfig& c = q.retry_config;
    RETURN_IF_ERROR(Field(r, &JsonObject::GetInt32, "maxAttempts", &c.max_attempts));
    RETURN_IF_ERROR(Field(r, &JsonObject::GetDuration, "maxRetryDuration", &c.max_retry_duration));
    RETURN_IF_ERROR(Field(r, &JsonObject::GetDuration, "minBackoff", &c.min_backoff));
    RETURN_IF_ERROR(Field(r, &JsonObject::GetDuration, "maxBackoff", &c.max_backoff));
    RETURN_IF_ERROR(Field(r, &JsonObject::GetInt32, "maxDoublings", &c.max_doublings));
  }
  RETURN_IF_ERROR(EnumField(o, "state", kStates, kStateType, &q.state));
  RETURN_IF_ERROR(o.GetTimestamp("purgeTime", &q.purge_time));
  STRATUS_ASSIGN_OR_RETURN(auto logging, o.GetObject("stackdriverLoggingConfig"));
  if (logging) {
    RETURN_IF_ERROR(logging->CheckFields({"samplingRatio"}));
    std::optional<double> ratio;
    RETURN_IF_ERROR(logging->GetDouble("samplingRatio", &ratio));
    q.logging_sampling_ratio = ratio.value_or(0);  // a config without a ratio says 0
  }
  RETURN_IF_ERROR(MessageField(o, "httpTarget", ReadHttpTarget, &q.http_target));
  RETURN_IF_ERROR(MessageField(o, "appEngineRoutingOverride", ReadRouting, &q.app_engine_routing_override));
  return q;
}

Json QueueToJson(const Queue& q, JsonStyle style) {
  Json j = Json::object();
  j["name"] = q.name;
  if (q.app_engine_routing_override) j["appEngineRoutingOverride"] = RoutingToJson(*q.app_engine_routing_override);
  if (q.http_target) j["httpTarget"] = HttpTargetToJson(*q.http_target, style);
  Json rate = Json::object();
  rate["maxDispatchesPerSecond"] = q.rate_limits.max_dispatches_per_second;
  rate["maxBurstSize"] = q.rate_limits.max_burst_size;
  rate["maxConcurrentDispatches"] = q.rate_limits.max_concurrent_dispatches;
  j["rateLimits"] = rate;
  Json retry = Json::object();
  retry["maxAttempts"] = q.retry_config.max_attempts;
  if (q.retry_config.max_retry_duration) retry["maxRetryDuration"] = FormatDuration(q.retry_config.max_retry_duration);
  retry["minBackoff"] = FormatDuration(q.retry_config.min_backoff);
  retry["maxBackoff"] = FormatDuration(q.retry_config.max_backoff);
  retry["maxDoublings"] = q.retry_config.max_doublings;
  j["retryConfig"] = retry;
  j["state"] = EnumOut(kStates, static_cast<int>(q.state), style);
  if (q.purge_time) j["purgeTime"] = FormatTimestamp(*q.purge_time);
  if (q.logging_sampling_ratio) j["stackdriverLoggingConfig"] = Json{{"samplingRatio", *q.logging_sampling_ratio}};
  return j;
}

StatusOr<Task> TaskFromJson(const JsonObject& o) {
  RETURN_IF_ERROR(
      o.CheckFields({"name", "appEngineHttpRequest", "httpRequest", "scheduleTime", "createTime", "dispatchDeadline",
                     "dispatchCount", "responseCount", "firstAttempt", "lastAttempt", "view"}));
  Task t;
  RETURN_IF_ERROR(Field(o, &JsonObject::GetString, "name", &t.name));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetTimestamp, "scheduleTime", &t.schedule_time));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetTimestamp, "createTime", &t.create_time));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetDuration, "dispatchDeadline", &t.dispatch_deadline));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetInt32, "dispatchCount", &t.dispatch_count));
  RETURN_IF_ERROR(Field(o, &JsonObject::GetInt32, "responseCount", &t.response_count));
  std::optional<int> view;  // output only: checked, then ignored
  RETURN_IF_ERROR(o.GetEnum("view", kViews, "type.googleapis.com/google.cloud.tasks.v2.Task.View", &view));

  RETURN_IF_ERROR(MessageField(o, "httpRequest", ReadHttpRequest, &t.http_request));
  RETURN_IF_ERROR(MessageField(o, "appEngineHttpRequest", ReadAppEngineRequest, &t.app_engine_http_request));
  RETURN_IF_ERROR(MessageField(o, "firstAttempt", ReadAttempt, &t.first_attempt));
  RETURN_IF_ERROR(MessageField(o, "lastAttempt", ReadAttempt, &t.last_attempt));
  return t;
}

Json TaskToJson(const Task& t, TaskView view, JsonStyle style) {
  const bool full = view == TaskView::kFull;
  Json j = Json::object();
  j["name"] = t.name;
  if (t.app_engine_http_request) {
    const auto& r = *t.app_engine_http_request;
    Json rj = Json::object();
    rj["httpMethod"] = EnumOut(kMethods, static_cast<int>(r.http_method), style);
    if (r.app_engine_routing) rj["appEngineRouting"] = RoutingToJson(*r.app_engine_routing);
    rj["relativeUri"] = r.relative_uri;
    rj["headers"] = HeadersToJson(r.headers);
    if (full && !r.body.empty()) rj["body"] = Base64Encode(r.body);
    j["appEngineHttpRequest"] = rj;
  }
  if (t.http_request) {
    const auto& r = *t.http_request;
    Json rj = Json::object();
    rj["url"] = r.url;
    rj["httpMethod"] = EnumOut(kMethods, static_cast<int>(r.http_method), style);
    rj["headers"] = HeadersToJson(r.headers);
    if (full && !r.body.empty()) rj["body"] = Base64Encode(r.body);
    if (r.oauth_token) {
      rj["oauthToken"] = Json{{"serviceAccountEmail", r.oauth_token->service_account_email}};
      if (!r.oauth_token->scope.empty()) rj["oauthToken"]["scope"] = r.oauth_token->scope;
    }
    if (r.oidc_token) {
      rj["oidcToken"] = Json{{"serviceAccountEmail", r.oidc_token->service_account_email}};
      if (!r.oidc_token->audience.empty()) rj["oidcToken"]["audience"] = r.oidc_token->audience;
    }
    j["httpRequest"] = rj;
  }
  j["scheduleTime"] = FormatTimestamp(t.schedule_time);
  j["createTime"] = FormatTimestamp(t.create_time);
  if (t.dispatch_deadline) j["dispatchDeadline"] = FormatDuration(t.dispatch_deadline);
  if (t.dispatch_count) j["dispatchCount"] = t.dispatch_count;
  if (t.response_count) j["responseCount"] = t.response_count;
  if (t.first_attempt) j["firstAttempt"] = AttemptToJson(*t.first_attempt);
  if (t.last_attempt) j["lastAttempt"] = AttemptToJson(*t.last_attempt);
  j["view"] = EnumOut(kViews, static_cast<int>(full ? TaskView::kFull : TaskView::kBasic), style);
  return j;
}

}  // namespace stratus
