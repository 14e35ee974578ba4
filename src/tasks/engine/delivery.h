// Builds the HTTP request that delivers a task: the task's httpRequest with the queue's
// httpTarget overrides applied, User-Agent: Google-Cloud-Tasks, the X-CloudTasks-* headers
// and, for oidcToken tasks, an Authorization: Bearer ID token.
#pragma once

#include <memory>
#include <string>

#include "auth/oidc.h"
#include "http/client.h"
#include "http/target_policy.h"
#include "stratus/model.h"

namespace stratus {

struct Delivery {
  http::Url url;
  http::Request request;
  Micros deadline = 0;
  http::SendOptions send;  // keeps the first KB of the response; the target policy
};

struct DeliveryOptions {
  std::string app_engine_url;  // base URL that App Engine tasks are sent to ("" refuses them)
  std::string oauth_token;     // bearer token for oauthToken tasks ("" refuses them)
  std::shared_ptr<const http::TargetPolicy> target_policy;  // nullptr: any address
};

// `task` is the task after AttemptStart (dispatchCount counts this attempt). INVALID_ARGUMENT
// when the stored task or queue would not make exactly one well-formed request (control
// characters in the URL or headers, a bad uriOverride port): nothing is sent then.
StatusOr<Delivery> BuildDelivery(const Queue& queue, const Task& task, auth::OidcSigner* signer,
                                 const DeliveryOptions& options);

// The verb of a target's httpMethod; POST when unspecified (target.proto).
beast::http::verb VerbOf(HttpMethod m);

// The largest header name and value an outgoing request carries (Cloud Tasks deliveries and
// Cloud Scheduler executions alike); a larger one refuses the request before Beast sees it.
inline constexpr size_t kMaxHeaderName = 256;
inline constexpr size_t kMaxHeaderValue = 32 * 1024;

// "1795322121.250000": the TaskETA header form.
std::string EtaSeconds(Micros t);

}  // namespace stratus
