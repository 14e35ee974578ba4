// gRPC request messages as they come off the wire: the first byte picks the RPC (a row of
// src/grpc/methods.h), the rest is parsed as its request message (what grpc++ hands the
// server). A message that parses goes to that row's handler, the code server.cc runs for the
// call, over a real SQLite store (in /dev/shm). Never crashes; a status is a gRPC code with
// its message; an OK reply serializes; a Queue or Task reply converts back into the model and
// out again to the same message (what cross-transport reads rely on).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "common/asio.h"
#include "common/clock.h"
#include "grpc/bridge.h"
#include "grpc/convert.h"
#include "grpc/methods.h"
#include "store/sqlite/sqlite_store.h"
#include "tasks/service.h"

namespace {

namespace pb = google::cloud::tasks::v2;
namespace asio = stratus::asio;
using stratus::Status;
using stratus::TaskView;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_grpc_request: %s\n  detail: %s\n", what, detail.c_str());
  std::abort();
}

// One store and service for the whole run: inputs build on what earlier ones created, so
// gets, runs and deletes meet real queues and tasks.
struct Env {
  Env() : pool(2) {
    char tmpl[] = "/dev/shm/stratus-fuzz-grpc-XXXXXX";
    char* dir = mkdtemp(tmpl);
    if (!dir) Fail("mkdtemp", tmpl);
    path = dir;
    static std::string* cleanup = new std::string(path);  // the store's files go with the process
    std::atexit([] { std::filesystem::remove_all(*cleanup); });
    auto s = stratus::SqliteStore::Open(path + "/tasks.db", stratus::StoreOptions{});
    if (!s.ok()) Fail("open store", s.status().ToString());
    store = std::move(s).value();
    service = std::make_unique<stratus::TasksService>(*store, clock, pool, stratus::ServiceOptions{});
  }
  template <typename T>
  T Run(asio::awaitable<T> co) {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::optional<T> out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          T v = co_await std::move(co);
          out.emplace(std::move(v));
          guard.reset();
        },
        asio::detached);
    io.run();
    return std::move(*out);
  }

  std::string path;
  stratus::SystemClock clock;
  asio::thread_pool pool;
  std::unique_ptr<stratus::SqliteStore> store;
  std::unique_ptr<stratus::TasksService> service;
};

Env& TheEnv() {
  static Env* env = new Env();  // never destroyed: the writer thread outlives the last input
  return *env;
}

template <typename M>
void MustSerialize(const M& m, const char* what) {
  std::string out;
  if (!m.SerializeToString(&out)) Fail("reply does not serialize", what);
}

// A reply that converts in converts out to the same message (compared as messages: maps
// serialize in no fixed order).
void CheckRoundTrip(const pb::Queue& first) {
  auto q = stratus::grpcapi::QueueFromProto(first, "queue");
  if (!q.ok()) Fail("an encoded queue does not decode", first.DebugString() + q.status().ToString());
  pb::Queue second;
  stratus::grpcapi::QueueToProto(*q, &second);
  if (!google::protobuf::util::MessageDifferencer::Equals(first, second)) {
    Fail("queue round trip changed it", first.DebugString() + " -> " + second.DebugString());
  }
}

void CheckRoundTrip(const pb::Task& first) {
  auto t = stratus::grpcapi::TaskFromProto(first, "task");
  if (!t.ok()) Fail("an encoded task does not decode", first.DebugString() + t.status().ToString());
  pb::Task second;
  stratus::grpcapi::TaskToProto(*t, first.view() == pb::Task::FULL ? TaskView::kFull : TaskView::kBasic, &second);
  if (!google::protobuf::util::MessageDifferencer::Equals(first, second)) {
    Fail("task round trip changed it", first.DebugString() + " -> " + second.DebugString());
  }
}

void CheckRoundTrip(const pb::ListQueuesResponse& r) {
  for (const auto& q : r.queues()) CheckRoundTrip(q);
}

void CheckRoundTrip(const pb::ListTasksResponse& r) {
  for (const auto& t : r.tasks()) CheckRoundTrip(t);
}

void CheckRoundTrip(const google::protobuf::Message&) {}

// Parses `bytes` as the row's request and runs its handler as a call would.
template <typename Req, typename Resp>
void Drive(const stratus::grpcapi::Rpc<Req, Resp>& rpc, std::string_view bytes) {
  Req req;
  if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;  // grpc++ refuses it
  Env& env = TheEnv();
  Resp resp;
  Status st = env.Run(rpc.handler(stratus::grpcapi::Call{env.service.get(), {}}, &req, &resp));
  // What the auth and audit glue read of the request.
  (void)rpc.resource(req);
  if (rpc.refused_resource) (void)rpc.refused_resource(req);
  if (rpc.accounts) (void)rpc.accounts(req);
  grpc::Status sent = stratus::grpcapi::ToGrpc(st);
  const int code = static_cast<int>(sent.error_code());
  if (code < 0 || code > 16) Fail("status code out of range", std::to_string(code));
  if (!sent.ok()) return;
  MustSerialize(resp, rpc.name);
  CheckRoundTrip(resp);
}

void OneInput(uint8_t which, std::string_view bytes) {
  namespace g = stratus::grpcapi;
  switch (which % 18) {
    case 0:
      return Drive(g::kCreateQueue, bytes);
    case 1:
      return Drive(g::kUpdateQueue, bytes);
    case 2:
      return Drive(g::kGetQueue, bytes);
    case 3:
      return Drive(g::kListQueues, bytes);
    case 4:
      return Drive(g::kCreateTask, bytes);
    case 5:
      return Drive(g::kGetTask, bytes);
    case 6:
      return Drive(g::kListTasks, bytes);
    case 7:
      return Drive(g::kRunTask, bytes);
    case 8:
      return Drive(g::kDeleteTask, bytes);
    case 9:
      return Drive(g::kPauseQueue, bytes);
    case 10:
      return Drive(g::kResumeQueue, bytes);
    case 11:
      return Drive(g::kPurgeQueue, bytes);
    case 12:
      return Drive(g::kDeleteQueue, bytes);
    case 13:
      return Drive(g::kGetIamPolicy, bytes);
    case 14:
      return Drive(g::kSetIamPolicy, bytes);
    case 15:
      return Drive(g::kTestIamPermissions, bytes);
    case 16:
      return Drive(g::kListLocations, bytes);
    default:
      return Drive(g::kGetLocation, bytes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  OneInput(data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
