// API request metrics for /metrics: stratus_api_requests_total{method,code,transport} and
// stratus_api_request_duration_seconds{method,code,transport}, where `method` is the route's RPC
// name (CreateTask, ListQueues, ...; a route without one keeps its route name, an unrouted
// request is "unrouted"), `code` the HTTP status (for a gRPC call, the HTTP status REST answers
// its google.rpc code with) and `transport` "rest" or "grpc". The label sets are bounded: the methods are the
// route table's, fixed before serving, and each method keeps at most kCodes codes (more go
// to code="other"). Successful CreateTask requests also feed the engine's per-queue
// stratus_task_create_duration_seconds.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "tasks/engine/metrics.h"

namespace stratus::api {

// "tasks.create" -> "CreateTask"; a route name not in the table comes back unchanged.
std::string_view RpcName(std::string_view route);

class RequestMetrics {
 public:
  static constexpr size_t kCodes = 8;

  // `engine`: where create latency per queue goes (may be null).
  explicit RequestMetrics(Metrics* engine);

  // Takes every route of `router` (call once all routes are added, before serving: the table
  // is read without a lock afterwards).
  void AddRoutes(const http::Router& router);

  // Lock-free and allocation-free for a routed request: a hash lookup of the route name, a
  // scan of at most kCodes slots, one histogram update. A successful CreateTask adds the
  // engine's per-queue observation (its mutex and map lookup).
  void Observe(const http::RequestContext& ctx, std::string_view route, int status, double seconds);
  // A gRPC call of `rpc` (its method name, "CreateTask"), answered with `code`; `queue` is a
  // create's parent (the per-queue create latency). Safe from any thread once AddRoutes ran.
  void ObserveGrpc(std::string_view rpc, Code code, double seconds, const std::string& queue);

  void AppendMetrics(std::string* out) const;

 private:
  struct Slot {
    std::atomic<int> code{0};  // 0: free
    metrics::Histogram latency;
  };
  enum Transport : size_t { kRest = 0, kGrpc = 1, kTransports = 2 };
  struct Method {
    std::string name;
    bool create = false;  // CreateTask: also feeds the per-queue create latency
    std::array<std::array<Slot, kCodes>, kTransports> slots;
    std::array<Slot, kTransports> other;  // codes past kCodes
  };
  Method* Find(std::string_view route) const;
  void Record(Method* method, Transport transport, int status, double seconds, const std::string& queue);

  Metrics* engine_;
  std::vector<std::unique_ptr<Method>> methods_;
  std::unordered_map<std::string_view, Method*> by_route_;  // keys point into the Router's routes
  std::unordered_map<std::string_view, Method*> by_rpc_;    // keys point to Method::name
  Method* unrouted_;
};

// Chains `metrics` into `hooks.observe` (the existing observer, if any, still runs first).
void MeterRequests(http::ServerHooks& hooks, std::shared_ptr<RequestMetrics> metrics);

}  // namespace stratus::api
