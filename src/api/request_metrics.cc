#include "api/request_metrics.h"

#include <map>

namespace stratus::api {
namespace {

// The RPC each route implements: Google's method names for Cloud Tasks, the same style for
// the stratus extensions.
const std::map<std::string_view, std::string_view> kRpcNames = {
    {"locations.list", "ListLocations"},
    {"locations.get", "GetLocation"},
    {"locations.list.v1", "ListLocations"},
    {"locations.get.v1", "GetLocation"},
    {"queues.list", "ListQueues"},
    {"queues.create", "CreateQueue"},
    {"queues.get", "GetQueue"},
    {"queues.patch", "UpdateQueue"},
    {"queues.delete", "DeleteQueue"},
    {"queues.purge", "PurgeQueue"},
    {"queues.pause", "PauseQueue"},
    {"queues.resume", "ResumeQueue"},
    {"queues.getIamPolicy", "GetIamPolicy"},
    {"queues.setIamPolicy", "SetIamPolicy"},
    {"queues.testIamPermissions", "TestIamPermissions"},
    {"tasks.list", "ListTasks"},
    {"tasks.create", "CreateTask"},
    {"tasks.get", "GetTask"},
    {"tasks.delete", "DeleteTask"},
    {"tasks.run", "RunTask"},
    {"tasks.buffer", "BufferTask"},
    {"tasks.buffer.id", "BufferTask"},
    {"stratus.config.get", "GetQueueConfig"},
    {"stratus.config.set", "SetQueueConfig"},
    {"stratus.config.patch", "UpdateQueueConfig"},
    {"stratus.deadLetters.list", "ListDeadLetters"},
    {"stratus.deadLetters.purge", "PurgeDeadLetters"},
    {"stratus.deadLetters.retryAll", "RetryAllDeadLetters"},
    {"stratus.deadLetters.get", "GetDeadLetter"},
    {"stratus.deadLetters.delete", "DeleteDeadLetter"},
    {"stratus.deadLetters.retry", "RetryDeadLetter"},
    {"stratus.queueStats.get", "GetQueueStats"},
    {"stratus.queueStats.list", "ListQueueStats"},
    {"oidc.discovery", "GetOpenIdConfiguration"},
    {"oidc.jwks", "GetJwks"},
    {"admin.metrics", "GetMetrics"},
    {"admin.healthz", "Healthz"},
    {"admin.readyz", "Readyz"},
    {"ui.redirect", "GetDashboard"},
    {"ui.index", "GetDashboard"},
    {"ui.config", "GetDashboard"},
    {"ui.file", "GetDashboard"},
};

// The queue's full name from a tasks.create route's parameters, into a buffer each loop
// thread reuses (no allocation once it has grown).
const std::string& QueueOf(const http::RequestContext& ctx) {
  thread_local std::string name;
  name.clear();
  name += "projects/";
  name += ctx.Param("project");
  name += "/locations/";
  name += ctx.Param("location");
  name += "/queues/";
  name += ctx.Param("queue");
  return name;
}

}  // namespace

std::string_view RpcName(std::string_view route) {
  auto it = kRpcNames.find(route);
  return it == kRpcNames.end() ? route : it->second;
}

RequestMetrics::RequestMetrics(Metrics* engine) : engine_(engine) {
  methods_.push_back(std::make_unique<Method>());
  methods_.back()->name = "unrouted";
  unrouted_ = methods_.back().get();
}

void RequestMetrics::AddRoutes(const http::Router& router) {
  std::map<std::string_view, Method*> by_rpc;
  for (const auto& m : methods_) by_rpc[m->name] = m.get();
  for (const auto& route : router.routes()) {
    std::string_view rpc = RpcName(route->name);
    Method*& method = by_rpc[rpc];
    if (!method) {
      methods_.push_back(std::make_unique<Method>());
      methods_.back()->name = std::string(rpc);
      methods_.back()->create = rpc == "CreateTask";
      method = methods_.back().get();
    }
    by_route_[route->name] = method;
  }
  for (const auto& m : methods_) by_rpc_[m->name] = m.get();
}

RequestMetrics::Method* RequestMetrics::Find(std::string_view route) const {
  if (route.empty()) return unrouted_;
  auto it = by_route_.find(route);
  return it == by_route_.end() ? unrouted_ : it->second;
}

void RequestMetrics::Observe(const http::RequestContext& ctx, std::string_view route, int status, double seconds) {
  Method* method = Find(route);
  static const std::string kNone;
  Record(method, kRest, status, seconds, method->create && status == 200 ? QueueOf(ctx) : kNone);
}

void RequestMetrics::ObserveGrpc(std::string_view rpc, Code code, double seconds, const std::string& queue) {
  auto it = by_rpc_.find(rpc);
  Record(it == by_rpc_.end() ? unrouted_ : it->second, kGrpc, HttpStatusOf(code), seconds, queue);
}

void RequestMetrics::Record(Method* method, Transport transport, int status, double seconds, const std::string& queue) {
  Slot* slot = &method->other[transport];
  for (Slot& s : method->slots[transport]) {
    int code = s.code.load(std::memory_order_acquire);
    if (code == 0) {
      // Claim the free slot; a racing claim for another code moves on to the next one.
      if (s.code.compare_exchange_strong(code, status, std::memory_order_acq_rel) || code == status) {
        slot = &s;
        break;
      }
      continue;
    }
    if (code == status) {
      slot = &s;
      break;
    }
  }
  slot->latency.Observe(seconds);
  if (engine_ && status == 200 && method->create && !queue.empty()) {
    engine_->Observe("stratus_task_create_duration_seconds", queue, seconds);
  }
}

void RequestMetrics::AppendMetrics(std::string* out) const {
  struct Series {
    std::string labels;
    const metrics::Histogram* h;
  };
  std::vector<Series> series;
  for (const auto& m : methods_) {
    const std::string method = metrics::Label("method", m->name);
    for (size_t t = 0; t < kTransports; ++t) {
      const std::string transport = metrics::Label("transport", t == kGrpc ? "grpc" : "rest");
      for (const Slot& s : m->slots[t]) {
        int code = s.code.load(std::memory_order_acquire);
        if (code != 0) {
          series.push_back({method + "," + metrics::Label("code", std::to_string(code)) + "," + transport, &s.latency});
        }
      }
      if (m->other[t].latency.Read().count > 0) {
        series.push_back({method + ",code=\"other\"," + transport, &m->other[t].latency});
      }
    }
  }
  metrics::AppendFamily(out, "stratus_api_requests_total", "counter",
                        "Cloud Tasks and stratus API requests answered, by RPC method, HTTP status code and transport");
  for (const Series& s : series) {
    metrics::AppendSample(out, "stratus_api_requests_total", s.labels, static_cast<double>(s.h->Read().count));
  }
  metrics::AppendFamily(
      out, "stratus_api_request_duration_seconds", "histogram",
      "API request time from the request read to the reply, by RPC method, HTTP status code and transport");
  for (const Series& s : series) metrics::AppendHistogram(out, "stratus_api_request_duration_seconds", s.labels, *s.h);
}

void MeterRequests(http::ServerHooks& hooks, std::shared_ptr<RequestMetrics> metrics) {
  auto inner = std::move(hooks.observe);
  hooks.observe = [inner = std::move(inner), metrics = std::move(metrics)](
                      const http::RequestContext& ctx, std::string_view route, int status, double seconds) {
    if (inner) inner(ctx, route, status, seconds);
    metrics->Observe(ctx, route, status, seconds);
  };
}

}  // namespace stratus::api
