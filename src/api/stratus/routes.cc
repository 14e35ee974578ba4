#include "api/stratus/routes.h"

#include <set>

#include "api/rpc.h"
#include "common/base64.h"
#include "tasks/codec.h"

namespace stratus::api {
namespace {

using Reply = asio::awaitable<http::Response>;
using Verb = http::Verb;

std::string QueueName(const http::RequestContext& ctx) {
  return "projects/" + ctx.Param("project") + "/locations/" + ctx.Param("location") + "/queues/" + ctx.Param("queue");
}
std::string TaskName(const http::RequestContext& ctx) {
  return QueueName(ctx) + "/tasks/" + ctx.Param("task");
}

Json ConfigJson(const Queue& q) {
  return {{"permanentFailureStatuses", q.stratus.permanent_failure_statuses}};
}

// [404, "4xx", "!408"]: numbers, whole classes, and exclusions applied last.
StatusOr<QueueExtensions> ParseConfig(const std::string& body) {
  STRATUS_ASSIGN_OR_RETURN(auto j, ParseJsonBody(body));
  STRATUS_ASSIGN_OR_RETURN(auto obj, JsonObject::Of(j, "config"));
  STRATUS_RETURN_IF_ERROR(obj.CheckFields({"permanentFailureStatuses"}));
  QueueExtensions ext;
  const Json* list = obj.Raw("permanentFailureStatuses");
  if (!list) return ext;
  if (!list->is_array()) return InvalidArgument("permanentFailureStatuses must be a list of statuses.");
  std::set<int> codes, excluded;
  for (const auto& v : *list) {
    if (v.is_number_integer()) {
      codes.insert(v.get<int>());
    } else if (v.is_string() && v.get<std::string>().size() == 3 && v.get<std::string>().substr(1) == "xx" &&
               v.get<std::string>()[0] >= '1' && v.get<std::string>()[0] <= '5') {
      int base = (v.get<std::string>()[0] - '0') * 100;
      for (int c = base; c < base + 100; ++c) codes.insert(c);
    } else if (v.is_string() && v.get<std::string>().size() == 4 && v.get<std::string>()[0] == '!') {
      try {
        excluded.insert(std::stoi(v.get<std::string>().substr(1)));
      } catch (...) {
        return InvalidArgument("permanentFailureStatuses: bad entry " + v.dump());
      }
    } else {
      return InvalidArgument("permanentFailureStatuses: bad entry " + v.dump() + " (use 404, \"4xx\" or \"!429\").");
    }
  }
  for (int c : codes) {
    if (!excluded.count(c)) ext.permanent_failure_statuses.push_back(c);
  }
  return ext;
}

Json DeadLetterJson(const DeadLetter& d, JsonStyle style) {
  Json headers = Json::object();
  for (const auto& [k, v] : d.response_headers) headers[k] = v;
  Json j = {{"task", TaskToJson(d.task, TaskView::kFull, style)},
            {"deadTime", FormatTimestamp(d.dead_time)},
            {"reason", d.reason},
            {"responseStatus", d.response_status},
            {"responseHeaders", headers}};
  if (!d.response_body.empty()) j["responseBody"] = Base64Encode(d.response_body);
  return j;
}

Reply GetConfig(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto q = co_await s.GetQueue(name);
  if (!q.ok()) co_return RpcError(ctx.request, q.status());
  co_return JsonReply(ctx.request, ConfigJson(*q));
}

Reply SetConfig(TasksService& s, http::RequestContext& ctx) {
  auto ext = ParseConfig(ctx.request.body());
  if (!ext.ok()) co_return RpcError(ctx.request, ext.status());
  std::string name = QueueName(ctx);
  auto q = co_await s.SetQueueExtensions(name, std::move(*ext));
  if (!q.ok()) co_return RpcError(ctx.request, q.status());
  co_return JsonReply(ctx.request, ConfigJson(*q));
}

Reply ListDead(TasksService& s, http::RequestContext& ctx) {
  int64_t size = 0;
  try {
    std::string v = ctx.Query("pageSize");
    size = v.empty() ? 0 : std::stoll(v);
  } catch (...) {
    co_return RpcError(ctx.request, InvalidArgument("pageSize must be a number."));
  }
  std::string name = QueueName(ctx);
  std::string token = ctx.Query("pageToken");
  auto page = co_await s.ListDeadLetters(name, size, token);
  if (!page.ok()) co_return RpcError(ctx.request, page.status());
  Json arr = Json::array();
  for (const auto& d : page->items) arr.push_back(DeadLetterJson(d, JsonStyle{}));
  Json out = {{"deadLetters", arr}};
  if (!page->next_cursor.empty()) out["nextPageToken"] = page->next_cursor;
  co_return JsonReply(ctx.request, out);
}

Reply GetDead(TasksService& s, http::RequestContext& ctx) {
  std::string name = TaskName(ctx);
  auto d = co_await s.GetDeadLetter(name);
  if (!d.ok()) co_return RpcError(ctx.request, d.status());
  co_return JsonReply(ctx.request, DeadLetterJson(*d, JsonStyle{}));
}

Reply RetryDead(TasksService& s, http::RequestContext& ctx) {
  std::string name = TaskName(ctx);
  auto t = co_await s.RetryDeadLetter(name);
  if (!t.ok()) co_return RpcError(ctx.request, t.status());
  co_return JsonReply(ctx.request, TaskToJson(*t, TaskView::kBasic, JsonStyle{}));
}

Reply DeleteDead(TasksService& s, http::RequestContext& ctx) {
  std::string name = TaskName(ctx);
  auto n = co_await s.DeleteDeadLetters(name);
  if (!n.ok()) co_return RpcError(ctx.request, n.status());
  co_return JsonReply(ctx.request, Json::object());
}

Reply RetryAllDead(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto n = co_await s.RetryAllDeadLetters(name);
  if (!n.ok()) co_return RpcError(ctx.request, n.status());
  co_return JsonReply(ctx.request, {{"retried", *n}});
}

Reply DeleteAllDead(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto n = co_await s.DeleteDeadLetters(name);
  if (!n.ok()) co_return RpcError(ctx.request, n.status());
  co_return JsonReply(ctx.request, {{"deleted", *n}});
}

struct Row {
  Verb verb;
  const char* path;
  const char* name;
  const char* permission;  // in the style of Google's IAM names (access.h maps them to token scopes)
  Reply (*fn)(TasksService&, http::RequestContext&);
};

constexpr char kQueue[] = "/stratus/v1/projects/{project}/locations/{location}/queues/{queue}";

// clang-format off
const Row kRows[] = {
  {Verb::get,    "/config",                          "stratus.config.get",             "stratus.queueConfigs.get",     GetConfig},
  {Verb::put,    "/config",                          "stratus.config.set",             "stratus.queueConfigs.update",  SetConfig},
  {Verb::patch,  "/config",                          "stratus.config.patch",           "stratus.queueConfigs.update",  SetConfig},
  {Verb::get,    "/deadLetters",                     "stratus.deadLetters.list",       "stratus.deadLetters.list",     ListDead},
  {Verb::delete_,"/deadLetters",                     "stratus.deadLetters.purge",      "stratus.deadLetters.delete",   DeleteAllDead},
  {Verb::post,   "/deadLetters:retryAll",            "stratus.deadLetters.retryAll",   "stratus.deadLetters.retry",    RetryAllDead},
  {Verb::get,    "/deadLetters/{task}",              "stratus.deadLetters.get",        "stratus.deadLetters.get",      GetDead},
  {Verb::delete_,"/deadLetters/{task}",              "stratus.deadLetters.delete",     "stratus.deadLetters.delete",   DeleteDead},
  {Verb::post,   "/deadLetters/{task}:retry",        "stratus.deadLetters.retry",      "stratus.deadLetters.retry",    RetryDead},
};
// clang-format on

}  // namespace

Status RegisterStratusRoutes(http::Router& router, TasksService& service) {
  for (const Row& row : kRows) {
    auto fn = row.fn;
    STRATUS_RETURN_IF_ERROR(router.Add(
        http::Route{row.verb, std::string(kQueue) + row.path, http::Scope::kApi, row.name,
                    [&service, fn](http::RequestContext& ctx) { return fn(service, ctx); }, row.permission}));
  }
  return Status::Ok();
}

Status RegisterOidcRoutes(http::Router& router, auth::OidcSigner& signer, const std::string& base_url) {
  std::string jwks_uri = base_url + "/.well-known/jwks.json";
  STRATUS_RETURN_IF_ERROR(
      router.Add(http::Route{Verb::get, "/.well-known/openid-configuration", http::Scope::kPublic, "oidc.discovery",
                             [&signer, jwks_uri](http::RequestContext& ctx) -> Reply {
                               co_return JsonReply(ctx.request, signer.Discovery(jwks_uri));
                             }}));
  return router.Add(
      http::Route{Verb::get, "/.well-known/jwks.json", http::Scope::kPublic, "oidc.jwks",
                  [&signer](http::RequestContext& ctx) -> Reply { co_return JsonReply(ctx.request, signer.Jwks()); }});
}

Status RegisterMetricsRoute(http::Router& router, Metrics& metrics) {
  return router.Add(http::Route{Verb::get, "/metrics", http::Scope::kApi, "admin.metrics",
                                [&metrics](http::RequestContext& ctx) -> Reply {
                                  co_return http::MakeResponse(ctx.request, beast::http::status::ok, metrics.Render(),
                                                               "text/plain; version=0.0.4");
                                },
                                "stratus.metrics.get"});
}

}  // namespace stratus::api
