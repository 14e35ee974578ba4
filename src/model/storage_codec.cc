#include "model/storage_codec.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <utility>

#include "common/base64.h"
#include "common/json.h"
#include "common/time.h"

namespace stratus::storage {
namespace {

struct Name {
  std::string_view text;
  int value;
};

constexpr Name kStates[] = {{"STATE_UNSPECIFIED", 0}, {"RUNNING", 1}, {"PAUSED", 2}, {"DISABLED", 3}};
constexpr Name kMethods[] = {{"HTTP_METHOD_UNSPECIFIED", 0},
                             {"POST", 1},
                             {"GET", 2},
                             {"HEAD", 3},
                             {"PUT", 4},
                             {"DELETE", 5},
                             {"PATCH", 6},
                             {"OPTIONS", 7}};
constexpr Name kSchemes[] = {{"SCHEME_UNSPECIFIED", 0}, {"HTTP", 1}, {"HTTPS", 2}};
constexpr Name kEnforceModes[] = {{"URI_OVERRIDE_ENFORCE_MODE_UNSPECIFIED", 0}, {"IF_NOT_EXISTS", 1}, {"ALWAYS", 2}};

template <size_t N>
Json EnumOut(const Name (&names)[N], int value) {
  for (const auto& n : names) {
    if (n.value == value) return std::string(n.text);
  }
  return value;  // a value this build has no name for stays a number
}

// Reads members of one document; the first member of the wrong type marks it corrupt and
// later reads return defaults.
class Reader {
 public:
  explicit Reader(const char* what) : what_(what) {}

  Status Finish() const {
    if (bad_.empty()) return Status::Ok();
    return Internal("storage: corrupt " + std::string(what_) + " record (" + bad_ + ")");
  }

  // The member, or null when it is absent or JSON null.
  static const Json* Find(const Json& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() || it->is_null() ? nullptr : &*it;
  }

  const Json* Object(const Json& o, std::string_view key) {
    const Json* v = Find(o, key);
    if (v && !v->is_object()) return Bad(key);
    return v;
  }
  const Json* Array(const Json& o, std::string_view key) {
    const Json* v = Find(o, key);
    if (v && !v->is_array()) return Bad(key);
    return v;
  }
  std::optional<std::string> String(const Json& o, std::string_view key) {
    const Json* v = Find(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      Bad(key);
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  std::string StringOr(const Json& o, std::string_view key, std::string def = "") {
    return String(o, key).value_or(std::move(def));
  }
  // A number, or a decimal string (int64 in protobuf JSON).
  std::optional<int64_t> Int(const Json& o, std::string_view key) {
    const Json* v = Find(o, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        Bad(key);
        return std::nullopt;
      }
      return v->get<int64_t>();
    }
    if (v->is_number_float()) return static_cast<int64_t>(v->get<double>());
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      int64_t n = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return n;
    }
    Bad(key);
    return std::nullopt;
  }
  int32_t Int32(const Json& o, std::string_view key) {
    return static_cast<int32_t>(std::clamp<int64_t>(Int(o, key).value_or(0), INT32_MIN, INT32_MAX));
  }
  std::optional<double> Double(const Json& o, std::string_view key) {
    const Json* v = Find(o, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      Bad(key);
      return std::nullopt;
    }
    return v->get<double>();
  }
  template <size_t N>
  int Enum(const Json& o, std::string_view key, const Name (&names)[N]) {
    const Json* v = Find(o, key);
    if (!v) return 0;
    if (v->is_number_integer()) return static_cast<int>(v->get<int64_t>());
    if (v->is_string()) {
      for (const auto& n : names) {
        if (n.text == v->get_ref<const std::string&>()) return n.value;
      }
    }
    Bad(key);
    return 0;
  }
  std::optional<Micros> Timestamp(const Json& o, std::string_view key) { return Parsed(o, key, ParseTimestamp); }
  std::optional<Micros> Duration(const Json& o, std::string_view key) { return Parsed(o, key, ParseDuration); }
  std::map<std::string, std::string> StringMap(const Json& o, std::string_view key) {
    std::map<std::string, std::string> out;
    const Json* v = Object(o, key);
    if (!v) return out;
    for (const auto& [k, value] : v->items()) {
      if (!value.is_string()) {
        Bad(key);
        return out;
      }
      out[k] = value.get<std::string>();
    }
    return out;
  }
  std::optional<std::string> Bytes(const Json& o, std::string_view key) { return Parsed(o, key, Base64Decode); }

