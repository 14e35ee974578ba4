// Who may call the API and what they may do.
//
// 1. The request guard, before any credential is looked at (both listeners):
//    - Host: a listener bound to a loopback address answers only to loopback names and
//      addresses (localhost, *.localhost, 127.0.0.0/8, [::1]) with any port, plus the names
//      given with --allowed-hosts; one bound elsewhere answers to any Host unless
//      --allowed-hosts is given (then: those names, loopback names and IP literals, since
//      DNS rebinding needs a name). `*` accepts any. A refused Host gets 403 PERMISSION_DENIED.
//    - Origin: a request carrying an Origin that is not the server's own (http or https
//      with the Host it was sent to) gets 403 PERMISSION_DENIED: no web page may drive the API
//      from a browser.
//    - On the JSON API (the Cloud Tasks listener), a body sent as text/plain,
//      application/x-www-form-urlencoded or multipart/form-data (what a browser may send
//      cross-origin without asking) gets 400 INVALID_ARGUMENT.
// 2. Authentication: with tokens configured, every kApi route needs
//    `Authorization: Bearer TOKEN` (what gcloud and the Google clients send) or
//    `x-goog-api-key: TOKEN` (the clients' API-key mode); else 401. Without tokens the API is
//    open (and everything below is allowed).
// 3. Authorization: each route names the IAM permission Google checks for it
//    (http::Route::permission). A token's scope grants: admin, every permission; read-only,
//    the get/list ones; enqueue, cloudtasks.tasks.create only; "*" (testIamPermissions) is
//    granted to all, a route without a permission to admin only. Otherwise 403 in Google's words.
// 4. actAs: a task or queue naming an oidcToken/oauthToken service account the token may not
//    sign as gets 403 (iam.serviceAccounts.actAs); so does a task for a queue whose httpTarget
//    signs as one (checked by tasks.create through RequestContext::act_as).
// 5. Audit: queue changes, scheduler job changes and dead-letter actions are written to the
//    AuditLog (audit.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/server.h"

namespace stratus::api {

class AuditLog;

enum class TokenScope { kAdmin, kEnqueue, kReadOnly };

struct ApiToken {
  std::string name;  // for the audit log; never the secret
  TokenScope scope = TokenScope::kAdmin;
  std::string secret;
  // The service accounts this token may name in an oidcToken/oauthToken (Google's
  // iam.serviceAccounts.actAs). Default: any for admin, none for enqueue and read-only.
  bool any_service_account = true;
  std::vector<std::string> service_accounts;
};

// Parses --api-token-file. Either the old format, one token alone (an admin token named
// "api-token"), or one token a line:
//   # comment
//   NAME SCOPE TOKEN [serviceAccounts=a@p.iam.gserviceaccount.com,b@p.iam.gserviceaccount.com]
// SCOPE is admin, enqueue or read-only; `serviceAccounts=*` allows any, `serviceAccounts=`
// none. Errors name the file and line, never a token.
StatusOr<std::vector<ApiToken>> ParseApiTokens(std::string_view text, std::string_view file);

// Which Host values a listener answers to.
struct HostPolicy {
  bool any = true;
  bool ip_literals = false;        // any IPv4 or [IPv6] literal
  std::vector<std::string> names;  // lower case; ".example.com" is the domain and its subdomains
};
HostPolicy MakeHostPolicy(std::string_view bind_host, const std::vector<std::string>& allowed_hosts);

struct RequestGuard {
  HostPolicy hosts;
  bool json_api = false;  // refuse browsers' simple-request content types
};

// The guard's decisions, one function each, then all three in order. OK or the refusal:
// PERMISSION_DENIED (Host, Origin) or INVALID_ARGUMENT (content type).
Status CheckHost(std::string_view host, const HostPolicy& policy);
Status CheckOrigin(std::string_view origin, std::string_view host);
Status CheckContentType(std::string_view content_type, bool has_body);
Status CheckRequest(const http::Request& req, const RequestGuard& guard);

// Whether a scope grants a route's permission ("*": any scope; "": admin only, so a route
// added without a permission fails closed).
bool ScopeGrants(TokenScope scope, std::string_view permission);
// Queue changes and dead-letter actions.
bool IsAudited(std::string_view permission);

struct AccessOptions {
  std::vector<ApiToken> tokens;          // empty: the API is open
  RequestGuard guard;                    // guard.json_api is set by CloudTasksHooks
  const http::Router* router = nullptr;  // to find a request's route permission
  std::shared_ptr<AuditLog> audit;       // null: no audit log
};

// Server hooks for the Cloud Tasks listener: google.rpc.Status errors, the guard, tokens,
// permissions, actAs, audit.
http::ServerHooks CloudTasksHooks(AccessOptions options);
// One admin token (or none), any Host (tests and fuzzers).
http::ServerHooks CloudTasksHooks(std::optional<std::string> api_token);
// Runs the guard before `inner`'s own authorization; refusals rendered by `inner.error`
// (the Redis REST listener).
http::ServerHooks GuardedHooks(http::ServerHooks inner, RequestGuard guard);

// Steps 2-4 for a front end that is not HTTP (the gRPC API, src/grpc): what a call presents
// and what it asks for.
struct CallCredentials {
  std::string_view authorization;             // the `authorization` metadata ("Bearer TOKEN")
  std::string_view api_key;                   // `x-goog-api-key`
  std::string_view permission;                // the method's IAM permission, as its REST route names it
  std::string_view resource;                  // what the call acts on, for the refusal's text
  std::vector<std::string> service_accounts;  // named by the request's oidcToken/oauthToken
};
// OK (with *token the caller's token, or null when the API is open), or UNAUTHENTICATED /
// PERMISSION_DENIED with the texts the REST listener answers.
Status AuthorizeCall(const std::vector<ApiToken>& tokens, const CallCredentials& call, const ApiToken** token);
// The actAs check for accounts a request cannot show (a task's queue's httpTarget), as
// RequestContext::act_as; empty when `token` is null or may act as any account.
std::function<Status(const std::string&)> ActAsCheck(const ApiToken* token);

// Constant-time comparison for secrets.
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace stratus::api
