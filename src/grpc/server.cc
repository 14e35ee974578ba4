#include "grpc/server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "api/audit.h"
#include "api/request_metrics.h"
#include "google/cloud/location/locations.grpc.pb.h"
#include "google/cloud/tasks/v2/cloudtasks.grpc.pb.h"
#include "grpc/bridge.h"
#include "grpc/methods.h"
#include "grpc/tls.h"

namespace stratus::grpcapi {
namespace {

using Reactor = grpc::ServerUnaryReactor;
using Ctx = grpc::CallbackServerContext;

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

// What both services share: credentials, the loops, the audit log.
class Dispatch {
 public:
  Dispatch(TasksService& service, http::EventLoops& loops, const GrpcServerOptions& options)
      : service_(service), loops_(loops), options_(options) {}

  // Authorizes the call, then runs the row's handler on a loop (bridge.h). The row's
  // resource is what the call acts on (audit lines); a refusal names the resource REST's
  // route names: a task's queue, a create's `parent`.
  template <typename Req, typename Resp>
  Reactor* Serve(Ctx* ctx, const Rpc<Req, Resp>& m, const Req* req, Resp* resp) {
    const auto started = std::chrono::steady_clock::now();
    Reactor* reactor = ctx->DefaultReactor();
    const api::ApiToken* token = nullptr;
    const std::string& resource = m.resource(*req);
    const std::string queue = QueueOfTask(resource);
    const std::string& denied_resource =
        m.refused_resource ? m.refused_resource(*req) : (queue.empty() ? resource : queue);
    api::CallCredentials creds{Metadata(ctx, "authorization"), Metadata(ctx, "x-goog-api-key"), m.permission,
                               denied_resource, m.accounts ? m.accounts(*req) : std::vector<std::string>{}};
    Status auth = api::AuthorizeCall(options_.tokens, creds, &token);
    std::string principal = token ? token->name : "anonymous";
    if (!auth.ok()) {
      Audit(m.rest_name, m.permission, Peer(ctx), principal, resource, auth);
      Observe(m.name, resource, auth, started);
      reactor->Finish(ToGrpc(auth));
      return reactor;
    }
    Call call{&service_, api::ActAsCheck(token)};
    RunOnLoop(loops_.Next(), reactor, m.handler(std::move(call), req, resp),
              [this, &m, peer = Peer(ctx), principal, resource, started](const Status& st) {
                Audit(m.rest_name, m.permission, peer, principal, resource, st);
                Observe(m.name, resource, st, started);
              });
    return reactor;
  }

 private:
  void Observe(const char* rpc, const std::string& resource, const Status& st,
               std::chrono::steady_clock::time_point started) {
    if (!options_.metrics) return;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    options_.metrics->ObserveGrpc(rpc, st.code(), took.count(), resource);
  }
  void Audit(const char* rest_name, const char* permission, const std::string& peer, const std::string& principal,
             const std::string& resource, const Status& st) {
    if (!options_.audit || !api::IsAudited(permission)) return;
    api::AuditEntry e;
    e.principal = principal;
    e.remote = peer;
    e.method = rest_name;
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
  Reactor* ListQueues(Ctx* c, const pb::ListQueuesRequest* q, pb::ListQueuesResponse* r) override { return d_.Serve(c, kListQueues, q, r); }
  Reactor* GetQueue(Ctx* c, const pb::GetQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kGetQueue, q, r); }
  Reactor* CreateQueue(Ctx* c, const pb::CreateQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kCreateQueue, q, r); }
  Reactor* UpdateQueue(Ctx* c, const pb::UpdateQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kUpdateQueue, q, r); }
  Reactor* DeleteQueue(Ctx* c, const pb::DeleteQueueRequest* q, Empty* r) override { return d_.Serve(c, kDeleteQueue, q, r); }
  Reactor* PurgeQueue(Ctx* c, const pb::PurgeQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kPurgeQueue, q, r); }
  Reactor* PauseQueue(Ctx* c, const pb::PauseQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kPauseQueue, q, r); }
  Reactor* ResumeQueue(Ctx* c, const pb::ResumeQueueRequest* q, pb::Queue* r) override { return d_.Serve(c, kResumeQueue, q, r); }
  Reactor* GetIamPolicy(Ctx* c, const iam::GetIamPolicyRequest* q, iam::Policy* r) override { return d_.Serve(c, kGetIamPolicy, q, r); }
  Reactor* SetIamPolicy(Ctx* c, const iam::SetIamPolicyRequest* q, iam::Policy* r) override { return d_.Serve(c, kSetIamPolicy, q, r); }
  Reactor* TestIamPermissions(Ctx* c, const iam::TestIamPermissionsRequest* q, iam::TestIamPermissionsResponse* r) override { return d_.Serve(c, kTestIamPermissions, q, r); }
  Reactor* ListTasks(Ctx* c, const pb::ListTasksRequest* q, pb::ListTasksResponse* r) override { return d_.Serve(c, kListTasks, q, r); }
  Reactor* GetTask(Ctx* c, const pb::GetTaskRequest* q, pb::Task* r) override { return d_.Serve(c, kGetTask, q, r); }
  Reactor* CreateTask(Ctx* c, const pb::CreateTaskRequest* q, pb::Task* r) override { return d_.Serve(c, kCreateTask, q, r); }
  Reactor* DeleteTask(Ctx* c, const pb::DeleteTaskRequest* q, Empty* r) override { return d_.Serve(c, kDeleteTask, q, r); }
  Reactor* RunTask(Ctx* c, const pb::RunTaskRequest* q, pb::Task* r) override { return d_.Serve(c, kRunTask, q, r); }
  // clang-format on

 private:
  Dispatch& d_;
};

class LocationsImpl final : public loc::Locations::CallbackService {
 public:
  explicit LocationsImpl(Dispatch& d) : d_(d) {}

  // clang-format off
  Reactor* ListLocations(Ctx* c, const loc::ListLocationsRequest* q, loc::ListLocationsResponse* r) override { return d_.Serve(c, kListLocations, q, r); }
  Reactor* GetLocation(Ctx* c, const loc::GetLocationRequest* q, loc::Location* r) override { return d_.Serve(c, kGetLocation, q, r); }
  // clang-format on

 private:
  Dispatch& d_;
};

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
  std::unique_ptr<GrpcTls> tls;          // with --tls-cert; the server's handshakes ask it
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
    STRATUS_ASSIGN_OR_RETURN(impl_->tls, GrpcTls::Load(o.tls_cert, o.tls_key));
    creds = impl_->tls->Credentials();
    tls_ = true;
  }
  // Debian builds abseil with Mutex deadlock detection on: every lock gRPC takes then walks a
  // lock-order graph (~4% of the server's CPU under gRPC load, measured with perf). stratus's
  // own locks are std::mutex, untouched by this.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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

Status GrpcServer::ReloadTls() {
  if (!impl_->tls) return FailedPrecondition("the gRPC API is not serving TLS (no --tls-cert)");
  return impl_->tls->Reload();
}

std::string GrpcServer::url() const {
  return std::string(tls_ ? "https://" : "http://") + target();
}

std::string GrpcServer::target() const {
  return host_ + ":" + std::to_string(port_);
}

}  // namespace stratus::grpcapi
