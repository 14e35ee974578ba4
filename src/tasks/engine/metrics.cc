#include "tasks/engine/metrics.h"

namespace stratus {
namespace {

const std::map<std::string, std::string> kHelp = {
    {"stratus_tasks_created_total", "Tasks created"},
    {"stratus_tasks_dispatched_total", "Attempts started"},
    {"stratus_tasks_succeeded_total", "Tasks delivered with a 2xx"},
    {"stratus_task_attempts_failed_total", "Failed attempts by class (3xx, 4xx, 5xx, timeout, connection)"},
    {"stratus_tasks_retried_total", "Failed attempts that scheduled a retry"},
    {"stratus_task_attempt_errors_total", "Attempts ended by an internal error (finished as failed, retried)"},
    {"stratus_tasks_dead_lettered_total", "Tasks moved to the dead letters"},
    {"stratus_dispatch_lateness_seconds", "Attempt start minus scheduleTime"},
    {"stratus_attempt_duration_seconds", "Time from sending a task to its response"},
    {"stratus_task_create_duration_seconds",
     "CreateTask requests answered OK, from the request read to the reply (the task durable)"},
    {"stratus_queue_depth", "Tasks in the queue, in flight included"},
    {"stratus_queue_in_flight", "Attempts in flight"},
    {"stratus_queue_oldest_task_age_seconds", "Time since the earliest scheduleTime among due tasks"},
    {"stratus_lease_writes_refused_total",
     "Attempt writes the store refused because another node holds the queue's lease now (this node stopped "
     "dispatching it)"},
    {"stratus_queue_lease_epoch", "Fencing epoch of the queue lease this node holds (cluster only; absent: not held)"},
};

void Family(std::string* out, const std::string& name, const char* type) {
  auto it = kHelp.find(name);
  metrics::AppendFamily(out, name, type, it == kHelp.end() ? name : it->second);
}

}  // namespace

void Metrics::Count(const std::string& name, const std::string& queue, const std::string& label, double value) {
  std::lock_guard lock(mu_);
  counters_[name][{queue, label}] += value;
}

void Metrics::AddQueue(const std::string& queue) {
  std::lock_guard lock(mu_);
  for (const char* name :
       {"stratus_tasks_created_total", "stratus_tasks_dispatched_total", "stratus_tasks_succeeded_total",
        "stratus_tasks_retried_total", "stratus_task_attempt_errors_total", "stratus_tasks_dead_lettered_total"}) {
    counters_[name].try_emplace({queue, ""}, 0);
  }
  for (const char* failure : {"3xx", "4xx", "5xx", "timeout", "connection"}) {
    counters_["stratus_task_attempts_failed_total"].try_emplace({queue, failure}, 0);
  }
}

void Metrics::Observe(const std::string& name, const std::string& queue, double seconds) {
  metrics::Histogram* h;
  {
    std::lock_guard lock(mu_);
    auto& slot = histograms_[name][queue];
    if (!slot) slot = std::make_unique<metrics::Histogram>();
    h = slot.get();
  }
  h->Observe(seconds);
}

void Metrics::SetGaugeSource(std::function<void(std::vector<Gauge>*)> source) {
  std::lock_guard lock(mu_);
  gauges_ = std::move(source);
}

void Metrics::AddSource(std::function<void(std::string*)> source) {
  std::lock_guard lock(mu_);
  sources_.push_back(std::move(source));
}

std::string Metrics::Render() const {
  std::string out;
  std::function<void(std::vector<Gauge>*)> gauges;
  std::vector<std::function<void(std::string*)>> sources;
  {
    std::lock_guard lock(mu_);
    gauges = gauges_;
    sources = sources_;
    for (const auto& [name, series] : counters_) {
      Family(&out, name, "counter");
      for (const auto& [key, v] : series) {
        std::string labels = metrics::Label("queue", key.first);
        if (!key.second.empty()) labels += "," + metrics::Label("class", key.second);
        metrics::AppendSample(&out, name, labels, v);
      }
    }
    for (const auto& [name, series] : histograms_) {
      Family(&out, name, "histogram");
      for (const auto& [queue, h] : series) metrics::AppendHistogram(&out, name, metrics::Label("queue", queue), *h);
    }
  }
  if (gauges) {
    std::vector<Gauge> values;
    gauges(&values);
    std::map<std::string, std::vector<const Gauge*>> by_name;
    for (const auto& g : values) by_name[g.name].push_back(&g);
    for (const auto& [name, list] : by_name) {
      Family(&out, name, "gauge");
      for (const Gauge* g : list) metrics::AppendSample(&out, name, metrics::Label("queue", g->queue), g->value);
    }
  }
  for (const auto& source : sources) source(&out);
  return out;
}

}  // namespace stratus
