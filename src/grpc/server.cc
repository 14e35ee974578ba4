#include "grpc/server.h"

#include <fstream>
#include <sstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "api/audit.h"
#include "common/base64.h"
#include "google/cloud/location/locations.grpc.pb.h"
#include "google/cloud/tasks/v2/cloudtasks.grpc.pb.h"
#include "grpc/bridge.h"
#include "grpc/convert.h"

namespace stratus::grpcapi {
namespace {

namespace iam = ::google::iam::v1;
namespace loc = ::google::cloud::location;
using ::google::protobuf::Empty;
using Reactor = grpc::ServerUnaryReactor;
using Ctx = grpc::CallbackServerContext;

// One row per RPC: the REST method it mirrors (for audit lines) and the IAM permission its
// REST route checks (api/cloudtasks/routes.cc), so a scoped token grants the same calls on
// both transports.
struct Method {
  const char* rest_name;
  const char* permission;
};

// clang-format off
constexpr Method kListLocations     {"locations.list",            "cloudtasks.locations.list"};
constexpr Method kGetLocation       {"locations.get",             "cloudtasks.locations.get"};
constexpr Method kListQueues        {"queues.list",               "cloudtasks.queues.list"};
constexpr Method kGetQueue          {"queues.get",                "cloudtasks.queues.get"};
constexpr Method kCreateQueue       {"queues.create",             "cloudtasks.queues.create"};
constexpr Method kUpdateQueue       {"queues.patch",              "cloudtasks.queues.update"};
constexpr Method kDeleteQueue       {"queues.delete",             "cloudtasks.queues.delete"};
constexpr Method kPurgeQueue        {"queues.purge",              "cloudtasks.queues.purge"};
constexpr Method kPauseQueue        {"queues.pause",              "cloudtasks.queues.pause"};
constexpr Method kResumeQueue       {"queues.resume",             "cloudtasks.queues.resume"};
constexpr Method kGetIamPolicy      {"queues.getIamPolicy",       "cloudtasks.queues.getIamPolicy"};
constexpr Method kSetIamPolicy      {"queues.setIamPolicy",       "cloudtasks.queues.setIamPolicy"};
constexpr Method kTestIamPermissions{"queues.testIamPermissions", "*"};
constexpr Method kListTasks         {"tasks.list",                "cloudtasks.tasks.list"};
constexpr Method kGetTask           {"tasks.get",                 "cloudtasks.tasks.get"};
constexpr Method kCreateTask        {"tasks.create",              "cloudtasks.tasks.create"};
constexpr Method kDeleteTask        {"tasks.delete",              "cloudtasks.tasks.delete"};
constexpr Method kRunTask           {"tasks.run",                 "cloudtasks.tasks.run"};
// clang-format on

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

std::string_view Metadata(const Ctx* ctx, const char* key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return {};
  return {it->second.data(), it->second.size()};
}

// "ipv4:127.0.0.1:5000" -> "127.0.0.1:5000", as the REST audit lines name the peer.
std::string Peer(const Ctx* ctx) {
  std::string p = ctx->peer();
  for (std::string_view prefix : {"ipv4:", "ipv6:"}) {
    if (p.rfind(prefix, 0) == 0) return p.substr(prefix.size());
  }
  return p;
}

// What a handler gets besides its messages: the service, and the actAs check of the token
// that called (empty: any account).
struct Call {
  TasksService* service;
  std::function<Status(const std::string&)> act_as;
};

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

// What both services share: credentials, the loops, the audit log.
class Dispatch {
 public:
  Dispatch(TasksService& service, http::EventLoops& loops, const GrpcServerOptions& options)
      : service_(service), loops_(loops), options_(options) {}