 private:
  // A string member read by `parse` (StatusOr<T>(std::string_view)); text it refuses makes
  // the member bad.
  template <typename T>
  std::optional<T> Parsed(const Json& o, std::string_view key, StatusOr<T> (*parse)(std::string_view)) {
    auto s = String(o, key);
    if (!s) return std::nullopt;
    auto v = parse(*s);
    if (!v.ok()) {
      Bad(key);
      return std::nullopt;
    }
    return std::move(v).value();
  }

  const Json* Bad(std::string_view key) {
    if (bad_.empty()) bad_ = std::string(key);
    return nullptr;
  }

  const char* what_;
  std::string bad_;
};

// Parses a stored document: an object in a format this build reads.
StatusOr<Json> Parse(std::string_view doc, const char* what) {
  Json j = Json::parse(doc.begin(), doc.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Internal(std::string("storage: corrupt ") + what + " record");
  if (auto it = j.find("storageFormat"); it != j.end()) {
    int64_t format = it->is_number_integer() ? it->get<int64_t>() : -1;
    if (format < 0) return Internal(std::string("storage: corrupt ") + what + " record (storageFormat)");
    if (format > kStorageFormat) {
      return FailedPrecondition(std::string("storage: a ") + what + " record in format " + std::to_string(format) +
                                ", newer than this stratus reads (" + std::to_string(kStorageFormat) +
                                "): it was written by a later stratus");
    }
  }
  return j;
}

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ------------------------------------------------------------------ shared pieces

Json RoutingOut(const AppEngineRouting& r) {
  Json j = Json::object();
  for (auto [f, v] : {std::pair{"service", &r.service}, std::pair{"version", &r.version},
                      std::pair{"instance", &r.instance}, std::pair{"host", &r.host}}) {
    if (!v->empty()) j[f] = *v;
  }
  return j;
}

AppEngineRouting RoutingIn(Reader& rd, const Json& o) {
  return AppEngineRouting{rd.StringOr(o, "service"), rd.StringOr(o, "version"), rd.StringOr(o, "instance"),
                          rd.StringOr(o, "host")};
}

Json HeadersOut(const std::map<std::string, std::string>& headers) {
  Json j = Json::object();
  for (const auto& [k, v] : headers) j[k] = v;
  return j;
}

Json StatusOut(const Status& s) {
  Json j = Json::object();
  if (s.code() != Code::kOk) j["code"] = static_cast<int>(s.code());
  if (!s.message().empty()) j["message"] = s.message();
  return j;
}

// ------------------------------------------------------------------ queues

Json HttpTargetOut(const HttpTarget& t) {
  Json j = Json::object();
  if (t.uri_override) {
    const UriOverride& u = *t.uri_override;
    Json uj = Json::object();
    if (u.scheme != UriOverride::Scheme::kUnspecified) uj["scheme"] = EnumOut(kSchemes, static_cast<int>(u.scheme));
    if (!u.host.empty()) uj["host"] = u.host;
    if (u.port) uj["port"] = std::to_string(u.port);
    if (u.path_override) {
      uj["pathOverride"] = Json::object();
      if (u.path_override->path) uj["pathOverride"]["path"] = *u.path_override->path;
    }
    if (u.query_override) {
      uj["queryOverride"] = Json::object();
      if (u.query_override->query_params) uj["queryOverride"]["queryParams"] = *u.query_override->query_params;
    }
    if (u.enforce_mode != UriOverride::EnforceMode::kUnspecified) {
      uj["uriOverrideEnforceMode"] = EnumOut(kEnforceModes, static_cast<int>(u.enforce_mode));
    }
    j["uriOverride"] = uj;
  }
  if (t.http_method != HttpMethod::kUnspecified) j["httpMethod"] = EnumOut(kMethods, static_cast<int>(t.http_method));
  if (!t.header_overrides.empty()) {
    Json out = Json::array();
    for (const auto& h : t.header_overrides) out.push_back(Json{{"header", Json{{"key", h.key}, {"value", h.value}}}});
    j["headerOverrides"] = out;
  }
  if (t.oauth_token) {
    j["oauthToken"] = Json{{"serviceAccountEmail", t.oauth_token->service_account_email}};
    if (!t.oauth_token->scope.empty()) j["oauthToken"]["scope"] = t.oauth_token->scope;
  }
  if (t.oidc_token) {
    j["oidcToken"] = Json{{"serviceAccountEmail", t.oidc_token->service_account_email}};
    if (!t.oidc_token->audience.empty()) j["oidcToken"]["audience"] = t.oidc_token->audience;
  }
  return j;
}

HttpTarget HttpTargetIn(Reader& rd, const Json& o) {
  HttpTarget t;
  if (const Json* u = rd.Object(o, "uriOverride")) {
    UriOverride uo;
    uo.scheme = static_cast<UriOverride::Scheme>(rd.Enum(*u, "scheme", kSchemes));
    uo.host = rd.StringOr(*u, "host");
    uo.port = rd.Int(*u, "port").value_or(0);
    if (const Json* p = rd.Object(*u, "pathOverride"))
      uo.path_override = UriOverride::PathOverride{rd.String(*p, "path")};
    if (const Json* q = rd.Object(*u, "queryOverride")) {
      uo.query_override = UriOverride::QueryOverride{rd.String(*q, "queryParams")};
    }
    uo.enforce_mode = static_cast<UriOverride::EnforceMode>(rd.Enum(*u, "uriOverrideEnforceMode", kEnforceModes));
    t.uri_override = std::move(uo);
  }
  t.http_method = static_cast<HttpMethod>(rd.Enum(o, "httpMethod", kMethods));
  if (const Json* arr = rd.Array(o, "headerOverrides")) {
    for (const Json& item : *arr) {
      const Json* h = item.is_object() ? rd.Object(item, "header") : nullptr;
      if (!h) continue;  // a header without a key sets nothing
      t.header_overrides.push_back({rd.StringOr(*h, "key"), rd.StringOr(*h, "value")});
    }
  }
  if (const Json* a = rd.Object(o, "oauthToken")) {
    t.oauth_token = OAuthToken{rd.StringOr(*a, "serviceAccountEmail"), rd.StringOr(*a, "scope")};
  }
  if (const Json* a = rd.Object(o, "oidcToken")) {
    t.oidc_token = OidcToken{rd.StringOr(*a, "serviceAccountEmail"), rd.StringOr(*a, "audience")};
  }
  return t;
}

// ------------------------------------------------------------------ tasks

Json AttemptOut(const Attempt& a) {
  Json j = Json::object();
  if (a.schedule_time) j["scheduleTime"] = FormatTimestamp(a.schedule_time);
  if (a.dispatch_time) j["dispatchTime"] = FormatTimestamp(a.dispatch_time);
  if (a.response_time) j["responseTime"] = FormatTimestamp(a.response_time);
  if (a.response_status) j["responseStatus"] = StatusOut(*a.response_status);
  return j;
}

Attempt AttemptIn(Reader& rd, const Json& o) {
  Attempt a;
  a.schedule_time = rd.Timestamp(o, "scheduleTime").value_or(0);
  a.dispatch_time = rd.Timestamp(o, "dispatchTime").value_or(0);
  a.response_time = rd.Timestamp(o, "responseTime").value_or(0);
  if (const Json* s = rd.Object(o, "responseStatus")) {
    int64_t c = rd.Int(*s, "code").value_or(0);
    a.response_status = (c <= 0 || c > 16) ? Status() : Status(static_cast<Code>(c), rd.StringOr(*s, "message"));
  }
  return a;
}

}  // namespace

std::string EncodeQueue(const Queue& q) {
  Json j = Json::object();
  j["name"] = q.name;
  if (q.app_engine_routing_override) j["appEngineRoutingOverride"] = RoutingOut(*q.app_engine_routing_override);
  if (q.http_target) j["httpTarget"] = HttpTargetOut(*q.http_target);
  j["rateLimits"] = Json{{"maxDispatchesPerSecond", q.rate_limits.max_dispatches_per_second},
                         {"maxBurstSize", q.rate_limits.max_burst_size},
                         {"maxConcurrentDispatches", q.rate_limits.max_concurrent_dispatches}};
  Json retry = Json::object();
  retry["maxAttempts"] = q.retry_config.max_attempts;
  if (q.retry_config.max_retry_duration) retry["maxRetryDuration"] = FormatDuration(q.retry_config.max_retry_duration);
  retry["minBackoff"] = FormatDuration(q.retry_config.min_backoff);
  retry["maxBackoff"] = FormatDuration(q.retry_config.max_backoff);
  retry["maxDoublings"] = q.retry_config.max_doublings;
  j["retryConfig"] = retry;
  j["state"] = EnumOut(kStates, static_cast<int>(q.state));
  if (q.purge_time) j["purgeTime"] = FormatTimestamp(*q.purge_time);
  if (q.logging_sampling_ratio) j["stackdriverLoggingConfig"] = Json{{"samplingRatio", *q.logging_sampling_ratio}};
  return Dump(j);
}

std::string EncodeQueueExtensions(const QueueExtensions& ext) {
  return Dump(Json{{"permanentFailureStatuses", ext.permanent_failure_statuses}});
}

StatusOr<Queue> DecodeQueue(std::string_view doc, std::string_view ext) {
  STRATUS_ASSIGN_OR_RETURN(auto j, Parse(doc, "queue"));
  Reader rd("queue");
  Queue q;
  q.name = rd.StringOr(j, "name");
  q.rate_limits = RateLimits{0, 0, 0};
  if (const Json* r = rd.Object(j, "rateLimits")) {
    q.rate_limits.max_dispatches_per_second = rd.Double(*r, "maxDispatchesPerSecond").value_or(0);
    q.rate_limits.max_burst_size = rd.Int32(*r, "maxBurstSize");
    q.rate_limits.max_concurrent_dispatches = rd.Int32(*r, "maxConcurrentDispatches");
  }
  q.retry_config = RetryConfig{0, 0, 0, 0, 0};
  if (const Json* r = rd.Object(j, "retryConfig")) {
    q.retry_config.max_attempts = rd.Int32(*r, "maxAttempts");
    q.retry_config.max_retry_duration = rd.Duration(*r, "maxRetryDuration").value_or(0);
    q.retry_config.min_backoff = rd.Duration(*r, "minBackoff").value_or(0);
    q.retry_config.max_backoff = rd.Duration(*r, "maxBackoff").value_or(0);
    q.retry_config.max_doublings = rd.Int32(*r, "maxDoublings");
  }
  q.state = static_cast<QueueState>(rd.Enum(j, "state", kStates));
  q.purge_time = rd.Timestamp(j, "purgeTime");
  if (const Json* l = rd.Object(j, "stackdriverLoggingConfig")) {
    q.logging_sampling_ratio = rd.Double(*l, "samplingRatio").value_or(0);
  }
  if (const Json* t = rd.Object(j, "httpTarget")) q.http_target = HttpTargetIn(rd, *t);
  if (const Json* r = rd.Object(j, "appEngineRoutingOverride")) q.app_engine_routing_override = RoutingIn(rd, *r);
  STRATUS_RETURN_IF_ERROR(rd.Finish());

  // The extensions: a row from before they existed has '{}' or nothing.
  if (!ext.empty()) {
    Json e = Json::parse(ext.begin(), ext.end(), nullptr, false);
    if (e.is_object()) {
      if (const Json* codes = Reader::Find(e, "permanentFailureStatuses"); codes && codes->is_array()) {
        for (const auto& v : *codes) {
          if (v.is_number_integer()) q.stratus.permanent_failure_statuses.push_back(v.get<int>());
        }
      }
    }
  }
  return q;
}

std::string EncodeTask(const Task& t, bool with_attempts) {
  Json j = Json::object();
  j["name"] = t.name;
  if (t.app_engine_http_request) {
    const auto& r = *t.app_engine_http_request;
    Json rj = Json::object();
    rj["httpMethod"] = EnumOut(kMethods, static_cast<int>(r.http_method));
    if (r.app_engine_routing) rj["appEngineRouting"] = RoutingOut(*r.app_engine_routing);
    rj["relativeUri"] = r.relative_uri;
    rj["headers"] = HeadersOut(r.headers);
    j["appEngineHttpRequest"] = rj;
  }
  if (t.http_request) {
    const auto& r = *t.http_request;
    Json rj = Json::object();
    rj["url"] = r.url;
    rj["httpMethod"] = EnumOut(kMethods, static_cast<int>(r.http_method));
    rj["headers"] = HeadersOut(r.headers);
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
  if (with_attempts) {
    if (t.dispatch_count) j["dispatchCount"] = t.dispatch_count;
    if (t.response_count) j["responseCount"] = t.response_count;
    if (t.first_attempt) j["firstAttempt"] = AttemptOut(*t.first_attempt);
    if (t.last_attempt) j["lastAttempt"] = AttemptOut(*t.last_attempt);
  }
  j["view"] = "FULL";  // format 0 is the FULL view of the REST task
  return Dump(j);
}

StatusOr<Task> DecodeTask(std::string_view doc) {
  STRATUS_ASSIGN_OR_RETURN(auto j, Parse(doc, "task"));
  Reader rd("task");
  Task t;
  t.name = rd.StringOr(j, "name");
  t.schedule_time = rd.Timestamp(j, "scheduleTime").value_or(0);
  t.create_time = rd.Timestamp(j, "createTime").value_or(0);
  t.dispatch_deadline = rd.Duration(j, "dispatchDeadline").value_or(0);
  t.dispatch_count = rd.Int32(j, "dispatchCount");
  t.response_count = rd.Int32(j, "responseCount");
  if (const Json* r = rd.Object(j, "httpRequest")) {
    HttpRequest h;
    h.url = rd.StringOr(*r, "url");
    int method = rd.Enum(*r, "httpMethod", kMethods);
    if (method) h.http_method = static_cast<HttpMethod>(method);
    h.headers = rd.StringMap(*r, "headers");
    h.body = rd.Bytes(*r, "body").value_or("");
    if (const Json* a = rd.Object(*r, "oidcToken")) {
      h.oidc_token = OidcToken{rd.StringOr(*a, "serviceAccountEmail"), rd.StringOr(*a, "audience")};
    }
    if (const Json* a = rd.Object(*r, "oauthToken")) {
      h.oauth_token = OAuthToken{rd.StringOr(*a, "serviceAccountEmail"), rd.StringOr(*a, "scope")};
    }
    t.http_request = std::move(h);
  }
  if (const Json* r = rd.Object(j, "appEngineHttpRequest")) {
    AppEngineHttpRequest a;
    int method = rd.Enum(*r, "httpMethod", kMethods);
    if (method) a.http_method = static_cast<HttpMethod>(method);
    if (const Json* routing = rd.Object(*r, "appEngineRouting")) a.app_engine_routing = RoutingIn(rd, *routing);
    std::string uri = rd.StringOr(*r, "relativeUri");
    if (!uri.empty()) a.relative_uri = std::move(uri);
    a.headers = rd.StringMap(*r, "headers");
    a.body = rd.Bytes(*r, "body").value_or("");
    t.app_engine_http_request = std::move(a);
  }
  if (const Json* a = rd.Object(j, "firstAttempt")) t.first_attempt = AttemptIn(rd, *a);
  if (const Json* a = rd.Object(j, "lastAttempt")) t.last_attempt = AttemptIn(rd, *a);
  STRATUS_RETURN_IF_ERROR(rd.Finish());
  return t;
}

}  // namespace stratus::storage
