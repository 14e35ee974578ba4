#include "api/access.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "api/audit.h"
#include "api/rpc.h"
#include "tasks/codec.h"

namespace stratus::api {
namespace {

Status Denied(std::string message) {
  return Status(Code::kPermissionDenied, std::move(message));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string_view Sv(beast::string_view s) {
  return {s.data(), s.size()};
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A quoted value for messages: at most 200 characters (JSON escapes the rest).
std::string Quote(std::string_view s) {
  return "\"" + std::string(s.substr(0, 200)) + (s.size() > 200 ? "...\"" : "\"");
}

// "host:port", "[v6]:port", "host" -> lower-case host (v6 keeps its brackets) and port ("" when
// absent). False when it is not an authority.
bool SplitAuthority(std::string_view a, std::string* host, std::string* port) {
  if (a.empty()) return false;
  std::string_view rest;
  if (a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    *host = Lower(a.substr(0, close + 1));
    rest = a.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else {
    size_t colon = a.find(':');
    *host = Lower(a.substr(0, colon));
    if (colon != std::string_view::npos) rest = a.substr(colon);
  }
  if (host->empty() || host->find_first_of("/?#@ \t") != std::string::npos) return false;
  *port = rest.empty() ? "" : std::string(rest.substr(1));
  return AllDigits(*port);
}

std::optional<asio::ip::address> IpLiteral(std::string_view host) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return std::nullopt;  // an IPv6 literal in a Host must be bracketed
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(h, ec);
  if (ec) return std::nullopt;
  return addr;
}

bool IsLoopback(std::string_view host) {
  constexpr std::string_view kLocal = ".localhost";
  if (host == "localhost" || (host.size() > kLocal.size() && host.substr(host.size() - kLocal.size()) == kLocal)) {
    return true;
  }
  auto ip = IpLiteral(host);
  if (!ip) return false;
  if (ip->is_v6() && ip->to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, ip->to_v6()).is_loopback();
  }
  return ip->is_loopback();
}

bool NameListed(std::string_view host, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (n == host) return true;
    // ".example.com": the domain and every name under it.
    if (n.size() > 1 && n.front() == '.' &&
        (host == std::string_view(n).substr(1) ||
         (host.size() > n.size() && host.substr(host.size() - n.size()) == n))) {
      return true;
    }
  }
  return false;
}

std::string ParamsResource(const std::map<std::string, std::string>& params, std::string_view path, bool with_task) {
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };
  const std::string* project = get("project");
  if (!project) return std::string(path);
  std::string out = "projects/" + *project;
  if (const std::string* l = get("location")) {
    out += "/locations/" + *l;
    if (const std::string* q = get("queue")) {
      out += "/queues/" + *q;
      if (const std::string* t = get("task"); t && with_task) out += "/tasks/" + *t;
    }
    if (const std::string* j = get("job")) out += "/jobs/" + *j;  // Cloud Scheduler
  }
  return out;
}

std::string LacksPermission(std::string_view permission, std::string_view resource) {
  return "The principal (user or service account) lacks IAM permission \"" + std::string(permission) +
         "\" for the resource \"" + std::string(resource) + "\" (or the resource may not exist).";
}

// The service accounts a create or update body names in oidcToken/oauthToken, read with the
// same decoder the handler uses (so snake_case names cannot slip by). A body that does not
// decode names none: the handler refuses it with the decoder's own error.
std::vector<std::string> NamedServiceAccounts(std::string_view permission, const std::string& body) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& email) {
    if (!email.empty()) out.push_back(email);
  };
  auto json = ParseJsonBody(body);
  if (!json.ok()) return out;
  if (permission == "cloudtasks.tasks.create") {
    auto req = JsonObject::Root(*json, "");
    if (!req.ok()) return out;
    auto task_obj = req->GetObject("task");
    if (!task_obj.ok() || !*task_obj) return out;
    auto task = TaskFromJson(**task_obj);
    if (!task.ok() || !task->http_request) return out;
    if (task->http_request->oidc_token) add(task->http_request->oidc_token->service_account_email);
    if (task->http_request->oauth_token) add(task->http_request->oauth_token->service_account_email);
  } else if (permission == "cloudtasks.queues.create" || permission == "cloudtasks.queues.update") {
    auto obj = JsonObject::Root(*json, "queue");
    if (!obj.ok()) return out;
    auto queue = QueueFromJson(*obj);
    if (!queue.ok() || !queue->http_target) return out;
    if (queue->http_target->oidc_token) add(queue->http_target->oidc_token->service_account_email);
    if (queue->http_target->oauth_token) add(queue->http_target->oauth_token->service_account_email);
  }
  return out;
}

