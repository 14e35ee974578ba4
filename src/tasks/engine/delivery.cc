#include "tasks/engine/delivery.h"

#include <charconv>
#include <cstdio>

namespace stratus {
namespace {

namespace bh = beast::http;
constexpr Micros kDefaultDeadline = 600LL * kMicrosPerSecond;
constexpr size_t kKeptResponseBody = 1024;  // what dead letters and logs keep of a response
constexpr size_t kMaxHeaderName = 256;
constexpr size_t kMaxHeaderValue = 32 * 1024;

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
      return bh::verb::post;
  }
}

std::string ShortName(const std::string& full) {
  return full.substr(full.rfind('/') + 1);
}

// Applies httpTarget.uriOverride. ALWAYS (the default) replaces every part the override
// names; IF_NOT_EXISTS fills only parts the task's URL leaves out (port, path, query).
Status ApplyUriOverride(const Json& o, http::Url* url) {
  const bool if_not_exists = o.value("uriOverrideEnforceMode", 0) == 1;
  if (o.contains("scheme") && !if_not_exists) {
    bool tls = o["scheme"].get<int>() == 2;
    if (tls != url->tls) {
      if (url->port == (url->tls ? 443 : 80)) url->port = tls ? 443 : 80;
      url->tls = tls;
    }
  }
  if (o.contains("host") && !if_not_exists) url->host = o["host"].get<std::string>();
  if (o.contains("port") && !if_not_exists) {
    const Json& port = o["port"];
    std::string text = port.is_string() ? port.get<std::string>() : port.dump();
    int64_t p = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
    if (ec != std::errc() || end != text.data() + text.size() || p < 1 || p > 65535) {
      return InvalidArgument("uriOverride.port " + text + " is not a port (1-65535)");
    }
    url->port = static_cast<uint16_t>(p);
  }
  std::string path = url->target.substr(0, url->target.find('?'));
  std::string query = url->target.find('?') == std::string::npos ? "" : url->target.substr(url->target.find('?') + 1);
  if (o.contains("pathOverride")) {
    std::string p = o["pathOverride"].value("path", "");
    if (!if_not_exists || path == "/" || path.empty()) path = p.empty() || p.front() != '/' ? "/" + p : p;
  }
  if (o.contains("queryOverride")) {
    std::string q = o["queryOverride"].value("queryParams", "");
    if (!if_not_exists || query.empty()) query = q;
  }
  url->target = path + (query.empty() ? "" : "?" + query);
  return Status::Ok();
}

StatusOr<Delivery> BuildDeliveryOrThrow(const Queue& queue, const Task& task, auth::OidcSigner* signer,
                                        const DeliveryOptions& options);

}  // namespace

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
    auto url = http::Url::Parse(r.url);
    if (!url.ok()) return url.status();
    d.url = std::move(*url);
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
    auto url = http::Url::Parse(options.app_engine_url + r.relative_uri);
    if (!url.ok()) return url.status();
    d.url = std::move(*url);
    headers = r.headers;
    body = r.body;
    method = r.http_method;
    d.deadline = task.dispatch_deadline ? task.dispatch_deadline : kDefaultDeadline;
  } else {
    return FailedPrecondition("the task has no request to deliver");
  }

  const Json& target = queue.http_target;
  if (task.http_request && target.is_object()) {
    if (target.contains("uriOverride")) STRATUS_RETURN_IF_ERROR(ApplyUriOverride(target["uriOverride"], &d.url));
    if (target.contains("httpMethod")) method = static_cast<HttpMethod>(target["httpMethod"].get<int>());
    if (target.contains("headerOverrides")) {
      for (const auto& h : target["headerOverrides"]) {
        const Json& kv = h.value("header", Json::object());
        if (kv.contains("key")) headers[kv["key"].get<std::string>()] = kv.value("value", "");
      }
    }
    if (target.contains("oidcToken")) {
      oidc = OidcToken{target["oidcToken"].value("serviceAccountEmail", ""), target["oidcToken"].value("audience", "")};
      oauth.reset();
    } else if (target.contains("oauthToken")) {
      oauth =
          OAuthToken{target["oauthToken"].value("serviceAccountEmail", ""), target["oauthToken"].value("scope", "")};
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
    auto token = signer->Token(oidc->service_account_email, audience);
    if (!token.ok()) return token.status();
    req.set(beast::http::field::authorization, "Bearer " + *token);
  } else if (oauth) {
    if (options.oauth_token.empty()) {
      return FailedPrecondition("oauthToken tasks need --oauth-token-file to supply a bearer token");
    }
    req.set(beast::http::field::authorization, "Bearer " + options.oauth_token);
  }
  req.body() = std::move(body);
  // The last word before anything is sent: exactly one well-formed request, or none.
  if (Status st = http::PrepareRequest(d.url, &req); !st.ok()) return InvalidArgument("request not sent: " + st.message());
  return d;
}

}  // namespace
}  // namespace stratus
