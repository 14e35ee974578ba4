#include "tasks/engine/delivery.h"

#include <charconv>
#include <cstdio>

namespace stratus {
namespace {

namespace bh = beast::http;
constexpr Micros kDefaultDeadline = 600LL * kMicrosPerSecond;
constexpr size_t kKeptResponseBody = 1024;  // what dead letters and logs keep of a response

std::string ShortName(const std::string& full) {
  return full.substr(full.rfind('/') + 1);
}

// Applies httpTarget.uriOverride. ALWAYS (the default) replaces every part the override
// names; IF_NOT_EXISTS fills only parts the task's URL leaves out (port, path, query).
Status ApplyUriOverride(const UriOverride& o, http::Url* url) {
  const bool if_not_exists = o.enforce_mode == UriOverride::EnforceMode::kIfNotExists;
  if (o.scheme != UriOverride::Scheme::kUnspecified && !if_not_exists) {
    bool tls = o.scheme == UriOverride::Scheme::kHttps;
    if (tls != url->tls) {
      if (url->port == (url->tls ? 443 : 80)) url->port = tls ? 443 : 80;
      url->tls = tls;
    }
  }
  if (!o.host.empty() && !if_not_exists) url->host = o.host;
  if (o.port != 0 && !if_not_exists) {
    if (o.port < 1 || o.port > 65535) {
      return InvalidArgument("uriOverride.port " + std::to_string(o.port) + " is not a port (1-65535)");
    }
    url->port = static_cast<uint16_t>(o.port);
  }
  std::string path = url->target.substr(0, url->target.find('?'));
  std::string query = url->target.find('?') == std::string::npos ? "" : url->target.substr(url->target.find('?') + 1);
  if (o.path_override) {
    std::string p = o.path_override->path.value_or("");
    if (!if_not_exists || path == "/" || path.empty()) path = p.empty() || p.front() != '/' ? "/" + p : p;
  }
  if (o.query_override) {
    std::string q = o.query_override->query_params.value_or("");
    if (!if_not_exists || query.empty()) query = q;
  }
  url->target = path + (query.empty() ? "" : "?" + query);
  return Status::Ok();
}

StatusOr<Delivery> BuildDeliveryOrThrow(const Queue& queue, const Task& task, auth::OidcSigner* signer,
                                        const DeliveryOptions& options);

}  // namespace

bh::verb VerbOf(HttpMethod m) {
  switch (m) {
    case HttpMethod::kGet:
      return bh::verb::get;
    case HttpMethod::kHead:
      return bh::verb::head;
    case HttpMethod::kPut:
      return bh::verb::put;
    case HttpMethod::kDelete:
      return bh::verb::delete_;
    case HttpMethod::kPatch:
      return bh::verb::patch;
    case HttpMethod::kOptions:
      return bh::verb::options;
    default:
      return bh::verb::post;  // target.proto: POST when unspecified
  }
}

std::string EtaSeconds(Micros t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(t / kMicrosPerSecond),
                static_cast<long long>(t % kMicrosPerSecond));
  return buf;
}

StatusOr<Delivery> BuildDelivery(const Queue& queue, const Task& task, auth::OidcSigner* signer,
                                 const DeliveryOptions& options) {
  // A stored document of an unexpected shape is a refusal of this task, not an exception.
  try {
    return BuildDeliveryOrThrow(queue, task, signer, options);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("cannot build the request: ") + e.what());
  }
}

