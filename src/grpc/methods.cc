#include "grpc/methods.h"

#include "common/base64.h"
#include "grpc/convert.h"

namespace stratus::grpcapi {
namespace {

// REST routes guarantee a parent's shape; over gRPC it is a free string, checked here first.
Status CheckLocationName(const std::string& name, std::string* project, std::string* location) {
  // projects/{p}/locations/{l}
  constexpr std::string_view kProjects = "projects/";
  constexpr std::string_view kLocations = "/locations/";
  const size_t mid = name.find(kLocations);
  if (name.rfind(kProjects, 0) == 0 && mid != std::string::npos && mid > kProjects.size()) {
    *project = name.substr(kProjects.size(), mid - kProjects.size());
    *location = name.substr(mid + kLocations.size());
    if (project->find('/') == std::string::npos && !location->empty() && location->find('/') == std::string::npos) {
      return Status::Ok();
    }
  }
  return InvalidArgument("Location name must be formatted: \"projects/<PROJECT_ID>/locations/<LOCATION_ID>\".");
}

Status CheckProjectName(const std::string& name, std::string* project) {
  constexpr std::string_view kProjects = "projects/";
  if (name.rfind(kProjects, 0) == 0 && name.size() > kProjects.size() &&
      name.find('/', kProjects.size()) == std::string::npos) {
    *project = name.substr(kProjects.size());
    return Status::Ok();
  }
  return InvalidArgument("Project name must be formatted: \"projects/<PROJECT_ID>\".");
}

void LocationToProto(const Location& l, loc::Location* out) {
  out->set_name(l.name);
  out->set_location_id(l.location_id);
  (*out->mutable_labels())["cloud.googleapis.com/region"] = l.location_id;
}

// The handlers: coroutines on an event loop (bridge.h). Each takes its call by value and the
// messages by pointer (they belong to the call and outlive it).

asio::awaitable<Status> DoListLocations(Call c, const loc::ListLocationsRequest* req,
                                        loc::ListLocationsResponse* resp) {
  std::string project;
  STRATUS_RETURN_IF_ERROR_CO(CheckProjectName(req->name(), &project));
  STRATUS_ASSIGN_OR_RETURN_CO(auto list, co_await c.service->ListLocations(project));
  for (const auto& l : list) LocationToProto(l, resp->add_locations());
  co_return Status::Ok();
}

asio::awaitable<Status> DoGetLocation(Call c, const loc::GetLocationRequest* req, loc::Location* resp) {
  std::string project, location;
  STRATUS_RETURN_IF_ERROR_CO(CheckLocationName(req->name(), &project, &location));
  STRATUS_ASSIGN_OR_RETURN_CO(auto l, co_await c.service->GetLocation(project, location));
  LocationToProto(l, resp);
  co_return Status::Ok();
}

asio::awaitable<Status> DoListQueues(Call c, const pb::ListQueuesRequest* req, pb::ListQueuesResponse* resp) {
  std::string project, location;
  STRATUS_RETURN_IF_ERROR_CO(CheckLocationName(req->parent(), &project, &location));
  STRATUS_ASSIGN_OR_RETURN_CO(
      auto list, co_await c.service->ListQueues(req->parent(), req->filter(), req->page_size(), req->page_token()));
  for (const auto& q : list.queues) QueueToProto(q, resp->add_queues());
  resp->set_next_page_token(list.next_page_token);
  co_return Status::Ok();
}

Status QueueReply(const StatusOr<Queue>& q, pb::Queue* resp) {
  if (!q.ok()) return q.status();
  QueueToProto(*q, resp);
  return Status::Ok();
}

asio::awaitable<Status> DoGetQueue(Call c, const pb::GetQueueRequest* req, pb::Queue* resp) {
  auto q = co_await c.service->GetQueue(req->name());
  co_return QueueReply(q, resp);
}

asio::awaitable<Status> DoCreateQueue(Call c, const pb::CreateQueueRequest* req, pb::Queue* resp) {
  std::string project, location;
  STRATUS_RETURN_IF_ERROR_CO(CheckLocationName(req->parent(), &project, &location));
  STRATUS_ASSIGN_OR_RETURN_CO(auto queue, QueueFromProto(req->queue(), "queue"));
  auto q = co_await c.service->CreateQueue(req->parent(), std::move(queue));
  co_return QueueReply(q, resp);
}

// Every Queue field the v2 proto carries. The REST resource also has httpTarget, which no
// gRPC request can hold: an empty mask over gRPC leaves it as it is instead of clearing it.
constexpr char kProtoQueueFields[] = "rateLimits,retryConfig,stackdriverLoggingConfig,appEngineRoutingOverride";

asio::awaitable<Status> DoUpdateQueue(Call c, const pb::UpdateQueueRequest* req, pb::Queue* resp) {
  STRATUS_ASSIGN_OR_RETURN_CO(auto queue, QueueFromProto(req->queue(), "queue"));
  std::string mask = MaskToString(req->update_mask());
  if (mask.empty()) mask = kProtoQueueFields;
  std::string name = queue.name;
  auto q = co_await c.service->PatchQueue(name, std::move(queue), mask);
  co_return QueueReply(q, resp);
}

asio::awaitable<Status> DoDeleteQueue(Call c, const pb::DeleteQueueRequest* req, Empty*) {
  co_return co_await c.service->DeleteQueue(req->name());
}

asio::awaitable<Status> DoPurgeQueue(Call c, const pb::PurgeQueueRequest* req, pb::Queue* resp) {
  auto q = co_await c.service->PurgeQueue(req->name());
  co_return QueueReply(q, resp);
}

asio::awaitable<Status> DoPauseQueue(Call c, const pb::PauseQueueRequest* req, pb::Queue* resp) {
  auto q = co_await c.service->SetQueueState(req->name(), QueueState::kPaused);
  co_return QueueReply(q, resp);
}

asio::awaitable<Status> DoResumeQueue(Call c, const pb::ResumeQueueRequest* req, pb::Queue* resp) {
  auto q = co_await c.service->SetQueueState(req->name(), QueueState::kRunning);
  co_return QueueReply(q, resp);
}

// IAM as REST answers it (api/cloudtasks/handlers.cc): stratus does not model IAM, access is
// the API token; getIamPolicy reports that whoever reaches the API administers the queue.
asio::awaitable<Status> DoGetIamPolicy(Call c, const iam::GetIamPolicyRequest* req, iam::Policy* resp) {
  STRATUS_RETURN_IF_ERROR_CO((co_await c.service->GetQueue(req->resource())).status());
  resp->set_version(1);
  resp->set_etag(*Base64Decode("BwAAAAAAAAA="));
  auto* b = resp->add_bindings();
  b->set_role("roles/cloudtasks.admin");
  b->add_members("allUsers");
  co_return Status::Ok();
}

asio::awaitable<Status> DoSetIamPolicy(Call, const iam::SetIamPolicyRequest*, iam::Policy*) {
  co_return Unimplemented("stratus does not manage IAM policies; protect the API with --api-token.");
}

asio::awaitable<Status> DoTestIamPermissions(Call c, const iam::TestIamPermissionsRequest* req,
                                             iam::TestIamPermissionsResponse* resp) {
  STRATUS_RETURN_IF_ERROR_CO((co_await c.service->GetQueue(req->resource())).status());
  for (const std::string& p : req->permissions()) resp->add_permissions(p);
  co_return Status::Ok();
}

asio::awaitable<Status> DoListTasks(Call c, const pb::ListTasksRequest* req, pb::ListTasksResponse* resp) {
  STRATUS_ASSIGN_OR_RETURN_CO(auto view, ViewFromProto(req->response_view()));
  const bool full = view == TaskView::kFull;
  STRATUS_ASSIGN_OR_RETURN_CO(auto list,
                              co_await c.service->ListTasks(req->parent(), req->page_size(), req->page_token(), full));
  for (const auto& t : list.tasks) TaskToProto(t, view, resp->add_tasks());
  resp->set_next_page_token(list.next_page_token);
  co_return Status::Ok();
}

asio::awaitable<Status> DoGetTask(Call c, const pb::GetTaskRequest* req, pb::Task* resp) {
  STRATUS_ASSIGN_OR_RETURN_CO(auto view, ViewFromProto(req->response_view()));
  STRATUS_ASSIGN_OR_RETURN_CO(auto task, co_await c.service->GetTask(req->name()));
  TaskToProto(task, view, resp);
  co_return Status::Ok();
}

asio::awaitable<Status> DoCreateTask(Call c, const pb::CreateTaskRequest* req, pb::Task* resp) {
  STRATUS_ASSIGN_OR_RETURN_CO(auto view, ViewFromProto(req->response_view()));
  if (!req->has_task()) co_return InvalidArgument("Task is required.");
  STRATUS_ASSIGN_OR_RETURN_CO(auto task, TaskFromProto(req->task(), "task"));
  STRATUS_ASSIGN_OR_RETURN_CO(auto created, co_await c.service->CreateTask(req->parent(), std::move(task), c.act_as));
  TaskToProto(created, view, resp);
  co_return Status::Ok();
}

asio::awaitable<Status> DoDeleteTask(Call c, const pb::DeleteTaskRequest* req, Empty*) {
  co_return co_await c.service->DeleteTask(req->name());
}

asio::awaitable<Status> DoRunTask(Call c, const pb::RunTaskRequest* req, pb::Task* resp) {
  STRATUS_ASSIGN_OR_RETURN_CO(auto view, ViewFromProto(req->response_view()));
  STRATUS_ASSIGN_OR_RETURN_CO(auto task, co_await c.service->RunTask(req->name()));
  TaskToProto(task, view, resp);
  co_return Status::Ok();
}

// The service accounts a create names, checked against the token's actAs list before the
// call runs (as REST checks the body's).
std::vector<std::string> NamedAccounts(const pb::CreateTaskRequest& req) {
  std::vector<std::string> out;
  if (!req.task().has_http_request()) return out;
  const auto& h = req.task().http_request();
  if (h.has_oidc_token() && !h.oidc_token().service_account_email().empty()) {
    out.push_back(h.oidc_token().service_account_email());
  }
  if (h.has_oauth_token() && !h.oauth_token().service_account_email().empty()) {
    out.push_back(h.oauth_token().service_account_email());
  }
  return out;
}

}  // namespace

// The rows. `resource` is the field REST's route takes its name from; a create of a queue is
// refused naming its parent, as the REST route (POST .../queues) does.
// clang-format off
const Rpc<loc::ListLocationsRequest, loc::ListLocationsResponse> kListLocations{"ListLocations", "locations.list", "cloudtasks.locations.list", DoListLocations, [](const loc::ListLocationsRequest& r) -> const std::string& { return r.name(); }};
const Rpc<loc::GetLocationRequest, loc::Location> kGetLocation{"GetLocation", "locations.get", "cloudtasks.locations.get", DoGetLocation, [](const loc::GetLocationRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::ListQueuesRequest, pb::ListQueuesResponse> kListQueues{"ListQueues", "queues.list", "cloudtasks.queues.list", DoListQueues, [](const pb::ListQueuesRequest& r) -> const std::string& { return r.parent(); }};
const Rpc<pb::GetQueueRequest, pb::Queue> kGetQueue{"GetQueue", "queues.get", "cloudtasks.queues.get", DoGetQueue, [](const pb::GetQueueRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::CreateQueueRequest, pb::Queue> kCreateQueue{"CreateQueue", "queues.create", "cloudtasks.queues.create", DoCreateQueue, [](const pb::CreateQueueRequest& r) -> const std::string& { return r.queue().name(); }, [](const pb::CreateQueueRequest& r) -> const std::string& { return r.parent(); }};
const Rpc<pb::UpdateQueueRequest, pb::Queue> kUpdateQueue{"UpdateQueue", "queues.patch", "cloudtasks.queues.update", DoUpdateQueue, [](const pb::UpdateQueueRequest& r) -> const std::string& { return r.queue().name(); }};
const Rpc<pb::DeleteQueueRequest, Empty> kDeleteQueue{"DeleteQueue", "queues.delete", "cloudtasks.queues.delete", DoDeleteQueue, [](const pb::DeleteQueueRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::PurgeQueueRequest, pb::Queue> kPurgeQueue{"PurgeQueue", "queues.purge", "cloudtasks.queues.purge", DoPurgeQueue, [](const pb::PurgeQueueRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::PauseQueueRequest, pb::Queue> kPauseQueue{"PauseQueue", "queues.pause", "cloudtasks.queues.pause", DoPauseQueue, [](const pb::PauseQueueRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::ResumeQueueRequest, pb::Queue> kResumeQueue{"ResumeQueue", "queues.resume", "cloudtasks.queues.resume", DoResumeQueue, [](const pb::ResumeQueueRequest& r) -> const std::string& { return r.name(); }};
const Rpc<iam::GetIamPolicyRequest, iam::Policy> kGetIamPolicy{"GetIamPolicy", "queues.getIamPolicy", "cloudtasks.queues.getIamPolicy", DoGetIamPolicy, [](const iam::GetIamPolicyRequest& r) -> const std::string& { return r.resource(); }};
const Rpc<iam::SetIamPolicyRequest, iam::Policy> kSetIamPolicy{"SetIamPolicy", "queues.setIamPolicy", "cloudtasks.queues.setIamPolicy", DoSetIamPolicy, [](const iam::SetIamPolicyRequest& r) -> const std::string& { return r.resource(); }};
const Rpc<iam::TestIamPermissionsRequest, iam::TestIamPermissionsResponse> kTestIamPermissions{"TestIamPermissions", "queues.testIamPermissions", "*", DoTestIamPermissions, [](const iam::TestIamPermissionsRequest& r) -> const std::string& { return r.resource(); }};
const Rpc<pb::ListTasksRequest, pb::ListTasksResponse> kListTasks{"ListTasks", "tasks.list", "cloudtasks.tasks.list", DoListTasks, [](const pb::ListTasksRequest& r) -> const std::string& { return r.parent(); }};
const Rpc<pb::GetTaskRequest, pb::Task> kGetTask{"GetTask", "tasks.get", "cloudtasks.tasks.get", DoGetTask, [](const pb::GetTaskRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::CreateTaskRequest, pb::Task> kCreateTask{"CreateTask", "tasks.create", "cloudtasks.tasks.create", DoCreateTask, [](const pb::CreateTaskRequest& r) -> const std::string& { return r.parent(); }, nullptr, NamedAccounts};
const Rpc<pb::DeleteTaskRequest, Empty> kDeleteTask{"DeleteTask", "tasks.delete", "cloudtasks.tasks.delete", DoDeleteTask, [](const pb::DeleteTaskRequest& r) -> const std::string& { return r.name(); }};
const Rpc<pb::RunTaskRequest, pb::Task> kRunTask{"RunTask", "tasks.run", "cloudtasks.tasks.run", DoRunTask, [](const pb::RunTaskRequest& r) -> const std::string& { return r.name(); }};
// clang-format on

}  // namespace stratus::grpcapi