// The resource an audit line names: the queue (or dead letter) acted on; for a queue
// create, the new queue's name from the body.
std::string AuditResource(const http::RequestContext& ctx, std::string_view permission) {
  std::string resource = ParamsResource(ctx.params, ctx.path, true);
  if (permission == "cloudtasks.queues.create" || permission == "cloudscheduler.jobs.create") {
    auto json = ParseJsonBody(ctx.request.body());
    if (json.ok() && json->is_object()) {
      auto it = json->find("name");
      if (it != json->end() && it->is_string()) resource = it->get<std::string>();
    }
  }
  return resource;
}

const ApiToken* Authenticate(std::string_view auth, std::string_view key, const std::vector<ApiToken>& tokens) {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view bearer;
  if (auth.size() > kBearer.size() && Lower(auth.substr(0, kBearer.size())) == "bearer ") {
    bearer = auth.substr(kBearer.size());
  }
  const ApiToken* found = nullptr;
  // Every token is compared, so the time taken does not tell which one matched.
  for (const ApiToken& t : tokens) {
    const bool by_bearer = SecretEquals(bearer, t.secret);  // both compared, never short-circuited
    const bool by_key = SecretEquals(key, t.secret);
    if ((by_bearer || by_key) && !found) found = &t;
  }
  return found;
}

const ApiToken* Authenticate(const http::Request& req, const std::vector<ApiToken>& tokens) {
  return Authenticate(Sv(req[beast::http::field::authorization]), Sv(req["x-goog-api-key"]), tokens);
}

bool MayActAs(const ApiToken& token, const std::string& email) {
  return token.any_service_account ||
         std::find(token.service_accounts.begin(), token.service_accounts.end(), email) != token.service_accounts.end();
}

constexpr char kUnauthenticated[] =
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential.";

// What the Cloud Tasks hooks share across loops; read-only once serving, but for the
// name index built on first use (every route is registered before the loops start).
struct AccessState {
  AccessOptions options;
  std::once_flag index_once;
  std::map<std::string, const http::Route*, std::less<>> by_name;

  const http::Route* RouteNamed(std::string_view name) {
    std::call_once(index_once, [this] {
      if (!options.router) return;
      for (const auto& r : options.router->routes()) by_name.emplace(r->name, r.get());
    });
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  }
};

std::optional<http::Response> Authorize(AccessState& s, const http::RequestContext& ctx, http::Scope scope) {
  const http::Request& req = ctx.request;
  Status guard = CheckRequest(req, s.options.guard);
  if (!guard.ok()) return RpcError(req, guard);
  if (scope == http::Scope::kPublic || s.options.tokens.empty()) return std::nullopt;
  const ApiToken* token = Authenticate(req, s.options.tokens);
  if (!token) return RpcError(req, Unauthenticated(kUnauthenticated));
  if (token->scope == TokenScope::kAdmin && token->any_service_account) return std::nullopt;
  if (!s.options.router) return RpcError(req, Denied("The request's permission cannot be checked."));
  std::map<std::string, std::string> params;
  http::Router::Match m = s.options.router->Find(req.method(), ctx.path, &params);
  if (!m.route) return std::nullopt;  // the server routed it; cannot happen
  const std::string& permission = m.route->permission;
  if (!ScopeGrants(token->scope, permission)) {
    return RpcError(req, Denied(LacksPermission(permission, ParamsResource(params, ctx.path, false))));
  }
  for (const std::string& email : NamedServiceAccounts(permission, req.body())) {
    if (!MayActAs(*token, email)) {
      return RpcError(req, Denied(LacksPermission("iam.serviceAccounts.actAs", email)));
    }
  }
  // What the body cannot show (the account a task's queue signs its deliveries as) the
  // handler checks with this. The token lives as long as the hooks, which outlive requests.
  if (!token->any_service_account) {
    ctx.act_as = [token](const std::string& email) {
      return MayActAs(*token, email) ? Status::Ok() : Denied(LacksPermission("iam.serviceAccounts.actAs", email));
    };
  }
  return std::nullopt;
}

void Observe(AccessState& s, const http::RequestContext& ctx, std::string_view route_name, int status) {
  if (!s.options.audit || route_name.empty()) return;
  const http::Route* route = s.RouteNamed(route_name);
  if (!route || !IsAudited(route->permission)) return;
  const ApiToken* token = s.options.tokens.empty() ? nullptr : Authenticate(ctx.request, s.options.tokens);
  AuditEntry e;
  e.principal = token ? token->name : "anonymous";
  e.remote = ctx.remote;
  e.method = std::string(route_name);
  e.verb = std::string(Sv(ctx.request.method_string()));
  e.resource = AuditResource(ctx, route->permission);
  e.status = status;
  s.options.audit->Write(e);
}

}  // namespace

