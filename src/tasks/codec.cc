#include "tasks/codec.h"

#include <algorithm>
#include <climits>

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

template <typename T>
void SetIf(const std::optional<T>& v, T* out) {
  if (v) *out = *v;
}

// serviceAccountEmail and `second_field` (audience or scope) of an oidcToken/oauthToken.
Status ReadTokenObject(const JsonObject& o, std::string_view second_field, std::string* email, std::string* second) {
  RETURN_IF_ERROR(o.CheckFields({"serviceAccountEmail", second_field}));
  std::optional<std::string> e, s;
  RETURN_IF_ERROR(o.GetString("serviceAccountEmail", &e));
  RETURN_IF_ERROR(o.GetString(second_field, &s));
  SetIf(e, email);
  SetIf(s, second);
  return Status::Ok();
}

StatusOr<AppEngineRouting> ReadRouting(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"service", "version", "instance", "host"}));
  AppEngineRouting r;
  for (auto [f, slot] : {std::pair{"service", &r.service}, std::pair{"version", &r.version},
                         std::pair{"instance", &r.instance}, std::pair{"host", &r.host}}) {
    std::optional<std::string> v;
    RETURN_IF_ERROR(o.GetString(f, &v));
    SetIf(v, slot);
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

StatusOr<UriOverride> ReadUriOverride(const JsonObject& u) {
  RETURN_IF_ERROR(u.CheckFields({"scheme", "host", "port", "pathOverride", "queryOverride", "uriOverrideEnforceMode"}));
  UriOverride out;
  std::optional<int> scheme, mode;
  std::optional<std::string> host;
  std::optional<int64_t> port;
  RETURN_IF_ERROR(
      u.GetEnum("scheme", kSchemes, "type.googleapis.com/google.cloud.tasks.v2.UriOverride.Scheme", &scheme));
  RETURN_IF_ERROR(u.GetEnum("uriOverrideEnforceMode", kEnforceModes,
                            "type.googleapis.com/google.cloud.tasks.v2.UriOverride.UriOverrideEnforceMode", &mode));
  RETURN_IF_ERROR(u.GetString("host", &host));
  RETURN_IF_ERROR(u.GetInt("port", &port));
  if (scheme) out.scheme = static_cast<UriOverride::Scheme>(*scheme);
  if (mode) out.enforce_mode = static_cast<UriOverride::EnforceMode>(*mode);
  SetIf(host, &out.host);
  SetIf(port, &out.port);
  auto path = u.GetObject("pathOverride");
  if (!path.ok()) return path.status();
  if (*path) {
    RETURN_IF_ERROR((*path)->CheckFields({"path"}));
    UriOverride::PathOverride p;
    RETURN_IF_ERROR((*path)->GetString("path", &p.path));
    out.path_override = std::move(p);
  }
  auto query = u.GetObject("queryOverride");
  if (!query.ok()) return query.status();
  if (*query) {
    RETURN_IF_ERROR((*query)->CheckFields({"queryParams"}));
    UriOverride::QueryOverride q;
    RETURN_IF_ERROR((*query)->GetString("queryParams", &q.query_params));
    out.query_override = std::move(q);
  }
  return out;
}

StatusOr<HttpTarget> ReadHttpTarget(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"uriOverride", "httpMethod", "headerOverrides", "oauthToken", "oidcToken"}));
  HttpTarget t;
  auto uri = o.GetObject("uriOverride");
  if (!uri.ok()) return uri.status();
  if (*uri) {
    auto u = ReadUriOverride(**uri);
    if (!u.ok()) return u.status();
    t.uri_override = std::move(*u);
  }
  std::optional<int> method;
  RETURN_IF_ERROR(o.GetEnum("httpMethod", kMethods, kMethodType, &method));
  if (method) t.http_method = static_cast<HttpMethod>(*method);
  if (const Json* arr = o.Raw("headerOverrides")) {
    if (!arr->is_array()) {
      return InvalidArgument("Invalid value at '" + o.FieldPath("headerOverrides") + "', expected a list.");
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      auto item = JsonObject::Of((*arr)[i], o.FieldPath("headerOverrides") + "[" + std::to_string(i) + "]");
      if (!item.ok()) return item.status();
      RETURN_IF_ERROR(item->CheckFields({"header"}));
      auto header = item->GetObject("header");
      if (!header.ok()) return header.status();
      HttpTarget::Header h;
      if (*header) {
        RETURN_IF_ERROR((*header)->CheckFields({"key", "value"}));
        std::optional<std::string> key, value;
        RETURN_IF_ERROR((*header)->GetString("key", &key));
        RETURN_IF_ERROR((*header)->GetString("value", &value));
        SetIf(key, &h.key);
        SetIf(value, &h.value);
      }
      t.header_overrides.push_back(std::move(h));
    }
  }
  auto oauth = o.GetObject("oauthToken");
  if (!oauth.ok()) return oauth.status();
  if (*oauth) {
    OAuthToken tok;
    RETURN_IF_ERROR(ReadTokenObject(**oauth, "scope", &tok.service_account_email, &tok.scope));
    t.oauth_token = std::move(tok);
  }
  auto oidc = o.GetObject("oidcToken");
  if (!oidc.ok()) return oidc.status();
  if (*oidc) {
    OidcToken tok;
    RETURN_IF_ERROR(ReadTokenObject(**oidc, "audience", &tok.service_account_email, &tok.audience));
    t.oidc_token = std::move(tok);
  }
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

