#include "api/redis/upstash.h"

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
  auto result = co_await backend.Run(std::move(commands), kv::BatchMode::kSingle, readonly);
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
  auto result = co_await backend.Run(std::move(cmds), mode, readonly);
  if (!result.ok()) co_return ErrorResponse(ctx.request, 503, result.status().message());
  if (result->abort) co_return ErrorResponse(ctx.request, 400, result->abort->str);
  bool base64 = WantsBase64(ctx.request);
  std::string body = "[";
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
  using http::Scope;
  using V = http::Verb;
  for (V verb : {V::post, V::put}) {
    STRATUS_RETURN_IF_ERROR(router.Add({verb, "/", Scope::kApi, "redis.command", command}));
    STRATUS_RETURN_IF_ERROR(router.Add({verb, "/pipeline", Scope::kApi, "redis.pipeline", pipeline}));
    STRATUS_RETURN_IF_ERROR(router.Add({verb, "/multi-exec", Scope::kApi, "redis.multi_exec", multi}));
  }
  for (V verb : {V::get, V::post, V::put}) {
    STRATUS_RETURN_IF_ERROR(router.Add({verb, "/{rest=**}", Scope::kApi, "redis.path", path}));
  }
  return Status::Ok();
}

}  // namespace stratus::api::redis