Status AuthorizeCall(const std::vector<ApiToken>& tokens, const CallCredentials& call, const ApiToken** token) {
  *token = nullptr;
  if (tokens.empty()) return Status::Ok();
  const ApiToken* t = Authenticate(call.authorization, call.api_key, tokens);
  if (!t) return Unauthenticated(kUnauthenticated);
  *token = t;
  if (!ScopeGrants(t->scope, call.permission)) return Denied(LacksPermission(call.permission, call.resource));
  for (const std::string& email : call.service_accounts) {
    if (!MayActAs(*t, email)) return Denied(LacksPermission("iam.serviceAccounts.actAs", email));
  }
  return Status::Ok();
}

std::function<Status(const std::string&)> ActAsCheck(const ApiToken* token) {
  if (!token || token->any_service_account) return {};
  return [token](const std::string& email) {
    return MayActAs(*token, email) ? Status::Ok() : Denied(LacksPermission("iam.serviceAccounts.actAs", email));
  };
}

bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

StatusOr<std::vector<ApiToken>> ParseApiTokens(std::string_view text, std::string_view file) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t nl = text.find('\n', start);
    lines.push_back(Trim(text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start)));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  const std::string where = "--api-token-file " + std::string(file);
  // The old format: the file holds one token and nothing else.
  std::vector<std::string_view> content;
  for (std::string_view l : lines) {
    if (!l.empty()) content.push_back(l);
  }
  if (content.empty()) return InvalidArgument(where + " is empty");
  if (content.size() == 1 && Fields(content[0]).size() == 1) {
    return std::vector<ApiToken>{ApiToken{"api-token", TokenScope::kAdmin, std::string(content[0]), true, {}}};
  }
  std::vector<ApiToken> tokens;
  std::set<std::string> names, secrets;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty() || line.front() == '#') continue;
    const std::string at = where + " line " + std::to_string(i + 1) + ": ";
    std::vector<std::string_view> f = Fields(line);
    if (f.size() < 3 || f.size() > 4) {
      return InvalidArgument(at + "expected NAME SCOPE TOKEN [serviceAccounts=EMAIL,...]");
    }
    ApiToken t;
    t.name = std::string(f[0]);
    if (f[1] == "admin") {
      t.scope = TokenScope::kAdmin;
    } else if (f[1] == "enqueue") {
      t.scope = TokenScope::kEnqueue;
    } else if (f[1] == "read-only") {
      t.scope = TokenScope::kReadOnly;
    } else {
      return InvalidArgument(at + "unknown scope " + Quote(f[1]) + " (use admin, enqueue or read-only)");
    }
    t.secret = std::string(f[2]);
    t.any_service_account = t.scope == TokenScope::kAdmin;
    if (f.size() == 4) {
      constexpr std::string_view kKey = "serviceAccounts=";
      if (f[3].substr(0, kKey.size()) != kKey) {
        return InvalidArgument(at + "the fourth field must be serviceAccounts=EMAIL,... (or serviceAccounts=*)");
      }
      std::string_view list = f[3].substr(kKey.size());
      t.any_service_account = list == "*";
      while (!t.any_service_account && !list.empty()) {
        size_t comma = list.find(',');
        std::string_view email = list.substr(0, comma);
        if (!email.empty()) t.service_accounts.emplace_back(email);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
    if (!names.insert(t.name).second) return InvalidArgument(at + "the name " + Quote(t.name) + " is used twice");
    if (!secrets.insert(t.secret).second) return InvalidArgument(at + "this token is also given on an earlier line");
    tokens.push_back(std::move(t));
  }
  if (tokens.empty()) return InvalidArgument(where + " lists no token");
  return tokens;
}