Status ReadHeaders(const JsonObject& o, std::map<std::string, std::string>* out) {
  std::optional<std::map<std::string, std::string>> headers;
  RETURN_IF_ERROR(o.GetStringMap("headers", &headers));
  if (headers) *out = std::move(*headers);
  return Status::Ok();
}

StatusOr<Attempt> ReadAttempt(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"scheduleTime", "dispatchTime", "responseTime", "responseStatus"}));
  Attempt a;
  std::optional<Micros> t;
  RETURN_IF_ERROR(o.GetTimestamp("scheduleTime", &t));
  SetIf(t, &a.schedule_time);
  t.reset();
  RETURN_IF_ERROR(o.GetTimestamp("dispatchTime", &t));
  SetIf(t, &a.dispatch_time);
  t.reset();
  RETURN_IF_ERROR(o.GetTimestamp("responseTime", &t));
  SetIf(t, &a.response_time);
  auto rs = o.GetObject("responseStatus");
  if (!rs.ok()) return rs.status();
  if (*rs) {
    RETURN_IF_ERROR((*rs)->CheckFields({"code", "message", "details"}));
    std::optional<int64_t> code;
    std::optional<std::string> message;
    RETURN_IF_ERROR((*rs)->GetInt("code", &code));
    RETURN_IF_ERROR((*rs)->GetString("message", &message));
    int c = static_cast<int>(code.value_or(0));
    a.response_status = (c <= 0 || c > 16) ? Status() : Status(static_cast<Code>(c), message.value_or(""));
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
  std::optional<std::string> url, body;
  std::optional<int> method;
  RETURN_IF_ERROR(o.GetString("url", &url));
  RETURN_IF_ERROR(o.GetEnum("httpMethod", kMethods, kMethodType, &method));
  RETURN_IF_ERROR(o.GetBytes("body", &body));
  RETURN_IF_ERROR(ReadHeaders(o, &r.headers));
  SetIf(url, &r.url);
  SetIf(body, &r.body);
  if (method && *method) r.http_method = static_cast<HttpMethod>(*method);
  auto oidc = o.GetObject("oidcToken");
  if (!oidc.ok()) return oidc.status();
  if (*oidc) {
    OidcToken tok;
    RETURN_IF_ERROR(ReadTokenObject(**oidc, "audience", &tok.service_account_email, &tok.audience));
    r.oidc_token = std::move(tok);
  }
  auto oauth = o.GetObject("oauthToken");
  if (!oauth.ok()) return oauth.status();
  if (*oauth) {
    OAuthToken tok;
    RETURN_IF_ERROR(ReadTokenObject(**oauth, "scope", &tok.service_account_email, &tok.scope));
    r.oauth_token = std::move(tok);
  }
  return r;
}

