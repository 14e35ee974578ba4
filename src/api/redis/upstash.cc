#include "api/redis/upstash.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "api/access.h"
#include "api/redis/encoding.h"
#include "kv/util.h"

namespace stratus::api::redis {
namespace {

namespace bh = beast::http;
enum class Access { kNone, kReadOnly, kFull };

std::string_view Sv(beast::string_view s) {
  return {s.data(), s.size()};
}

// The raw `_token` query parameter, decoded.
std::string QueryToken(const http::RequestContext& ctx) {
  auto it = ctx.query.find("_token");
  return it == ctx.query.end() ? std::string() : it->second;
}

Access Classify(const http::RequestContext& ctx, const UpstashTokens& tokens) {
  std::string_view auth = Sv(ctx.request[bh::field::authorization]);
  std::string presented;
  constexpr std::string_view kBearer = "bearer ";
  if (auth.size() > kBearer.size() && kv::IEquals(auth.substr(0, kBearer.size()), kBearer)) {
    presented = std::string(auth.substr(kBearer.size()));
  } else {
    presented = QueryToken(ctx);
  }
  if (SecretEquals(presented, tokens.token)) return Access::kFull;
  if (!tokens.readonly_token.empty() && SecretEquals(presented, tokens.readonly_token)) return Access::kReadOnly;
  return Access::kNone;
}

http::Response JsonResponse(const http::Request& req, int status, std::string body) {
  return http::MakeResponse(req, static_cast<bh::status>(status), std::move(body), "application/json");
}

http::Response ErrorResponse(const http::Request& req, int status, std::string_view message) {
  std::string body = "{\"error\":";
  AppendJsonString(message, &body);
  body += '}';
  return JsonResponse(req, status, std::move(body));
}

bool WantsBase64(const http::Request& req) {
  return kv::IEquals(Sv(req["upstash-encoding"]), "base64");
}
bool WantsResp(const http::Request& req) {
  return kv::IEquals(Sv(req["upstash-response-format"]), "resp2");
}

// What Upstash's REST API refuses whatever the backend: blocking commands, and the BLOCK
// option of XREAD/XREADGROUP (their non-blocking forms run). nullopt: the command may run.
std::optional<kv::Reply> RestRefusal(const kv::Argv& argv) {
  // Every name refused here has 5 to 10 letters: the usual commands skip the lowercasing.
  if (argv.empty() || argv[0].size() < 5 || argv[0].size() > 10) return std::nullopt;
  std::string lower = kv::ToLower(argv[0]);
  static const std::vector<std::string_view> kBlocking = {"blpop",  "brpop",    "blmove",   "brpoplpush",
                                                          "blmpop", "bzpopmin", "bzpopmax", "bzmpop"};
  for (auto b : kBlocking) {
    if (lower == b) return kv::Reply::Error("ERR the command '" + lower + "' is not supported over the REST API");
  }
  if (lower == "xread" || lower == "xreadgroup") {
    // Options come before STREAMS; after it everything is keys and ids.
    for (size_t i = 1; i < argv.size(); ++i) {
      if (kv::IEquals(argv[i], "streams")) break;
      if (kv::IEquals(argv[i], "block")) {
        return kv::Reply::Error("ERR the BLOCK option of '" + lower + "' is not supported over the REST API");
      }
    }
  }
  return std::nullopt;
}

// Runs what may run and splices the refusals in; a refusal inside /multi-exec refuses the
// whole transaction, as a queue-time error does.
asio::awaitable<StatusOr<kv::BatchResult>> RunChecked(kv::Backend& backend, std::vector<kv::Argv> commands,
                                                      kv::BatchMode mode, bool readonly) {
  std::vector<std::optional<kv::Reply>> refused(commands.size());
  bool any = false;
  for (size_t i = 0; i < commands.size(); ++i) {
    refused[i] = RestRefusal(commands[i]);
    any = any || refused[i].has_value();
  }
  if (!any) {
    auto all = co_await backend.Run(std::move(commands), mode, readonly);
    co_return all;
  }
  kv::BatchResult out;
  if (mode == kv::BatchMode::kMulti) {
    out.abort = kv::Reply::Error("EXECABORT Transaction discarded because of previous errors.");
    co_return out;
  }
  std::vector<kv::Argv> rest;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (!refused[i]) rest.push_back(std::move(commands[i]));
  }
  kv::BatchResult ran;
  if (!rest.empty()) {
    auto result = co_await backend.Run(std::move(rest), mode, readonly);
    if (!result.ok()) co_return result.status();
    ran = std::move(*result);
  }
  size_t next = 0;
  for (auto& r : refused) out.replies.push_back(r ? std::move(*r) : std::move(ran.replies.at(next++)));
  co_return out;
}

// One command's reply: 200 {"result":...} or 400 {"error":...}.
http::Response SingleReply(const http::Request& req, const kv::Reply& reply) {
  if (WantsResp(req)) {
    std::string body;
    kv::AppendResp(reply, &body);
    return http::MakeResponse(req, bh::status::ok, std::move(body), "application/octet-stream");
  }
  std::string body;
  AppendResultJson(reply, WantsBase64(req), &body);
  return JsonResponse(req, reply.is_error() ? 400 : 200, std::move(body));
}

asio::awaitable<http::Response> RunOne(kv::Backend& backend, const http::RequestContext& ctx, bool readonly,
                                       kv::Argv argv) {
  std::vector<kv::Argv> commands;
  commands.push_back(std::move(argv));
  auto result = co_await RunChecked(backend, std::move(commands), kv::BatchMode::kSingle, readonly);
  if (!result.ok()) co_return ErrorResponse(ctx.request, 503, result.status().message());
  co_return SingleReply(ctx.request, result->replies.at(0));
}

asio::awaitable<http::Response> HandleCommand(kv::Backend& backend, const UpstashTokens& tokens,
                                              http::RequestContext& ctx) {
  auto argv = ParseCommandJson(Sv(ctx.request.body()));
  if (!argv.ok()) co_return ErrorResponse(ctx.request, 400, argv.status().message());
  bool readonly = Classify(ctx, tokens) == Access::kReadOnly;
  kv::Argv a = std::move(*argv);
  http::Response res = co_await RunOne(backend, ctx, readonly, std::move(a));
  co_return res;
}

asio::awaitable<http::Response> HandleBatch(kv::Backend& backend, const UpstashTokens& tokens,
                                            http::RequestContext& ctx, kv::BatchMode mode) {
  auto commands = ParsePipelineJson(Sv(ctx.request.body()));
  if (!commands.ok()) co_return ErrorResponse(ctx.request, 400, commands.status().message());
  bool readonly = Classify(ctx, tokens) == Access::kReadOnly;
  std::vector<kv::Argv> cmds = std::move(*commands);
  auto result = co_await RunChecked(backend, std::move(cmds), mode, readonly);
  if (!result.ok()) co_return ErrorResponse(ctx.request, 503, result.status().message());
  if (result->abort) co_return ErrorResponse(ctx.request, 400, result->abort->str);
  bool base64 = WantsBase64(ctx.request);
  std::string body;
  body.reserve(16 * result->replies.size() + 2);
  body += '[';
  for (size_t i = 0; i < result->replies.size(); ++i) {
    if (i) body += ',';
    AppendResultJson(result->replies[i], base64, &body);
  }
  body += ']';
  co_return JsonResponse(ctx.request, 200, std::move(body));
}

// The path form: /set/k/v/EX/100?NX; a POST/PUT body is the value after the path arguments.
asio::awaitable<http::Response> HandlePath(kv::Backend& backend, const UpstashTokens& tokens,
                                           http::RequestContext& ctx) {
  kv::Argv argv;
  std::string_view rest = ctx.Param("rest");
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    argv.push_back(http::PercentDecode(rest.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // The body is the value after the path's arguments (POST /set/k with body v ?EX=100 is
  // SET k v EX 100); query arguments follow in the order sent (ctx.query is sorted), `_token` excluded.
  if (ctx.request.method() != bh::verb::get && !ctx.request.body().empty()) argv.push_back(ctx.request.body());
  std::string_view target = Sv(ctx.request.target());
  size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  for (auto& p : http::ParseQueryList(query)) {
    if (p.key == "_token") continue;
    argv.push_back(std::move(p.key));
    if (!p.value.empty()) argv.push_back(std::move(p.value));
  }
  if (argv.empty() || argv[0].empty()) co_return ErrorResponse(ctx.request, 400, "ERR empty command");
  bool readonly = Classify(ctx, tokens) == Access::kReadOnly;
  http::Response res = co_await RunOne(backend, ctx, readonly, std::move(argv));
  co_return res;
}

// The upstash-sync-token of every response: a number greater than any sent before, also
// across restarts (it starts from the wall clock in microseconds). One copy of the data means
// every request already sees every acknowledged write, so a token a request presents needs
// no wait: it is accepted whatever it holds (empty, from before a restart, malformed).
class SyncTokens {
 public:
  std::string Next() {
    uint64_t now = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    uint64_t last = last_.load(std::memory_order_relaxed);
    uint64_t next;
    do {
      next = std::max(now, last + 1);
    } while (!last_.compare_exchange_weak(last, next, std::memory_order_relaxed));
    return std::to_string(next);
  }

 private:
  std::atomic<uint64_t> last_{0};
};

asio::awaitable<http::Response> Synced(std::shared_ptr<SyncTokens> tokens, asio::awaitable<http::Response> inner) {
  http::Response res = co_await std::move(inner);
  res.set("upstash-sync-token", tokens->Next());
  co_return res;
}

template <class F>
http::Handler WithSyncToken(std::shared_ptr<SyncTokens> tokens, F f) {
  return [tokens = std::move(tokens), f = std::move(f)](http::RequestContext& ctx) { return Synced(tokens, f(ctx)); };
}

}  // namespace

http::ServerHooks UpstashHooks(UpstashTokens tokens) {
  http::ServerHooks hooks;
  hooks.error = [](const http::Request& req, int status, std::string message) {
    if (status == 405) message = "ERR method " + std::string(Sv(req.method_string())) + " is not allowed";
    if (status == 413) message = "ERR max request size exceeded. " + message;
    if (message.rfind("ERR ", 0) != 0) message = "ERR " + message;
    return ErrorResponse(req, status, message);
  };
  hooks.authorize = [tokens = std::move(tokens)](const http::RequestContext& ctx,
                                                 http::Scope scope) -> std::optional<http::Response> {
    if (scope == http::Scope::kPublic || Classify(ctx, tokens) != Access::kNone) return std::nullopt;
    return ErrorResponse(ctx.request, 401, "WRONGPASS invalid or missing auth token");
  };
  return hooks;
}

Status RegisterUpstashRoutes(http::Router& router, kv::Backend& backend, const UpstashTokens& tokens) {
  auto command = [&backend, tokens](http::RequestContext& ctx) { return HandleCommand(backend, tokens, ctx); };
  auto pipeline = [&backend, tokens](http::RequestContext& ctx) {
    return HandleBatch(backend, tokens, ctx, kv::BatchMode::kPipeline);
  };
  auto multi = [&backend, tokens](http::RequestContext& ctx) {
    return HandleBatch(backend, tokens, ctx, kv::BatchMode::kMulti);
  };
  auto path = [&backend, tokens](http::RequestContext& ctx) { return HandlePath(backend, tokens, ctx); };
  auto sync = std::make_shared<SyncTokens>();
  using http::Scope;
  using V = http::Verb;
  for (V verb : {V::post, V::put}) {
    STRATUS_RETURN_IF_ERROR(router.Add({verb, "/", Scope::kApi, "redis.command", WithSyncToken(sync, command)}));
    STRATUS_RETURN_IF_ERROR(
        router.Add({verb, "/pipeline", Scope::kApi, "redis.pipeline", WithSyncToken(sync, pipeline)}));
    STRATUS_RETURN_IF_ERROR(
        router.Add({verb, "/multi-exec", Scope::kApi, "redis.multi_exec", WithSyncToken(sync, multi)}));
  }
  for (V verb : {V::get, V::post, V::put}) {
    STRATUS_RETURN_IF_ERROR(router.Add({verb, "/{rest=**}", Scope::kApi, "redis.path", WithSyncToken(sync, path)}));
  }
  return Status::Ok();
}

}  // namespace stratus::api::redis