namespace {

StatusOr<Delivery> BuildDeliveryOrThrow(const Queue& queue, const Task& task, auth::OidcSigner* signer,
                                        const DeliveryOptions& options) {
  Delivery d;
  d.send.max_body = kKeptResponseBody;
  d.send.discard_excess_body = true;
  d.send.policy = options.target_policy.get();
  std::map<std::string, std::string> headers;
  std::string body;
  HttpMethod method = HttpMethod::kPost;
  std::optional<OidcToken> oidc;
  std::optional<OAuthToken> oauth;
  if (task.http_request) {
    const HttpRequest& r = *task.http_request;
    STRATUS_ASSIGN_OR_RETURN(auto url, http::Url::Parse(r.url));
    d.url = std::move(url);
    headers = r.headers;
    body = r.body;
    method = r.http_method;
    oidc = r.oidc_token;
    oauth = r.oauth_token;
    d.deadline = task.dispatch_deadline ? task.dispatch_deadline : kDefaultDeadline;
  } else if (task.app_engine_http_request) {
    const AppEngineHttpRequest& r = *task.app_engine_http_request;
    if (options.app_engine_url.empty()) {
      return FailedPrecondition("App Engine tasks need --app-engine-url to say where App Engine is");
    }
    STRATUS_ASSIGN_OR_RETURN(auto url, http::Url::Parse(options.app_engine_url + r.relative_uri));
    d.url = std::move(url);
    headers = r.headers;
    body = r.body;
    method = r.http_method;
    d.deadline = task.dispatch_deadline ? task.dispatch_deadline : kDefaultDeadline;
  } else {
    return FailedPrecondition("the task has no request to deliver");
  }

  if (task.http_request && queue.http_target) {
    const HttpTarget& target = *queue.http_target;
    if (target.uri_override) STRATUS_RETURN_IF_ERROR(ApplyUriOverride(*target.uri_override, &d.url));
    if (target.http_method != HttpMethod::kUnspecified) method = target.http_method;
    for (const auto& h : target.header_overrides) {
      if (!h.key.empty()) headers[h.key] = h.value;
    }
    if (target.oidc_token) {
      oidc = target.oidc_token;
      oauth.reset();
    } else if (target.oauth_token) {
      oauth = target.oauth_token;
      oidc.reset();
    }
  }

  http::Request& req = d.request;
  req.method(VerbOf(method));
  req.version(11);
  req.target(d.url.target);
  for (const auto& [k, v] : headers) {
    // Checked before Beast sees them: an empty name or an oversized value makes it throw.
    if (k.empty() || k.size() > kMaxHeaderName || v.size() > kMaxHeaderValue) {
      return InvalidArgument("header '" + k.substr(0, 64) + "' has an empty or oversized name or value");
    }
    req.set(k, v);
  }
  req.set(beast::http::field::user_agent,
          task.http_request ? "Google-Cloud-Tasks" : "AppEngine-Google; (+http://code.google.com/appengine)");
  const bool is_retry = task.dispatch_count > 1;
  req.set("X-CloudTasks-QueueName", ShortName(queue.name));
  req.set("X-CloudTasks-TaskName", ShortName(task.name));
  req.set("X-CloudTasks-TaskRetryCount", std::to_string(std::max(0, task.dispatch_count - 1)));
  req.set("X-CloudTasks-TaskExecutionCount", std::to_string(task.execution_count));
  req.set("X-CloudTasks-TaskETA", EtaSeconds(task.schedule_time));
  if (is_retry) {
    if (task.previous_response) req.set("X-CloudTasks-TaskPreviousResponse", std::to_string(task.previous_response));
    req.set("X-CloudTasks-TaskRetryReason", "");
  }
  if (oidc && signer) {
    std::string audience = oidc->audience.empty() ? task.http_request->url : oidc->audience;
    STRATUS_ASSIGN_OR_RETURN(auto token, signer->Token(oidc->service_account_email, audience));
    req.set(beast::http::field::authorization, "Bearer " + token);
  } else if (oauth) {
    if (options.oauth_token.empty()) {
      return FailedPrecondition("oauthToken tasks need --oauth-token-file to supply a bearer token");
    }
    req.set(beast::http::field::authorization, "Bearer " + options.oauth_token);
  }
  req.body() = std::move(body);
  // The last word before anything is sent: exactly one well-formed request, or none.
  if (Status st = http::PrepareRequest(d.url, &req); !st.ok())
    return InvalidArgument("request not sent: " + st.message());
  return d;
}

}  // namespace
}  // namespace stratus
