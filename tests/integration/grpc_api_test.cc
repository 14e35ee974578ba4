// The Cloud Tasks v2 gRPC API with a grpc++ client on the generated stubs: errors are REST's
// code and text, tokens are checked as REST checks them, health and reflection answer, and
// stopping the server lets a call in flight finish.
#include <gtest/gtest.h>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "google/cloud/tasks/v2/cloudtasks.grpc.pb.h"
#include "grpc/server.h"
#include "http/event_loops.h"
#include "rest_client.h"
#include "store/sqlite/sqlite_store.h"
#include "stratus_process.h"
#include "tasks/service.h"

namespace stratus {
namespace {

namespace pb = ::google::cloud::tasks::v2;
using json = nlohmann::json;
using testing::RestClient;
using testing::StratusProcess;
using V = http::Verb;

constexpr char kLoc[] = "projects/grpc-test/locations/us-central1";

std::string QueueName(const std::string& id) {
  return std::string(kLoc) + "/queues/" + id;
}

std::unique_ptr<pb::CloudTasks::Stub> StubFor(const std::string& target) {
  return pb::CloudTasks::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
}

// A context with a generous deadline and optional metadata.
std::unique_ptr<grpc::ClientContext> Ctx(const std::map<std::string, std::string>& metadata = {}) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  for (const auto& [k, v] : metadata) ctx->AddMetadata(k, v);
  return ctx;
}

// What REST answered, as (status name, message), for comparing with a gRPC status.
std::pair<std::string, std::string> RestError(const testing::RestReply& r) {
  if (!r.body.is_object() || !r.body.contains("error")) return {"OK", ""};
  return {r.body["error"].value("status", ""), r.body["error"].value("message", "")};
}

std::pair<std::string, std::string> GrpcError(const grpc::Status& s) {
  return {std::string(CodeName(static_cast<Code>(s.error_code()))), s.error_message()};
}

// grpc::ByteBuffer <-> bytes, for calls without generated stubs (health, reflection).
grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Bytes(const grpc::ByteBuffer& buf) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buf.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// A protobuf string field (tag `field`, wire type 2) holding `value` (shorter than 128 bytes).
std::string StringField(int field, const std::string& value) {
  return std::string(1, static_cast<char>(field << 3 | 2)) + static_cast<char>(value.size()) + value;
}

// grpc.health.v1.Health/Check for `service`: the status number (1 SERVING, 2 NOT_SERVING),
// or -(gRPC code) when the call failed.
int HealthCheck(const std::string& target, const std::string& service) {
  grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  auto ctx = Ctx();
  grpc::ByteBuffer request = Buffer(service.empty() ? "" : StringField(1, service));
  auto call = stub.PrepareUnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::ByteBuffer reply;
  grpc::Status status;
  call->Finish(&reply, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return -static_cast<int>(status.error_code());
  std::string bytes = Bytes(reply);  // HealthCheckResponse{status = 1 (varint)}
  if (bytes.empty()) return 0;       // UNKNOWN, the proto3 default
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -100;
}

// grpc.reflection.v1alpha ServerReflectionInfo (a bidi stream) with one list_services
// request: the raw ServerReflectionResponse bytes.
std::string ReflectionListServices(const std::string& target) {
  grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  auto ctx = Ctx();
  auto stream = stub.PrepareCall(ctx.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  stream->StartCall(reinterpret_cast<void*>(1));
  if (!step(1)) return "";
  stream->Write(Buffer(StringField(7, "*")), reinterpret_cast<void*>(2));  // list_services = 7
  if (!step(2)) return "";
  stream->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  grpc::ByteBuffer reply;
  stream->Read(&reply, reinterpret_cast<void*>(4));
  std::string out = step(4) ? Bytes(reply) : "";
  grpc::Status status;
  stream->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return out;
}

class GrpcApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(proc_.Start({"--grpc-listen", "127.0.0.1:0", "--queue-reuse-window", "1h"})) << proc_.output();
    ASSERT_FALSE(proc_.grpc_target().empty()) << proc_.output();
    stub_ = StubFor(proc_.grpc_target());
  }

  testing::RestReply Rest(V verb, const std::string& path, const json& body = nullptr) {
    return rest_.Call(verb, proc_.tasks_url() + "/v2/" + path, body, {{"Host", "localhost"}});
  }

  // Creates a queue over REST (the other transport): `id` in kLoc.
  void RestQueue(const std::string& id) {
    ASSERT_EQ(Rest(V::post, std::string(kLoc) + "/queues", {{"name", QueueName(id)}}).status, 200);
  }

  StratusProcess proc_;
  RestClient rest_;
  std::unique_ptr<pb::CloudTasks::Stub> stub_;
};

TEST_F(GrpcApiTest, ErrorsAreRestsCodeAndMessage) {
  RestQueue("dup");
  {  // a missing queue
    pb::GetQueueRequest req;
    req.set_name(QueueName("missing"));
    pb::Queue resp;
    grpc::Status s = stub_->GetQueue(Ctx().get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(GrpcError(s), RestError(Rest(V::get, QueueName("missing"))));
  }
  {  // a queue that exists
    pb::CreateQueueRequest req;
    req.set_parent(kLoc);
    req.mutable_queue()->set_name(QueueName("dup"));
    pb::Queue resp;
    grpc::Status s = stub_->CreateQueue(Ctx().get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(GrpcError(s), RestError(Rest(V::post, std::string(kLoc) + "/queues", {{"name", QueueName("dup")}})));
  }
  {  // a malformed queue name (REST: in the body of a create)
    pb::CreateQueueRequest req;
    req.set_parent(kLoc);
    req.mutable_queue()->set_name("dup");
    pb::Queue resp;
    grpc::Status s = stub_->CreateQueue(Ctx().get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(GrpcError(s), RestError(Rest(V::post, std::string(kLoc) + "/queues", {{"name", "dup"}})));
  }
  {  // a task without a url, and one with a bad id
    for (const auto& [id, url] : {std::pair{"no-url", ""}, std::pair{"bad!id", "http://127.0.0.1:9/"}}) {
      pb::CreateTaskRequest req;
      req.set_parent(QueueName("dup"));
      req.mutable_task()->set_name(QueueName("dup") + "/tasks/" + id);
      req.mutable_task()->mutable_http_request()->set_url(url);
      pb::Task resp;
      grpc::Status s = stub_->CreateTask(Ctx().get(), req, &resp);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << id;
      json body = {{"task", {{"name", QueueName("dup") + "/tasks/" + id}, {"httpRequest", json::object()}}}};
      if (*url) body["task"]["httpRequest"]["url"] = url;
      EXPECT_EQ(GrpcError(s), RestError(Rest(V::post, QueueName("dup") + "/tasks", body))) << id;
    }
  }
  {  // a missing task, got and run
    pb::GetTaskRequest get;
    get.set_name(QueueName("dup") + "/tasks/none");
    pb::Task resp;
    grpc::Status s = stub_->GetTask(Ctx().get(), get, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(GrpcError(s), RestError(Rest(V::get, QueueName("dup") + "/tasks/none")));
    pb::RunTaskRequest run;
    run.set_name(QueueName("dup") + "/tasks/none");
    s = stub_->RunTask(Ctx().get(), run, &resp);
    EXPECT_EQ(GrpcError(s), RestError(Rest(V::post, QueueName("dup") + "/tasks/none:run", json::object())));
  }
  {  // an unknown update_mask path
    pb::UpdateQueueRequest req;
    req.mutable_queue()->set_name(QueueName("dup"));
    req.mutable_update_mask()->add_paths("rate_limits.nope");
    pb::Queue resp;
    grpc::Status s = stub_->UpdateQueue(Ctx().get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(GrpcError(s), RestError(Rest(V::patch, QueueName("dup") + "?updateMask=rate_limits.nope",
                                           {{"name", QueueName("dup")}})));
  }
  {  // a queue name deleted too recently (--queue-reuse-window 1h)
    RestQueue("gone-rest");
    RestQueue("gone-grpc");
    ASSERT_EQ(Rest(V::delete_, QueueName("gone-rest")).status, 200);
    ASSERT_EQ(Rest(V::delete_, QueueName("gone-grpc")).status, 200);
    pb::CreateQueueRequest req;
    req.set_parent(kLoc);
    req.mutable_queue()->set_name(QueueName("gone-grpc"));
    pb::Queue resp;
    grpc::Status s = stub_->CreateQueue(Ctx().get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(GrpcError(s),
              RestError(Rest(V::post, std::string(kLoc) + "/queues", {{"name", QueueName("gone-rest")}})));
  }
}

TEST_F(GrpcApiTest, HealthServesAndReflectionListsTheServices) {
  EXPECT_EQ(HealthCheck(proc_.grpc_target(), ""), 1);
  EXPECT_EQ(HealthCheck(proc_.grpc_target(), "google.cloud.tasks.v2.CloudTasks"), 1);
  EXPECT_EQ(HealthCheck(proc_.grpc_target(), "google.cloud.location.Locations"), 1);
  EXPECT_EQ(HealthCheck(proc_.grpc_target(), "no.such.Service"), -static_cast<int>(grpc::StatusCode::NOT_FOUND));
  std::string listed = ReflectionListServices(proc_.grpc_target());
  for (const char* name :
       {"google.cloud.tasks.v2.CloudTasks", "google.cloud.location.Locations", "grpc.health.v1.Health"}) {
    EXPECT_NE(listed.find(name), std::string::npos) << name;
  }
}

// The value of one exposition line `series value` in /metrics text (-1: no such series).
double Sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_F(GrpcApiTest, CallsAreCountedBesideRestWithTheirTransport) {
  RestQueue("counted");
  for (const char* id : {"counted-a", "counted-b", "counted"}) {  // two created, one ALREADY_EXISTS
    pb::CreateQueueRequest req;
    req.set_parent(kLoc);
    req.mutable_queue()->set_name(QueueName(id));
    pb::Queue resp;
    stub_->CreateQueue(Ctx().get(), req, &resp);
  }
  pb::GetQueueRequest get;
  get.set_name(QueueName("nope"));
  pb::Queue got;
  EXPECT_EQ(stub_->GetQueue(Ctx().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Rest(V::get, QueueName("nope")).status, 404);
  pb::CreateTaskRequest create;
  create.set_parent(QueueName("counted-a"));
  create.mutable_task()->mutable_http_request()->set_url("http://127.0.0.1:9/");
  pb::Task task;
  ASSERT_TRUE(stub_->CreateTask(Ctx().get(), create, &task).ok());

  testing::RestReply m = rest_.Call(V::get, proc_.tasks_url() + "/metrics", nullptr, {{"Host", "localhost"}});
  ASSERT_EQ(m.status, 200);
  const std::string text = "\n" + m.body.get<std::string>();
  auto series = [](const char* family, const char* method, int code, const char* transport) {
    return std::string(family) + "{method=\"" + method + "\",code=\"" + std::to_string(code) + "\",transport=\"" +
           transport + "\"}";
  };
  // gRPC codes counted as the HTTP status REST answers them with (ALREADY_EXISTS 409, NOT_FOUND 404).
  EXPECT_EQ(Sample(text, series("stratus_api_requests_total", "CreateQueue", 200, "grpc")), 2) << text;
  EXPECT_EQ(Sample(text, series("stratus_api_requests_total", "CreateQueue", 409, "grpc")), 1);
  EXPECT_EQ(Sample(text, series("stratus_api_requests_total", "CreateQueue", 200, "rest")), 1);
  EXPECT_EQ(Sample(text, series("stratus_api_requests_total", "GetQueue", 404, "grpc")), 1);
  EXPECT_EQ(Sample(text, series("stratus_api_requests_total", "GetQueue", 404, "rest")), 1);
  EXPECT_EQ(Sample(text, series("stratus_api_requests_total", "CreateTask", 200, "grpc")), 1);
  // The latency histogram REST feeds, and the per-queue create latency.
  EXPECT_EQ(Sample(text, series("stratus_api_request_duration_seconds_count", "CreateQueue", 200, "grpc")), 2);
  EXPECT_EQ(Sample(text,
                   "stratus_api_request_duration_seconds_bucket{method=\"CreateQueue\",code=\"200\","
                   "transport=\"grpc\",le=\"+Inf\"}"),
            2);
  EXPECT_GT(Sample(text, series("stratus_api_request_duration_seconds_sum", "CreateQueue", 200, "grpc")), 0);
  EXPECT_EQ(Sample(text, "stratus_task_create_duration_seconds_count{queue=\"" + QueueName("counted-a") + "\"}"), 1);
}

class GrpcAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("stratus-grpc-auth-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "ops admin tok-admin-1\nviewer read-only tok-view-2\n";
    ASSERT_TRUE(proc_.Start({"--grpc-listen", "127.0.0.1:0", "--api-token-file", (dir_ / "tokens").string()}))
        << proc_.output();
    stub_ = StubFor(proc_.grpc_target());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  testing::RestReply Rest(V verb, const std::string& path, const std::string& authorization,
                          const json& body = nullptr) {
    std::map<std::string, std::string> h = {{"Host", "localhost"}};
    if (!authorization.empty()) h["Authorization"] = authorization;
    return rest_.Call(verb, proc_.tasks_url() + "/v2/" + path, body, h);
  }

  grpc::Status List(const std::map<std::string, std::string>& metadata) {
    pb::ListQueuesRequest req;
    req.set_parent(kLoc);
    pb::ListQueuesResponse resp;
    return stub_->ListQueues(Ctx(metadata).get(), req, &resp);
  }

  std::filesystem::path dir_;
  StratusProcess proc_;
  RestClient rest_;
  std::unique_ptr<pb::CloudTasks::Stub> stub_;
};

TEST_F(GrpcAuthTest, TokensAreCheckedAsRestChecksThem) {
  const std::string path = std::string(kLoc) + "/queues";
  // No credentials, or a wrong token: REST's 401 is gRPC's UNAUTHENTICATED, same text.
  grpc::Status none = List({});
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  testing::RestReply rest_none = Rest(V::get, path, "");
  EXPECT_EQ(rest_none.status, 401);
  EXPECT_EQ(GrpcError(none), RestError(rest_none));
  grpc::Status wrong = List({{"authorization", "Bearer tok-admin-X"}});
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GrpcError(wrong), RestError(Rest(V::get, path, "Bearer tok-admin-X")));
  // The right token, as a bearer token or an API key.
  EXPECT_TRUE(List({{"authorization", "Bearer tok-admin-1"}}).ok());
  EXPECT_TRUE(List({{"x-goog-api-key", "tok-admin-1"}}).ok());
  EXPECT_TRUE(List({{"authorization", "Bearer tok-view-2"}}).ok());
  // A read-only token may not create: PERMISSION_DENIED in REST's words.
  pb::CreateQueueRequest req;
  req.set_parent(kLoc);
  req.mutable_queue()->set_name(QueueName("by-viewer"));
  pb::Queue resp;
  grpc::Status denied = stub_->CreateQueue(Ctx({{"authorization", "Bearer tok-view-2"}}).get(), req, &resp);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GrpcError(denied), RestError(Rest(V::post, path, "Bearer tok-view-2", {{"name", QueueName("by-viewer")}})));
  EXPECT_TRUE(stub_->CreateQueue(Ctx({{"authorization", "Bearer tok-admin-1"}}).get(), req, &resp).ok());
  // A task call's refusal names the task's queue, as REST's does.
  pb::DeleteTaskRequest del;
  del.set_name(QueueName("by-viewer") + "/tasks/t");
  google::protobuf::Empty empty;
  grpc::Status task_denied = stub_->DeleteTask(Ctx({{"authorization", "Bearer tok-view-2"}}).get(), del, &empty);
  EXPECT_EQ(task_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GrpcError(task_denied), RestError(Rest(V::delete_, del.name(), "Bearer tok-view-2")));
  // Health stays open, as /healthz does.
  EXPECT_EQ(HealthCheck(proc_.grpc_target(), ""), 1);
  // Refused calls are counted too, under REST's status for the refusal.
  testing::RestReply m = rest_.Call(V::get, proc_.tasks_url() + "/metrics", nullptr,
                                    {{"Host", "localhost"}, {"Authorization", "Bearer tok-admin-1"}});
  ASSERT_EQ(m.status, 200);
  const std::string text = "\n" + m.body.get<std::string>();
  EXPECT_EQ(Sample(text, "stratus_api_requests_total{method=\"ListQueues\",code=\"401\",transport=\"grpc\"}"), 2)
      << text;
  EXPECT_EQ(Sample(text, "stratus_api_requests_total{method=\"CreateQueue\",code=\"403\",transport=\"grpc\"}"), 1);
  EXPECT_EQ(Sample(text, "stratus_api_requests_total{method=\"DeleteTask\",code=\"403\",transport=\"grpc\"}"), 1);
}

// A Store that holds writes back while its gate is closed: a call stays in flight for as
// long as the test wants.
class GatedStore : public Store {
 public:
  explicit GatedStore(Store& inner) : inner_(inner) {}

  void Write(Mutation m, Micros now, WriteDone done) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) {
        held_.push_back(Held{std::move(m), now, std::move(done)});
        cv_.notify_all();
        return;
      }
    }
    inner_.Write(std::move(m), now, std::move(done));
  }
  void Close(bool closed) {
    std::vector<Held> release;
    {
      std::lock_guard lock(mu_);
      closed_ = closed;
      if (!closed) release.swap(held_);
    }
    for (auto& h : release) inner_.Write(std::move(h.m), h.now, std::move(h.done));
  }
  bool WaitHeld(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return held_.size() >= n; });
  }

  StatusOr<Queue> GetQueue(const std::string& name) override { return inner_.GetQueue(name); }
  StatusOr<Page<Queue>> ListQueues(const std::string& parent, std::optional<QueueState> state, int page_size,
                                   const std::string& cursor) override {
    return inner_.ListQueues(parent, state, page_size, cursor);
  }
  StatusOr<Task> GetTask(const std::string& name, Micros now) override { return inner_.GetTask(name, now); }
  StatusOr<Page<Task>> ListTasks(const std::string& queue, int page_size, const std::string& cursor,
                                 bool with_body) override {
    return inner_.ListTasks(queue, page_size, cursor, with_body);
  }
  StatusOr<int64_t> CountTasks(const std::string& queue) override { return inner_.CountTasks(queue); }
  Status ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) override {
    return inner_.ScanTasks(queue, fn);
  }
  StatusOr<std::vector<Queue>> AllQueues() override { return inner_.AllQueues(); }
  StatusOr<Page<DeadLetter>> ListDeadLetters(const std::string& queue, int page_size,
                                             const std::string& cursor) override {
    return inner_.ListDeadLetters(queue, page_size, cursor);
  }
  StatusOr<DeadLetter> GetDeadLetter(const std::string& name) override { return inner_.GetDeadLetter(name); }
  Status Health() override { return inner_.Health(); }
  void Close() override { inner_.Close(); }

