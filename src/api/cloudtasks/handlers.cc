#include "api/cloudtasks/handlers.h"

#include <cctype>
#include <charconv>

#include "api/rpc.h"
#include "tasks/codec.h"

namespace stratus::api::cloudtasks {
namespace {

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
std::string QueueName(const http::RequestContext& ctx) {
  return LocationName(ctx) + "/queues/" + ctx.Param("queue");
}
std::string TaskName(const http::RequestContext& ctx) {
  return QueueName(ctx) + "/tasks/" + ctx.Param("task");
}

StatusOr<int64_t> QueryInt(const http::RequestContext& ctx, const std::string& key, std::string_view proto_name) {
  std::string v = ctx.Query(key);
  if (v.empty()) return int64_t{0};
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return InvalidArgument("Invalid value at '" + std::string(proto_name) + "' (TYPE_INT32), \"" + v + "\"");
  }
  return n;
}

StatusOr<TaskView> ParseView(const std::string& v) {
  if (v.empty() || v == "0" || v == "VIEW_UNSPECIFIED" || v == "1" || v == "BASIC") return TaskView::kBasic;
  if (v == "2" || v == "FULL") return TaskView::kFull;
  return InvalidArgument("Invalid value at 'response_view' (type.googleapis.com/google.cloud.tasks.v2.Task.View), \"" +
                         v + "\"");
}

// The view from a request body {"responseView": ...} (create, run).
StatusOr<TaskView> BodyView(const JsonObject& body) {
  const Json* v = body.Raw("responseView");
  if (!v) return TaskView::kBasic;
  if (v->is_number_integer()) return ParseView(std::to_string(v->get<int64_t>()));
  if (v->is_string()) return ParseView(v->get<std::string>());
  return ParseView(v->dump());
}

StatusOr<Json> BodyJson(const http::RequestContext& ctx) {
  return ParseJsonBody(ctx.request.body());
}

http::Response QueueReply(const http::RequestContext& ctx, const StatusOr<Queue>& q) {
  if (!q.ok()) return RpcError(ctx.request, q.status());
  return JsonReply(ctx.request, QueueToJson(*q, StyleOf(ctx)));
}

http::Response EmptyReply(const http::RequestContext& ctx, const Status& st) {
  if (!st.ok()) return RpcError(ctx.request, st);
  return JsonReply(ctx.request, Json::object());
}

// Reads a Queue message from the request body.
StatusOr<Queue> BodyQueue(const http::RequestContext& ctx) {
  STRATUS_ASSIGN_OR_RETURN(auto body, BodyJson(ctx));
  STRATUS_ASSIGN_OR_RETURN(auto obj, JsonObject::Root(body, "queue"));
  return QueueFromJson(obj);
}

// The body of tasks:buffer. A JSON request is Google's BufferTaskRequest
// ({"body": {"contentType", "data"}}); any other media type is taken as the payload itself,
// with the request's Content-Type (what a plain HTTP caller sends).
StatusOr<HttpBody> BufferBody(const http::RequestContext& ctx) {
  const auto header = ctx.request[beast::http::field::content_type];
  const std::string_view type(header.data(), header.size());
  std::string media(type.substr(0, type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (char& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!media.empty() && media != "application/json") {
    return HttpBody{std::string(type), ctx.request.body()};
  }
  STRATUS_ASSIGN_OR_RETURN(auto json, BodyJson(ctx));
  STRATUS_ASSIGN_OR_RETURN(auto req, JsonObject::Root(json, ""));
  STRATUS_RETURN_IF_ERROR(req.CheckFields({"body"}));
  STRATUS_ASSIGN_OR_RETURN(auto obj, req.GetObject("body"));
  HttpBody out;
  if (!obj) return out;
  STRATUS_RETURN_IF_ERROR(obj->CheckFields({"contentType", "data", "extensions"}));
  std::optional<std::string> content_type;
  std::optional<std::string> data;
  STRATUS_RETURN_IF_ERROR(obj->GetString("contentType", &content_type));
  STRATUS_RETURN_IF_ERROR(obj->GetBytes("data", &data));
  out.content_type = content_type.value_or("");
  out.data = data.value_or("");
  return out;
}

Reply WithQueueState(TasksService& s, http::RequestContext& ctx, QueueState state) {
  std::string name = QueueName(ctx);
  auto q = co_await s.SetQueueState(name, state);
  co_return QueueReply(ctx, q);
}

}  // namespace

Reply ListLocations(TasksService& s, http::RequestContext& ctx) {
  const std::string& project = ctx.Param("project");
  auto locations = co_await s.ListLocations(project);
  if (!locations.ok()) co_return RpcError(ctx.request, locations.status());
  Json arr = Json::array();
  for (const auto& l : *locations) {
    arr.push_back({{"name", l.name},
                   {"locationId", l.location_id},
                   {"labels", {{"cloud.googleapis.com/region", l.location_id}}}});
  }
  co_return JsonReply(ctx.request, {{"locations", arr}});
}

Reply GetLocation(TasksService& s, http::RequestContext& ctx) {
  const std::string& project = ctx.Param("project");
  const std::string& location = ctx.Param("location");
  auto l = co_await s.GetLocation(project, location);
  if (!l.ok()) co_return RpcError(ctx.request, l.status());
  co_return JsonReply(ctx.request, {{"name", l->name},
                                    {"locationId", l->location_id},
                                    {"labels", {{"cloud.googleapis.com/region", l->location_id}}}});
}

Reply ListQueues(TasksService& s, http::RequestContext& ctx) {
  auto size = QueryInt(ctx, "pageSize", "page_size");
  if (!size.ok()) co_return RpcError(ctx.request, size.status());
  std::string parent = LocationName(ctx);
  std::string filter = ctx.Query("filter");
  std::string token = ctx.Query("pageToken");
  auto list = co_await s.ListQueues(parent, filter, *size, token);
  if (!list.ok()) co_return RpcError(ctx.request, list.status());
  Json out = Json::object();
  if (!list->queues.empty()) {
    Json arr = Json::array();
    for (const auto& q : list->queues) arr.push_back(QueueToJson(q, StyleOf(ctx)));
    out["queues"] = std::move(arr);
  }
  if (!list->next_page_token.empty()) out["nextPageToken"] = list->next_page_token;
  co_return JsonReply(ctx.request, out);
}

Reply CreateQueue(TasksService& s, http::RequestContext& ctx) {
  auto q = BodyQueue(ctx);
  if (!q.ok()) co_return RpcError(ctx.request, q.status());
  std::string parent = LocationName(ctx);
  auto created = co_await s.CreateQueue(parent, std::move(*q));
  co_return QueueReply(ctx, created);
}

Reply GetQueue(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto q = co_await s.GetQueue(name);
  co_return QueueReply(ctx, q);
}

Reply PatchQueue(TasksService& s, http::RequestContext& ctx) {
  auto q = BodyQueue(ctx);
  if (!q.ok()) co_return RpcError(ctx.request, q.status());
  std::string name = QueueName(ctx);
  std::string mask = ctx.Query("updateMask");
  auto patched = co_await s.PatchQueue(name, std::move(*q), mask);
  co_return QueueReply(ctx, patched);
}

Reply DeleteQueue(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  Status st = co_await s.DeleteQueue(name);
  co_return EmptyReply(ctx, st);
}

Reply PurgeQueue(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto q = co_await s.PurgeQueue(name);
  co_return QueueReply(ctx, q);
}

Reply PauseQueue(TasksService& s, http::RequestContext& ctx) {
  return WithQueueState(s, ctx, QueueState::kPaused);
}
Reply ResumeQueue(TasksService& s, http::RequestContext& ctx) {
  return WithQueueState(s, ctx, QueueState::kRunning);
}

// stratus does not model IAM: access is the API token. getIamPolicy reports that anyone who
// reaches the API administers the queue; setIamPolicy is refused rather than silently dropped.
Reply GetIamPolicy(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto q = co_await s.GetQueue(name);
  if (!q.ok()) co_return RpcError(ctx.request, q.status());
  co_return JsonReply(ctx.request,
                      {{"version", 1},
                       {"etag", "BwAAAAAAAAA="},
                       {"bindings", Json::array({{{"role", "roles/cloudtasks.admin"}, {"members", {"allUsers"}}}})}});
}

Reply SetIamPolicy(TasksService&, http::RequestContext& ctx) {
  co_return RpcError(ctx.request,
                     Unimplemented("stratus does not manage IAM policies; protect the API with --api-token."));
}

Reply TestIamPermissions(TasksService& s, http::RequestContext& ctx) {
  std::string name = QueueName(ctx);
  auto q = co_await s.GetQueue(name);
  if (!q.ok()) co_return RpcError(ctx.request, q.status());
  auto body = BodyJson(ctx);
  if (!body.ok()) co_return RpcError(ctx.request, body.status());
  Json granted = Json::array();
  if (body->is_object() && body->contains("permissions") && (*body)["permissions"].is_array()) {
    for (const auto& p : (*body)["permissions"]) {
      if (p.is_string()) granted.push_back(p);
    }
  }
  Json out = Json::object();
  if (!granted.empty()) out["permissions"] = granted;
  co_return JsonReply(ctx.request, out);
}

Reply ListTasks(TasksService& s, http::RequestContext& ctx) {
  auto size = QueryInt(ctx, "pageSize", "page_size");
  if (!size.ok()) co_return RpcError(ctx.request, size.status());
  auto view = ParseView(ctx.Query("responseView"));
  if (!view.ok()) co_return RpcError(ctx.request, view.status());
  bool full = *view == TaskView::kFull;
  std::string parent = QueueName(ctx);
  std::string token = ctx.Query("pageToken");
  auto list = co_await s.ListTasks(parent, *size, token, full);
  if (!list.ok()) co_return RpcError(ctx.request, list.status());
  Json out = Json::object();
  if (!list->tasks.empty()) {
    Json arr = Json::array();
    for (const auto& t : list->tasks) arr.push_back(TaskToJson(t, *view, StyleOf(ctx)));
    out["tasks"] = std::move(arr);
  }
  if (!list->next_page_token.empty()) out["nextPageToken"] = list->next_page_token;
  co_return JsonReply(ctx.request, out);
}

Reply CreateTask(TasksService& s, http::RequestContext& ctx) {
  auto body = BodyJson(ctx);
  if (!body.ok()) co_return RpcError(ctx.request, body.status());
  auto req = JsonObject::Root(*body, "");
  if (!req.ok()) co_return RpcError(ctx.request, req.status());
  Status fields = req->CheckFields({"task", "responseView"});
  if (!fields.ok()) co_return RpcError(ctx.request, fields);
  auto view = BodyView(*req);
  if (!view.ok()) co_return RpcError(ctx.request, view.status());
  auto task_obj = req->GetObject("task");
  if (!task_obj.ok()) co_return RpcError(ctx.request, task_obj.status());
  if (!*task_obj) co_return RpcError(ctx.request, InvalidArgument("Task is required."));
  auto task = TaskFromJson(**task_obj);
  if (!task.ok()) co_return RpcError(ctx.request, task.status());
  std::string parent = QueueName(ctx);
  auto created = co_await s.CreateTask(parent, std::move(*task), ctx.act_as);
  if (!created.ok()) co_return RpcError(ctx.request, created.status());
  co_return JsonReply(ctx.request, TaskToJson(*created, *view, StyleOf(ctx)));
}

Reply GetTask(TasksService& s, http::RequestContext& ctx) {
  auto view = ParseView(ctx.Query("responseView"));
  if (!view.ok()) co_return RpcError(ctx.request, view.status());
  std::string name = TaskName(ctx);
  auto task = co_await s.GetTask(name);
  if (!task.ok()) co_return RpcError(ctx.request, task.status());
  co_return JsonReply(ctx.request, TaskToJson(*task, *view, StyleOf(ctx)));
}

Reply DeleteTask(TasksService& s, http::RequestContext& ctx) {
  std::string name = TaskName(ctx);
  Status st = co_await s.DeleteTask(name);
  co_return EmptyReply(ctx, st);
}

Reply RunTask(TasksService& s, http::RequestContext& ctx) {
  auto body = BodyJson(ctx);
  if (!body.ok()) co_return RpcError(ctx.request, body.status());
  auto req = JsonObject::Root(*body, "");
  if (!req.ok()) co_return RpcError(ctx.request, req.status());
  auto view = BodyView(*req);
  if (!view.ok()) co_return RpcError(ctx.request, view.status());
  std::string name = TaskName(ctx);
  auto task = co_await s.RunTask(name);
  if (!task.ok()) co_return RpcError(ctx.request, task.status());
  co_return JsonReply(ctx.request, TaskToJson(*task, *view, StyleOf(ctx)));
}

// tasks:buffer and tasks/{task}:buffer: the reply is BufferTaskResponse, {"task": Task} in
// the BASIC view.
Reply BufferTask(TasksService& s, http::RequestContext& ctx) {
  auto body = BufferBody(ctx);
  if (!body.ok()) co_return RpcError(ctx.request, body.status());
  std::string parent = QueueName(ctx);
  std::string id = ctx.Param("task");
  auto task = co_await s.BufferTask(parent, id, std::move(*body), ctx.act_as);
  if (!task.ok()) co_return RpcError(ctx.request, task.status());
  co_return JsonReply(ctx.request, {{"task", TaskToJson(*task, TaskView::kBasic, StyleOf(ctx))}});
}

}  // namespace stratus::api::cloudtasks