  // Authorizes the call, then runs `handler(call, req, resp)` on a loop (bridge.h).
  template <typename Req, typename Resp>
  Reactor* Serve(Ctx* ctx, const Method& m, const std::string& resource, std::vector<std::string> accounts,
                 asio::awaitable<Status> (*handler)(Call, const Req*, Resp*), const Req* req, Resp* resp) {
    Reactor* reactor = ctx->DefaultReactor();
    const api::ApiToken* token = nullptr;
    api::CallCredentials creds{Metadata(ctx, "authorization"), Metadata(ctx, "x-goog-api-key"), m.permission, resource,
                               std::move(accounts)};
    Status auth = api::AuthorizeCall(options_.tokens, creds, &token);
    std::string principal = token ? token->name : "anonymous";
    if (!auth.ok()) {
      Audit(m, ctx, principal, resource, auth);
      reactor->Finish(ToGrpc(auth));
      return reactor;
    }
    Call call{&service_, api::ActAsCheck(token)};
    RunOnLoop(loops_.Next(), reactor, handler(std::move(call), req, resp),
              [this, &m, peer = Peer(ctx), principal, resource](const Status& st) {
                Audit(m, peer, principal, resource, st);
              });
    return reactor;
  }

 private:
  void Audit(const Method& m, const Ctx* ctx, const std::string& principal, const std::string& resource,
             const Status& st) {
    Audit(m, Peer(ctx), principal, resource, st);
  }
  void Audit(const Method& m, const std::string& peer, const std::string& principal, const std::string& resource,
             const Status& st) {
    if (!options_.audit || !api::IsAudited(m.permission)) return;
    api::AuditEntry e;
    e.principal = principal;
    e.remote = peer;
    e.method = m.rest_name;
    e.verb = "POST";  // every gRPC call is an HTTP/2 POST
    e.resource = resource;
    e.status = HttpStatusOf(st.code());
    options_.audit->Write(e);
  }

  TasksService& service_;
  http::EventLoops& loops_;
  const GrpcServerOptions& options_;
};

class CloudTasksImpl final : public pb::CloudTasks::CallbackService {
 public:
  explicit CloudTasksImpl(Dispatch& d) : d_(d) {}

  // clang-format off
  Reactor* ListQueues(Ctx* c, const pb::ListQueuesRequest* q, pb::ListQueuesResponse* r) override { return d_.Serve(c, kListQueues, q->parent(), {}, DoListQueues, q, r); }
  Reactor* GetQueue(Ctx* c, const pb::GetQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kGetQueue, q->name(), {}, DoGetQueue, q, r); }
  Reactor* CreateQueue(Ctx* c, const pb::CreateQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kCreateQueue, q->queue().name(), {}, DoCreateQueue, q, r); }
  Reactor* UpdateQueue(Ctx* c, const pb::UpdateQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kUpdateQueue, q->queue().name(), {}, DoUpdateQueue, q, r); }
  Reactor* DeleteQueue(Ctx* c, const pb::DeleteQueueRequest* q, Empty* r) override { return d_.Serve(c, kDeleteQueue, q->name(), {}, DoDeleteQueue, q, r); }
  Reactor* PurgeQueue(Ctx* c, const pb::PurgeQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kPurgeQueue, q->name(), {}, DoPurgeQueue, q, r); }
  Reactor* PauseQueue(Ctx* c, const pb::PauseQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kPauseQueue, q->name(), {}, DoPauseQueue, q, r); }
  Reactor* ResumeQueue(Ctx* c, const pb::ResumeQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kResumeQueue, q->name(), {}, DoResumeQueue, q, r); }
  Reactor* GetIamPolicy(Ctx* c, const iam::GetIamPolicyRequest* q, iam::Policy* r) override { return d_.Serve(c, kGetIamPolicy, q->resource(), {}, DoGetIamPolicy, q, r); }
  Reactor* SetIamPolicy(Ctx* c, const iam::SetIamPolicyRequest* q, iam::Policy* r) override { return d_.Serve(c, kSetIamPolicy, q->resource(), {}, DoSetIamPolicy, q, r); }
  Reactor* TestIamPermissions(Ctx* c, const iam::TestIamPermissionsRequest* q, iam::TestIamPermissionsResponse* r) override { return d_.Serve(c, kTestIamPermissions, q->resource(), {}, DoTestIamPermissions, q, r); }
  Reactor* ListTasks(Ctx* c, const pb::ListTasksRequest* q, pb::ListTasksResponse* r) override { return d_.Serve(c, kListTasks, q->parent(), {}, DoListTasks, q, r); }
  Reactor* GetTask(Ctx* c, const pb::GetTaskRequest* q, pb::Task* r) override { return d_.Serve(c, kGetTask, q->name(), {}, DoGetTask, q, r); }
  Reactor* CreateTask(Ctx* c, const pb::CreateTaskRequest* q, pb::Task* r) override { return d_.Serve(c, kCreateTask, q->parent(), NamedAccounts(*q), DoCreateTask, q, r); }
  Reactor* DeleteTask(Ctx* c, const pb::DeleteTaskRequest* q, Empty* r) override { return d_.Serve(c, kDeleteTask, q->name(), {}, DoDeleteTask, q, r); }
  Reactor* RunTask(Ctx* c, const pb::RunTaskRequest* q, pb::Task* r) override { return d_.Serve(c, kRunTask, q->name(), {}, DoRunTask, q, r); }
  // clang-format on

 private:
  Dispatch& d_;
};