 private:
  struct Held {
    Mutation m;
    Micros now;
    WriteDone done;
  };
  Store& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::vector<Held> held_;
};

TEST(GrpcServerDrain, StopRefusesNewCallsAndLetsACallInFlightFinish) {
  const std::string dir = std::filesystem::temp_directory_path() / ("stratus-grpc-drain-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto sqlite = SqliteStore::Open(dir + "/stratus.db", StoreOptions{});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().message();
  GatedStore store(**sqlite);
  SystemClock clock;
  asio::thread_pool blocking{2};
  TasksService service(store, clock, blocking, ServiceOptions{});
  http::EventLoops loops(1);
  grpcapi::GrpcServerOptions options;
  options.port = 0;
  options.drain = std::chrono::seconds(120);  // longer than the test waits: the drain, not its deadline, ends Stop
  grpcapi::GrpcServer server(service, loops, options);
  ASSERT_TRUE(server.Start().ok());
  loops.Start();
  auto stub = StubFor(server.target());

  pb::CreateQueueRequest create;
  create.set_parent(kLoc);
  create.mutable_queue()->set_name(QueueName("drain"));
  pb::Queue queue;
  ASSERT_TRUE(stub->CreateQueue(Ctx().get(), create, &queue).ok());

  // A task create that reaches the store and waits there.
  store.Close(true);
  pb::CreateTaskRequest req;
  req.set_parent(QueueName("drain"));
  req.mutable_task()->set_name(QueueName("drain") + "/tasks/in-flight");
  req.mutable_task()->mutable_http_request()->set_url("http://127.0.0.1:9/");
  pb::Task created;
  auto ctx = Ctx();
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> result;
  stub->async()->CreateTask(ctx.get(), &req, &created, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    result = s;
    cv.notify_all();
  });
  ASSERT_TRUE(store.WaitHeld(1));

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.Stop();
    stopped = true;
  });
  // Stop has begun once a new call is refused (a fresh channel: the listener is closed).
  grpc::Status refused;
  for (int i = 0; i < 300; ++i) {
    pb::GetQueueRequest get;
    get.set_name(QueueName("drain"));
    auto fresh = StubFor(server.target());
    auto c = Ctx();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    refused = fresh->GetQueue(c.get(), get, &queue);
    if (refused.error_code() == grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(result.has_value()) << "the call in flight ended before its write was let through";
  }
  EXPECT_FALSE(stopped.load()) << "Stop returned with a call still in flight";

  store.Close(false);  // the write commits; the call answers; Stop can return
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return result.has_value(); }));
  }
  EXPECT_TRUE(result->ok()) << result->error_message();
  EXPECT_EQ(created.name(), QueueName("drain") + "/tasks/in-flight");
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_TRUE((*sqlite)->GetTask(QueueName("drain") + "/tasks/in-flight", clock.Now()).ok());

  loops.Stop();
  (*sqlite)->Close();
  blocking.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stratus
