// stratus-grpc-loadgen: CreateTask over gRPC, the counterpart of `stratus-loadgen --scenario
// create` for the Cloud Tasks v2 gRPC API. Closed loop (--rate 0: each call slot sends as soon
// as its previous answer arrives) or open loop on a fixed schedule (--rate R: latency from the
// intended send time, coordinated omission corrected, as stratus-loadgen does).
//
// grpc++'s async API: one CompletionQueue per thread, --connections call slots spread over
// the threads, each keeping one call in flight, over --channels HTTP/2 connections (each its
// own subchannel). Calls go through the generic stub: the CreateTaskRequest is serialized once
// and every call sends the same reference-counted bytes (with --schedule-ahead-ms a slot
// re-serializes its own copy), and the reply is only checked for its status, never parsed. The
// channels run without client retries (a retried call would hide the error the run must count,
// and the retry filter copies every message). So the client's cost per call is grpc's HTTP/2
// framing and HPACK; the JSON reports it (cpu_us_per_call, from getrusage). Bounded by --count
// or --duration; plaintext (a loopback listener).
#include <absl/synchronization/mutex.h>
#include <grpcpp/alarm.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_util.h"
#include "google/cloud/tasks/v2/cloudtasks.grpc.pb.h"

namespace stratus::bench {
namespace {

namespace v2 = google::cloud::tasks::v2;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};

struct Options {
  std::string target = "127.0.0.1:8124";
  int connections = 64;  // calls in flight
  int channels = 4;
  int threads = 1;
  double rate = 0;
  double duration = 0;
  uint64_t count = 0;
  std::string queue = "projects/p/locations/l/queues/q";
  std::string target_url = "http://127.0.0.1:8080/";
  int64_t schedule_ahead_ms = 0;
  size_t body_bytes = 64;
  std::string token;
  double timeout = 30;
  std::string json_file;
  bool minimal_stack = false;
};

struct Shared {
  Options opt;
  Clock::time_point t0, end;
  double interval_ns = 0;  // rate mode: between two sends of one slot
  std::atomic<int64_t> remaining{0};
  std::atomic<uint64_t> ok{0}, errors{0};
  std::mutex mu;
  Histogram hist;  // merged from the threads at the end
  std::map<std::string, uint64_t> error_codes;
  std::string first_error;
};

// One call slot: its request, its context and where it is in its cycle.
struct Slot {
  enum class Phase { kWaiting, kInFlight } phase = Phase::kWaiting;
  grpc::GenericStub* stub = nullptr;
  v2::CreateTaskRequest request;   // only with --schedule-ahead-ms: re-serialized per call
  grpc::ByteBuffer request_bytes;  // shares the serialized request's slices
  grpc::ByteBuffer reply;          // not parsed: the status says whether the create worked
  grpc::Status status;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call;
  grpc::Alarm alarm;
  Clock::time_point intended;
  uint64_t sent = 0;
  double offset = 0;  // open loop: this slot's share of an interval
};

constexpr char kCreateTaskMethod[] = "/google.cloud.tasks.v2.CloudTasks/CreateTask";

grpc::ByteBuffer Serialized(const google::protobuf::Message& m) {
  grpc::Slice slice(m.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

bool TakeOne(Shared& s) {
  if (g_interrupted.load(std::memory_order_relaxed) || Clock::now() >= s.end) return false;
  if (s.opt.count == 0) return true;
  return s.remaining.fetch_sub(1, std::memory_order_relaxed) > 0;
}

void Send(Shared& s, Slot& slot, grpc::CompletionQueue& cq) {
  slot.ctx = std::make_unique<grpc::ClientContext>();
  slot.ctx->set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(static_cast<int64_t>(s.opt.timeout * 1000)));
  if (!s.opt.token.empty()) slot.ctx->AddMetadata("authorization", "Bearer " + s.opt.token);
  if (s.opt.schedule_ahead_ms > 0) {
    int64_t at = UnixMicrosNow() + s.opt.schedule_ahead_ms * 1000;
    auto* ts = slot.request.mutable_task()->mutable_schedule_time();
    ts->set_seconds(at / 1'000'000);
    ts->set_nanos(static_cast<int32_t>(at % 1'000'000) * 1000);
    slot.request_bytes = Serialized(slot.request);
  }
  slot.reply.Clear();
  slot.phase = Slot::Phase::kInFlight;
  slot.call = slot.stub->PrepareUnaryCall(slot.ctx.get(), kCreateTaskMethod, slot.request_bytes, &cq);
  slot.call->StartCall();
  slot.call->Finish(&slot.reply, &slot.status, &slot);
}

// Arms the slot for its next send: now in closed loop, at its next intended time in open loop.
// False when the run is over for this slot (nothing pending).
bool Next(Shared& s, Slot& slot, grpc::CompletionQueue& cq) {
  if (!TakeOne(s)) return false;
  if (s.opt.rate <= 0) {
    slot.intended = Clock::now();
    Send(s, slot, cq);
    return true;
  }
  const double at_ns = s.interval_ns * (static_cast<double>(slot.sent) + slot.offset);
  slot.intended = s.t0 + std::chrono::nanoseconds(static_cast<int64_t>(at_ns));
  ++slot.sent;
  if (slot.intended <= Clock::now()) {
    Send(s, slot, cq);  // behind schedule: the latency still counts from `intended`
  } else {
    slot.phase = Slot::Phase::kWaiting;
    auto wait = std::chrono::duration_cast<std::chrono::system_clock::duration>(slot.intended - Clock::now());
    slot.alarm.Set(&cq, std::chrono::system_clock::now() + wait, &slot);
  }
  return true;
}

// One thread: its slots on its own completion queue until none has anything pending.
void Worker(Shared& s, std::vector<std::unique_ptr<grpc::GenericStub>>& stubs, int first_slot, int nslots) {
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Slot>> slots;
  Histogram hist;
  std::map<std::string, uint64_t> codes;
  std::string first_error;
  const std::string body(s.opt.body_bytes, 'x');
  v2::CreateTaskRequest request;
  request.set_parent(s.opt.queue);
  auto* http = request.mutable_task()->mutable_http_request();
  http->set_url(s.opt.target_url);
  http->set_http_method(v2::POST);
  http->set_body(body);
  const grpc::ByteBuffer request_bytes = Serialized(request);
  for (int i = 0; i < nslots; ++i) {
    auto slot = std::make_unique<Slot>();
    const int global = first_slot + i;
    slot->stub = stubs[static_cast<size_t>(global) % stubs.size()].get();
    // Slot k of n starts k/n of an interval late, so the offered load is smooth.
    slot->offset = static_cast<double>(global) / s.opt.connections;
    slot->request = request;
    slot->request_bytes = request_bytes;  // a reference to the same slices
    slots.push_back(std::move(slot));
  }
  int live = 0;
  for (auto& slot : slots) live += Next(s, *slot, cq) ? 1 : 0;
  void* tag = nullptr;
  bool ok = false;
  while (live > 0 && cq.Next(&tag, &ok)) {
    auto& slot = *static_cast<Slot*>(tag);
    if (slot.phase == Slot::Phase::kWaiting) {  // its alarm rang
      if (g_interrupted.load(std::memory_order_relaxed) || Clock::now() >= s.end) {
        --live;
      } else {
        Send(s, slot, cq);
      }
      continue;
    }
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - slot.intended).count();
    if (slot.status.ok()) {
      hist.Record(us);
      s.ok.fetch_add(1, std::memory_order_relaxed);
    } else {
      s.errors.fetch_add(1, std::memory_order_relaxed);
      ++codes[std::to_string(static_cast<int>(slot.status.error_code()))];
      if (first_error.empty()) first_error = slot.status.error_message();
    }
    if (!Next(s, slot, cq)) --live;
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  std::lock_guard lock(s.mu);
  s.hist.Merge(hist);
  for (const auto& [k, v] : codes) s.error_codes[k] += v;
  if (s.first_error.empty()) s.first_error = first_error;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"stratus-grpc-loadgen: CreateTask over gRPC"};
  app.add_option("--target", o.target, "HOST:PORT of the gRPC listener");
  app.add_option("--connections", o.connections, "calls in flight");
  app.add_option("--channels", o.channels, "HTTP/2 connections");
  app.add_option("--threads", o.threads, "completion-queue threads");
  app.add_option("--rate", o.rate, "calls/s in all (0: closed loop)");
  app.add_option("--duration", o.duration, "seconds at most");
  app.add_option("--count", o.count, "calls in all (0: until --duration)");
  app.add_option("--queue", o.queue, "the queue's full name");
  app.add_option("--target-url", o.target_url, "the tasks' httpRequest.url");
  app.add_option("--schedule-ahead-ms", o.schedule_ahead_ms, "scheduleTime = now + this");
  app.add_option("--body-bytes", o.body_bytes, "task body size");
  app.add_option("--token", o.token, "authorization: Bearer TOKEN");
  app.add_option("--timeout", o.timeout, "per-call deadline, seconds");
  app.add_option("--json", o.json_file, "write the results here");
  app.add_flag("--minimal-stack", o.minimal_stack, "grpc.minimal_stack: leave out the optional client filters");
  CLI11_PARSE(app, argc, argv);
  if (o.duration <= 0 && o.count == 0) {
    std::cerr << "stratus-grpc-loadgen: give --duration or --count (the run must be bounded)\n";
    return 2;
  }
  if (o.connections < 1 || o.channels < 1 || o.threads < 1) {
    std::cerr << "stratus-grpc-loadgen: --connections, --channels and --threads must be at least 1\n";
    return 2;
  }
  // Debian builds abseil with its Mutex deadlock detection on: every lock gRPC takes walks a
  // lock-order graph (~8% of this client's CPU). A load generator has no use for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::signal(SIGINT, [](int) { g_interrupted = true; });
  std::signal(SIGTERM, [](int) { g_interrupted = true; });

  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per channel
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    if (o.minimal_stack) args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    auto channel = grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20))) {
      std::cerr << "stratus-grpc-loadgen: cannot connect to " << o.target << "\n";
      return 1;
    }
    stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  }

  Shared s;
  s.opt = o;
  s.remaining = static_cast<int64_t>(o.count);
  s.interval_ns = o.rate > 0 ? 1e9 * o.connections / o.rate : 0;
  s.t0 = Clock::now();
  s.end = o.duration > 0 ? s.t0 + std::chrono::milliseconds(static_cast<int64_t>(o.duration * 1000))
                         : Clock::time_point::max();
  std::vector<std::thread> threads;
  int first = 0;
  for (int t = 0; t < o.threads; ++t) {
    int n = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    threads.emplace_back([&s, &stubs, n, first] { Worker(s, stubs, first, n); });
    first += n;
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - s.t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);  // the whole process, gRPC's own threads and the connects included
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const uint64_t calls = s.ok.load() + s.errors.load();

  nlohmann::json j;
  j["target"] = o.target;
  j["scenario"] = "grpc-create";
  j["connections"] = o.connections;
  j["channels"] = o.channels;
  j["threads"] = o.threads;
  j["rate"] = o.rate;
  j["ok"] = s.ok.load();
  j["errors"] = s.errors.load();
  j["error_codes"] = s.error_codes;
  if (!s.first_error.empty()) j["first_error"] = s.first_error;
  j["seconds"] = secs;
  j["cpu_s"] = std::round(cpu * 1000) / 1000;
  j["cpu_us_per_call"] = calls > 0 ? std::round(cpu * 1e6 / static_cast<double>(calls) * 10) / 10 : 0;
  j["throughput_per_s"] = secs > 0 ? std::round(static_cast<double>(s.ok.load()) / secs * 10) / 10 : 0;
  j["latency_ms"] = s.hist.SummaryMs();
  j["latency_ms"].erase("count");
  j["latency_hist"] = s.hist.BucketsMs();
  if (!o.json_file.empty()) {
    std::ofstream(o.json_file) << j.dump(1) << "\n";
  }
  const auto& l = j["latency_ms"];
  std::cout << "grpc-create: " << j["ok"] << " ok, " << j["errors"] << " errors in " << secs
            << " s = " << j["throughput_per_s"] << "/s; latency ms p50 " << l["p50"] << " p99 " << l["p99"] << " max "
            << l["max"] << "; client CPU " << j["cpu_us_per_call"] << " us/call\n";
  return s.errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace stratus::bench

int main(int argc, char** argv) {
  return stratus::bench::Main(argc, argv);
}