class LocationsImpl final : public loc::Locations::CallbackService {
 public:
  explicit LocationsImpl(Dispatch& d) : d_(d) {}

  // clang-format off
  Reactor* ListLocations(Ctx* c, const loc::ListLocationsRequest* q, loc::ListLocationsResponse* r) override { return d_.Serve(c, kListLocations, q->name(), {}, DoListLocations, q, r); }
  Reactor* GetLocation(Ctx* c, const loc::GetLocationRequest* q, loc::Location* r) override { return d_.Serve(c, kGetLocation, q->name(), {}, DoGetLocation, q, r); }
  // clang-format on

 private:
  Dispatch& d_;
};

StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  if (!in || s.str().empty()) return InvalidArgument(std::string("cannot read ") + flag + " " + path);
  return s.str();
}

// "[::1]" for IPv6 literals, as URLs and gRPC targets write them.
std::string HostForAddress(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host.empty() ? "0.0.0.0" : host;
}

constexpr const char* kServiceNames[] = {"google.cloud.tasks.v2.CloudTasks", "google.cloud.location.Locations"};

}  // namespace

struct GrpcServer::Impl {
  Impl(TasksService& service, http::EventLoops& loops, GrpcServerOptions o)
      : options(std::move(o)), dispatch(service, loops, options), tasks(dispatch), locations(dispatch) {}
  GrpcServerOptions options;
  Dispatch dispatch;
  CloudTasksImpl tasks;
  LocationsImpl locations;
  std::unique_ptr<grpc::Server> server;  // last: destroyed first
};

GrpcServer::GrpcServer(TasksService& service, http::EventLoops& loops, GrpcServerOptions options)
    : impl_(std::make_unique<Impl>(service, loops, std::move(options))) {}

GrpcServer::~GrpcServer() {
  Stop();
}

Status GrpcServer::Start() {
  const GrpcServerOptions& o = impl_->options;
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together: give both or neither");
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!o.tls_cert.empty()) {
    STRATUS_ASSIGN_OR_RETURN(auto cert, ReadFile(o.tls_cert, "--tls-cert"));
    STRATUS_ASSIGN_OR_RETURN(auto key, ReadFile(o.tls_key, "--tls-key"));
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    creds = grpc::SslServerCredentials(ssl);
    tls_ = true;
  }
  // Both are process-wide switches read when a builder is made; setting them again is harmless.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  host_ = HostForAddress(o.host);
  const std::string address = host_ + ":" + std::to_string(o.port);
  grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(address, creds, &selected);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(o.max_message_bytes, INT32_MAX)));
  builder.RegisterService(&impl_->tasks);
  builder.RegisterService(&impl_->locations);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || selected == 0) {
    impl_->server.reset();
    return Unavailable("cannot listen on " + address + " (in use, or not an address of this host)");
  }
  port_ = static_cast<uint16_t>(selected);
  if (auto* health = impl_->server->GetHealthCheckService()) {
    for (const char* name : kServiceNames) health->SetServingStatus(name, true);
  }
  return Status::Ok();
}

void GrpcServer::Stop() {
  if (!impl_ || !impl_->server) return;
  if (auto* health = impl_->server->GetHealthCheckService()) health->Shutdown();
  impl_->server->Shutdown(std::chrono::system_clock::now() + impl_->options.drain);
  impl_->server->Wait();
  impl_->server.reset();
}

std::string GrpcServer::url() const {
  return std::string(tls_ ? "https://" : "http://") + target();
}

std::string GrpcServer::target() const {
  return host_ + ":" + std::to_string(port_);
}

}  // namespace stratus::grpcapi
