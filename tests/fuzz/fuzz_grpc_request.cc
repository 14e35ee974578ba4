// gRPC request messages as they come off the wire: the first byte picks the Cloud Tasks RPC,
// the rest is parsed as its request message (what grpc++ hands the server). A message that
// parses goes through the conversion the server uses (grpc/convert.h) into TasksService over a
// real SQLite store (in /dev/shm), the path src/grpc/server.cc's handlers take. Never crashes;
// every reply converts into its message and serializes; a Queue or Task that converts in
// converts out and back to the same message (what cross-transport reads rely on).
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
#include "grpc/convert.h"
#include "store/sqlite/sqlite_store.h"
#include "tasks/service.h"

namespace {

namespace pb = google::cloud::tasks::v2;
namespace asio = stratus::asio;
using stratus::Status;
using stratus::StatusOr;
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

void CheckQueueRoundTrip(const stratus::Queue& q) {
  pb::Queue first;
  stratus::grpcapi::QueueToProto(q, &first);
  MustSerialize(first, "Queue");
  auto again = stratus::grpcapi::QueueFromProto(first, "queue");
  if (!again.ok()) Fail("an encoded queue does not decode", first.DebugString() + again.status().ToString());
  pb::Queue second;
  stratus::grpcapi::QueueToProto(*again, &second);
  if (!google::protobuf::util::MessageDifferencer::Equals(first, second)) {
    Fail("queue round trip changed it", first.DebugString() + " -> " + second.DebugString());
  }
}

void CheckTaskRoundTrip(const stratus::Task& t) {
  for (TaskView view : {TaskView::kBasic, TaskView::kFull}) {
    pb::Task first;
    stratus::grpcapi::TaskToProto(t, view, &first);
    MustSerialize(first, "Task");
    if (view != TaskView::kFull) continue;
    auto again = stratus::grpcapi::TaskFromProto(first, "task");
    if (!again.ok()) Fail("an encoded task does not decode", first.DebugString() + again.status().ToString());
    pb::Task second;
    stratus::grpcapi::TaskToProto(*again, view, &second);
    // Compared as messages: maps serialize in no fixed order.
    if (!google::protobuf::util::MessageDifferencer::Equals(first, second)) {
      Fail("task round trip changed it", first.DebugString() + " -> " + second.DebugString());
    }
  }
}

// A status the server would send: a code in range and a message (possibly empty).
void CheckStatus(const Status& st) {
  int code = static_cast<int>(st.code());
  if (code < 0 || code > 16) Fail("status code out of range", std::to_string(code));
}

template <typename T>
void CheckQueueReply(const StatusOr<T>& r) {
  if (r.ok()) {
    CheckQueueRoundTrip(*r);
  } else {
    CheckStatus(r.status());
  }
}

void OneInput(uint8_t which, std::string_view bytes) {
  Env& env = TheEnv();
  stratus::TasksService& s = *env.service;
  switch (which % 10) {
    case 0: {
      pb::CreateQueueRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto queue = stratus::grpcapi::QueueFromProto(req.queue(), "queue");
      if (!queue.ok()) return CheckStatus(queue.status());
      CheckQueueReply(env.Run(s.CreateQueue(req.parent(), std::move(*queue))));
      return;
    }
    case 1: {
      pb::UpdateQueueRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto queue = stratus::grpcapi::QueueFromProto(req.queue(), "queue");
      if (!queue.ok()) return CheckStatus(queue.status());
      std::string mask = stratus::grpcapi::MaskToString(req.update_mask());
      std::string name = queue->name;
      CheckQueueReply(env.Run(s.PatchQueue(name, std::move(*queue), mask)));
      return;
    }
    case 2: {
      pb::GetQueueRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      CheckQueueReply(env.Run(s.GetQueue(req.name())));
      return;
    }
    case 3: {
      pb::ListQueuesRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto list = env.Run(s.ListQueues(req.parent(), req.filter(), req.page_size(), req.page_token()));
      if (!list.ok()) return CheckStatus(list.status());
      pb::ListQueuesResponse resp;
      for (const auto& q : list->queues) stratus::grpcapi::QueueToProto(q, resp.add_queues());
      resp.set_next_page_token(list->next_page_token);
      MustSerialize(resp, "ListQueuesResponse");
      return;
    }
    case 4: {
      pb::CreateTaskRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto view = stratus::grpcapi::ViewFromProto(req.response_view());
      if (!view.ok()) return CheckStatus(view.status());
      if (!req.has_task()) return;
      auto task = stratus::grpcapi::TaskFromProto(req.task(), "task");
      if (!task.ok()) return CheckStatus(task.status());
      auto created = env.Run(s.CreateTask(req.parent(), std::move(*task)));
      if (!created.ok()) return CheckStatus(created.status());
      CheckTaskRoundTrip(*created);
      return;
    }
    case 5: {
      pb::GetTaskRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto view = stratus::grpcapi::ViewFromProto(req.response_view());
      if (!view.ok()) return CheckStatus(view.status());
      auto task = env.Run(s.GetTask(req.name()));
      if (!task.ok()) return CheckStatus(task.status());
      CheckTaskRoundTrip(*task);
      return;
    }
    case 6: {
      pb::ListTasksRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto view = stratus::grpcapi::ViewFromProto(req.response_view());
      if (!view.ok()) return CheckStatus(view.status());
      auto list = env.Run(s.ListTasks(req.parent(), req.page_size(), req.page_token(), *view == TaskView::kFull));
      if (!list.ok()) return CheckStatus(list.status());
      for (const auto& t : list->tasks) CheckTaskRoundTrip(t);
      return;
    }
    case 7: {
      pb::RunTaskRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      auto task = env.Run(s.RunTask(req.name()));
      if (!task.ok()) return CheckStatus(task.status());
      CheckTaskRoundTrip(*task);
      return;
    }
    case 8: {
      pb::DeleteTaskRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      CheckStatus(env.Run(s.DeleteTask(req.name())));
      return;
    }
    default: {
      // Queue state changes: pause, resume, purge, delete by the second byte.
      pb::PauseQueueRequest req;
      if (bytes.empty() || !req.ParseFromArray(bytes.data() + 1, static_cast<int>(bytes.size() - 1))) return;
      switch (static_cast<uint8_t>(bytes[0]) % 4) {
        case 0:
          CheckQueueReply(env.Run(s.SetQueueState(req.name(), stratus::QueueState::kPaused)));
          break;
        case 1:
          CheckQueueReply(env.Run(s.SetQueueState(req.name(), stratus::QueueState::kRunning)));
          break;
        case 2:
          CheckQueueReply(env.Run(s.PurgeQueue(req.name())));
          break;
        default:
          CheckStatus(env.Run(s.DeleteQueue(req.name())));
      }
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  OneInput(data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