HostPolicy MakeHostPolicy(std::string_view bind_host, const std::vector<std::string>& allowed_hosts) {
  HostPolicy p;
  for (const std::string& h : allowed_hosts) {
    std::string n = Lower(Trim(h));
    if (n == "*") return HostPolicy{};
    if (!n.empty() && n.back() == '.') n.pop_back();
    if (!n.empty()) p.names.push_back(std::move(n));
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(std::string(bind_host), ec);
  bool loopback = !ec && addr.is_loopback();
  if (!loopback && p.names.empty()) return HostPolicy{};
  p.any = false;
  p.ip_literals = !loopback;
  return p;
}

Status CheckHost(std::string_view host_header, const HostPolicy& policy) {
  if (policy.any || host_header.empty()) return Status::Ok();
  std::string host, port;
  if (!SplitAuthority(host_header, &host, &port)) {
    return InvalidArgument("Invalid Host header " + Quote(host_header) + ".");
  }
  if (host.size() > 1 && host.back() == '.') host.pop_back();
  if (IsLoopback(host) || NameListed(host, policy.names) || (policy.ip_literals && IpLiteral(host))) {
    return Status::Ok();
  }
  return Denied("Host " + Quote(host) +
                " is not a name this server answers to (DNS rebinding protection); add it with "
                "--allowed-hosts.");
}

Status CheckOrigin(std::string_view origin, std::string_view host_header) {
  std::string_view rest = origin;
  std::string scheme;
  size_t sep = rest.find("://");
  if (sep != std::string_view::npos) {
    scheme = Lower(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  }
  std::string ohost, oport, hhost, hport;
  if ((scheme == "http" || scheme == "https") && SplitAuthority(rest, &ohost, &oport) &&
      SplitAuthority(host_header, &hhost, &hport)) {
    const char* def = scheme == "https" ? "443" : "80";
    if (oport.empty()) oport = def;
    if (hport.empty()) hport = def;
    if (ohost == hhost && oport == hport) return Status::Ok();
  }
  return Denied("Cross-origin request refused: Origin " + Quote(origin) +
                " is not this server's own origin; call the API from a server or a command line, not "
                "from a web page.");
}

Status CheckContentType(std::string_view content_type, bool has_body) {
  if (!has_body) return Status::Ok();
  std::string media = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (media == "text/plain" || media == "application/x-www-form-urlencoded" || media == "multipart/form-data") {
    return InvalidArgument("Content-Type " + Quote(media) +
                           " is not accepted for a JSON request body (browsers send it cross-origin); send "
                           "application/json.");
  }
  return Status::Ok();
}

Status CheckRequest(const http::Request& req, const RequestGuard& guard) {
  if (req.count(beast::http::field::host) > 1) return InvalidArgument("Multiple Host headers.");
  std::string_view host = Sv(req[beast::http::field::host]);
  STRATUS_RETURN_IF_ERROR(CheckHost(host, guard.hosts));
  auto origins = req.equal_range(beast::http::field::origin);
  for (auto it = origins.first; it != origins.second; ++it) {
    STRATUS_RETURN_IF_ERROR(CheckOrigin(Sv(it->value()), host));
  }
  if (guard.json_api) {
    STRATUS_RETURN_IF_ERROR(CheckContentType(Sv(req[beast::http::field::content_type]), !req.body().empty()));
  }
  return Status::Ok();
}

bool ScopeGrants(TokenScope scope, std::string_view permission) {
  if (permission == "*" || scope == TokenScope::kAdmin) return true;
  if (permission.empty()) return false;
  if (scope == TokenScope::kEnqueue) return permission == "cloudtasks.tasks.create";
  std::string_view verb = permission.substr(permission.rfind('.') + 1);
  return verb == "get" || verb == "list" || verb == "getIamPolicy";
}

bool IsAudited(std::string_view permission) {
  if (permission.empty() || permission == "*") return false;
  bool subject = permission.rfind("cloudtasks.queues.", 0) == 0 || permission.rfind("stratus.queueConfigs.", 0) == 0 ||
                 permission.rfind("stratus.deadLetters.", 0) == 0 || permission.rfind("cloudscheduler.jobs.", 0) == 0;
  return subject && !ScopeGrants(TokenScope::kReadOnly, permission);
}

http::ServerHooks CloudTasksHooks(AccessOptions options) {
  options.guard.json_api = true;
  auto state = std::make_shared<AccessState>();
  state->options = std::move(options);
  http::ServerHooks hooks;
  hooks.error = [](const http::Request& req, int status, std::string message) {
    return RpcErrorForHttpStatus(req, status, std::move(message));
  };
  hooks.authorize = [state](const http::RequestContext& ctx, http::Scope scope) {
    return Authorize(*state, ctx, scope);
  };
  if (state->options.audit) {
    hooks.observe = [state](const http::RequestContext& ctx, std::string_view route, int status, double) {
      Observe(*state, ctx, route, status);
    };
  }
  return hooks;
}

http::ServerHooks CloudTasksHooks(std::optional<std::string> api_token) {
  AccessOptions o;
  if (api_token) o.tokens.push_back(ApiToken{"api-token", TokenScope::kAdmin, std::move(*api_token), true, {}});
  return CloudTasksHooks(std::move(o));
}

http::ServerHooks GuardedHooks(http::ServerHooks inner, RequestGuard guard) {
  auto then = std::move(inner.authorize);
  auto error = inner.error;
  inner.authorize = [then = std::move(then), error, guard = std::move(guard)](
                        const http::RequestContext& ctx, http::Scope scope) -> std::optional<http::Response> {
    Status st = CheckRequest(ctx.request, guard);
    if (!st.ok()) return error(ctx.request, HttpStatusOf(st.code()), st.message());
    return then ? then(ctx, scope) : std::nullopt;
  };
  return inner;
}

}  // namespace stratus::api
