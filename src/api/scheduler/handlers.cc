#include "api/scheduler/handlers.h"

#include <charconv>

#include "api/rpc.h"
#include "scheduler/codec.h"
#include "scheduler/messages.h"

namespace stratus::api::scheduler {
namespace {

using stratus::scheduler::Job;
using stratus::scheduler::JobFromJson;
using stratus::scheduler::JobInput;
using stratus::scheduler::JobToJson;

// Google's REST clients append `$alt=json;enum-encoding=int` and then expect enums as numbers.
JsonStyle StyleOf(const http::RequestContext& ctx) {
  for (const char* key : {"$alt", "alt"}) {
    if (ctx.Query(key).find("enum-encoding=int") != std::string::npos) return JsonStyle{true};
  }
  return JsonStyle{false};
}

std::string LocationName(const http::RequestContext& ctx) {
  return "projects/" + ctx.Param("project") + "/locations/" + ctx.Param("location");
}
std::string JobName(const http::RequestContext& ctx) {
  return LocationName(ctx) + "/jobs/" + ctx.Param("job");
}

StatusOr<int64_t> QueryInt32(const http::RequestContext& ctx, const std::string& key, std::string_view proto_name) {
  std::string v = ctx.Query(key);
  if (v.empty()) return int64_t{0};
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < INT32_MIN || n > INT32_MAX) {
    return InvalidArgument("Invalid value at '" + std::string(proto_name) + "' (TYPE_INT32), \"" + v + "\"");
  }
  return n;
}

http::Response JobReply(const http::RequestContext& ctx, const StatusOr<Job>& job) {
  if (!job.ok()) return RpcError(ctx.request, job.status());
  return JsonReply(ctx.request, JobToJson(*job, StyleOf(ctx)));
}

// The Job message of a create or patch body (`body: "job"`).
StatusOr<JobInput> BodyJob(const http::RequestContext& ctx) {
  STRATUS_ASSIGN_OR_RETURN(Json body, ParseJsonBody(ctx.request.body()));
  STRATUS_ASSIGN_OR_RETURN(auto obj, JsonObject::Root(body, "job"));
  return JobFromJson(obj);
}

// :pause, :resume and :run take a request message whose only field, name, is in the URL.
Status CheckEmptyBody(const http::RequestContext& ctx) {
  STRATUS_ASSIGN_OR_RETURN(Json body, ParseJsonBody(ctx.request.body()));
  STRATUS_ASSIGN_OR_RETURN(auto obj, JsonObject::Root(body, ""));
  return obj.CheckFields({"name"});
}

template <typename Method>
Reply ByName(Service& s, http::RequestContext& ctx, Method method) {
  Status body = CheckEmptyBody(ctx);
  if (!body.ok()) co_return RpcError(ctx.request, body);
  std::string name = JobName(ctx);
  auto job = co_await (s.*method)(name);
  co_return JobReply(ctx, job);
}

}  // namespace

Reply ListJobs(Service& s, http::RequestContext& ctx) {
  auto size = QueryInt32(ctx, "pageSize", "page_size");
  if (!size.ok()) co_return RpcError(ctx.request, size.status());
  std::string parent = LocationName(ctx);
  std::string token = ctx.Query("pageToken");
  auto list = co_await s.ListJobs(parent, *size, token);
  if (!list.ok()) co_return RpcError(ctx.request, list.status());
  Json out = Json::object();
  if (!list->jobs.empty()) {
    Json arr = Json::array();
    for (const auto& j : list->jobs) arr.push_back(JobToJson(j, StyleOf(ctx)));
    out["jobs"] = std::move(arr);
  }
  if (!list->next_page_token.empty()) out["nextPageToken"] = list->next_page_token;
  co_return JsonReply(ctx.request, out);
}

Reply CreateJob(Service& s, http::RequestContext& ctx) {
  if (ctx.request.body().empty()) {
    co_return RpcError(ctx.request, InvalidArgument(stratus::scheduler::msg::kJobRequired));
  }
  auto in = BodyJob(ctx);
  if (!in.ok()) co_return RpcError(ctx.request, in.status());
  std::string parent = LocationName(ctx);
  auto created = co_await s.CreateJob(parent, std::move(in->job), ctx.act_as);
  co_return JobReply(ctx, created);
}

Reply GetJob(Service& s, http::RequestContext& ctx) {
  std::string name = JobName(ctx);
  auto job = co_await s.GetJob(name);
  co_return JobReply(ctx, job);
}

Reply PatchJob(Service& s, http::RequestContext& ctx) {
  auto in = BodyJob(ctx);
  if (!in.ok()) co_return RpcError(ctx.request, in.status());
  std::string name = JobName(ctx);
  std::string mask = ctx.Query("updateMask");
  auto updated = co_await s.UpdateJob(name, std::move(*in), mask, ctx.act_as);
  co_return JobReply(ctx, updated);
}

Reply DeleteJob(Service& s, http::RequestContext& ctx) {
  std::string name = JobName(ctx);
  Status st = co_await s.DeleteJob(name);
  if (!st.ok()) co_return RpcError(ctx.request, st);
  co_return JsonReply(ctx.request, Json::object());
}

Reply PauseJob(Service& s, http::RequestContext& ctx) {
  return ByName(s, ctx, &Service::PauseJob);
}
Reply ResumeJob(Service& s, http::RequestContext& ctx) {
  return ByName(s, ctx, &Service::ResumeJob);
}
Reply RunJob(Service& s, http::RequestContext& ctx) {
  return ByName(s, ctx, &Service::RunJob);
}

}  // namespace stratus::api::scheduler