StatusOr<AppEngineHttpRequest> ReadAppEngineRequest(const JsonObject& o) {
  RETURN_IF_ERROR(o.CheckFields({"httpMethod", "appEngineRouting", "relativeUri", "headers", "body"}));
  AppEngineHttpRequest r;
  std::optional<std::string> uri, body;
  std::optional<int> method;
  RETURN_IF_ERROR(o.GetString("relativeUri", &uri));
  RETURN_IF_ERROR(o.GetEnum("httpMethod", kMethods, kMethodType, &method));
  RETURN_IF_ERROR(o.GetBytes("body", &body));
  RETURN_IF_ERROR(ReadHeaders(o, &r.headers));
  if (uri && !uri->empty()) r.relative_uri = *uri;
  SetIf(body, &r.body);
  if (method && *method) r.http_method = static_cast<HttpMethod>(*method);
  auto routing = o.GetObject("appEngineRouting");
  if (!routing.ok()) return routing.status();
  if (*routing) {
    auto rj = ReadRouting(**routing);
    if (!rj.ok()) return rj.status();
    r.app_engine_routing = std::move(*rj);
  }
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
  std::optional<std::string> name;
  RETURN_IF_ERROR(o.GetString("name", &name));
  SetIf(name, &q.name);

  auto rate = o.GetObject("rateLimits");
  if (!rate.ok()) return rate.status();
  if (*rate) {
    const JsonObject& r = **rate;
    RETURN_IF_ERROR(r.CheckFields({"maxDispatchesPerSecond", "maxBurstSize", "maxConcurrentDispatches"}));
    std::optional<double> mdps;
    std::optional<int64_t> burst, mcd;
    RETURN_IF_ERROR(r.GetDouble("maxDispatchesPerSecond", &mdps));
    RETURN_IF_ERROR(r.GetInt32("maxBurstSize", &burst));
    RETURN_IF_ERROR(r.GetInt32("maxConcurrentDispatches", &mcd));
    SetIf(mdps, &q.rate_limits.max_dispatches_per_second);
    if (burst) q.rate_limits.max_burst_size = static_cast<int32_t>(*burst);
    if (mcd)
      q.rate_limits.max_concurrent_dispatches = static_cast<int32_t>(std::clamp<int64_t>(*mcd, INT32_MIN, INT32_MAX));
  }
  auto retry = o.GetObject("retryConfig");
  if (!retry.ok()) return retry.status();
  if (*retry) {
    const JsonObject& r = **retry;
    RETURN_IF_ERROR(r.CheckFields({"maxAttempts", "maxRetryDuration", "minBackoff", "maxBackoff", "maxDoublings"}));
    std::optional<int64_t> attempts, doublings;
    std::optional<Micros> mrd, minb, maxb;
    RETURN_IF_ERROR(r.GetInt32("maxAttempts", &attempts));
    RETURN_IF_ERROR(r.GetDuration("maxRetryDuration", &mrd));
    RETURN_IF_ERROR(r.GetDuration("minBackoff", &minb));
    RETURN_IF_ERROR(r.GetDuration("maxBackoff", &maxb));
    RETURN_IF_ERROR(r.GetInt32("maxDoublings", &doublings));
    if (attempts)
      q.retry_config.max_attempts = static_cast<int32_t>(std::clamp<int64_t>(*attempts, INT32_MIN, INT32_MAX));
    if (doublings)
      q.retry_config.max_doublings = static_cast<int32_t>(std::clamp<int64_t>(*doublings, INT32_MIN, INT32_MAX));
    SetIf(mrd, &q.retry_config.max_retry_duration);
    SetIf(minb, &q.retry_config.min_backoff);
    SetIf(maxb, &q.retry_config.max_backoff);
  }
  std::optional<int> state;
  RETURN_IF_ERROR(o.GetEnum("state", kStates, kStateType, &state));
  if (state) q.state = static_cast<QueueState>(*state);
  std::optional<Micros> purge;
  RETURN_IF_ERROR(o.GetTimestamp("purgeTime", &purge));
  q.purge_time = purge;
  auto logging = o.GetObject("stackdriverLoggingConfig");
  if (!logging.ok()) return logging.status();
  if (*logging) {
    RETURN_IF_ERROR((*logging)->CheckFields({"samplingRatio"}));
    std::optional<double> ratio;
    RETURN_IF_ERROR((*logging)->GetDouble("samplingRatio", &ratio));
    q.logging_sampling_ratio = ratio.value_or(0);
  }
  auto target = o.GetObject("httpTarget");
  if (!target.ok()) return target.status();
  if (*target) {
    auto tj = ReadHttpTarget(**target);
    if (!tj.ok()) return tj.status();
    q.http_target = std::move(*tj);
  }
  auto routing = o.GetObject("appEngineRoutingOverride");
  if (!routing.ok()) return routing.status();
  if (*routing) {
    auto rj = ReadRouting(**routing);
    if (!rj.ok()) return rj.status();
    q.app_engine_routing_override = std::move(*rj);
  }
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
  std::optional<std::string> name;
  RETURN_IF_ERROR(o.GetString("name", &name));
  SetIf(name, &t.name);
  std::optional<Micros> v;
  RETURN_IF_ERROR(o.GetTimestamp("scheduleTime", &v));
  SetIf(v, &t.schedule_time);
  v.reset();
  RETURN_IF_ERROR(o.GetTimestamp("createTime", &v));
  SetIf(v, &t.create_time);
  v.reset();
  RETURN_IF_ERROR(o.GetDuration("dispatchDeadline", &v));
  SetIf(v, &t.dispatch_deadline);
  std::optional<int64_t> n;
  RETURN_IF_ERROR(o.GetInt32("dispatchCount", &n));
  if (n) t.dispatch_count = static_cast<int32_t>(*n);
  n.reset();
  RETURN_IF_ERROR(o.GetInt32("responseCount", &n));
  if (n) t.response_count = static_cast<int32_t>(*n);
  std::optional<int> view;
  RETURN_IF_ERROR(o.GetEnum("view", kViews, "type.googleapis.com/google.cloud.tasks.v2.Task.View", &view));

  auto http = o.GetObject("httpRequest");
  if (!http.ok()) return http.status();
  if (*http) {
    auto r = ReadHttpRequest(**http);
    if (!r.ok()) return r.status();
    t.http_request = std::move(*r);
  }
  auto gae = o.GetObject("appEngineHttpRequest");
  if (!gae.ok()) return gae.status();
  if (*gae) {
    auto r = ReadAppEngineRequest(**gae);
    if (!r.ok()) return r.status();
    t.app_engine_http_request = std::move(*r);
  }
  for (auto [field, slot] : {std::pair{"firstAttempt", &t.first_attempt}, std::pair{"lastAttempt", &t.last_attempt}}) {
    auto a = o.GetObject(field);
    if (!a.ok()) return a.status();
    if (!*a) continue;
    auto attempt = ReadAttempt(**a);
    if (!attempt.ok()) return attempt.status();
    *slot = std::move(*attempt);
  }
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
