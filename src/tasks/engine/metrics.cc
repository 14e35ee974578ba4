#include "tasks/engine/metrics.h"

#include <sstream>

namespace stratus {
namespace {

// Label values are queue names and fixed words; escape the three characters the format reserves.
std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

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
    {"stratus_queue_depth", "Tasks in the queue, in flight included"},
    {"stratus_queue_in_flight", "Attempts in flight"},
    {"stratus_queue_oldest_task_age_seconds", "Time since the earliest scheduleTime among due tasks"},
};

std::string Help(const std::string& name, const char* type) {
  auto it = kHelp.find(name);
  return "# HELP " + name + " " + (it == kHelp.end() ? name : it->second) + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Metrics::Count(const std::string& name, const std::string& queue, const std::string& label, double value) {
  std::lock_guard lock(mu_);
  counters_[name][{queue, label}] += value;
}

void Metrics::Observe(const std::string& name, const std::string& queue, double seconds) {
  std::lock_guard lock(mu_);
  Histogram& h = histograms_[name][queue];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::SetGaugeSource(std::function<void(std::vector<Gauge>*)> source) {
  std::lock_guard lock(mu_);
  gauges_ = std::move(source);
}

std::string Metrics::Render() const {
  std::ostringstream out;
  std::function<void(std::vector<Gauge>*)> gauges;
  {
    std::lock_guard lock(mu_);
    gauges = gauges_;
    for (const auto& [name, series] : counters_) {
      out << Help(name, "counter");
      for (const auto& [key, v] : series) {
        out << name << "{queue=\"" << Escape(key.first) << "\"";
        if (!key.second.empty()) out << ",class=\"" << Escape(key.second) << "\"";
        out << "} " << v << "\n";
      }
    }
    for (const auto& [name, series] : histograms_) {
      out << Help(name, "histogram");
      for (const auto& [queue, h] : series) {
        std::string q = Escape(queue);
        for (size_t i = 0; i < kBuckets.size(); ++i) {
          out << name << "_bucket{queue=\"" << q << "\",le=\"" << kBuckets[i] << "\"} " << h.buckets[i] << "\n";
        }
        out << name << "_bucket{queue=\"" << q << "\",le=\"+Inf\"} " << h.count << "\n";
        out << name << "_sum{queue=\"" << q << "\"} " << h.sum << "\n";
        out << name << "_count{queue=\"" << q << "\"} " << h.count << "\n";
      }
    }
  }
  if (gauges) {
    std::vector<Gauge> values;
    gauges(&values);
    std::map<std::string, std::vector<const Gauge*>> by_name;
    for (const auto& g : values) by_name[g.name].push_back(&g);
    for (const auto& [name, list] : by_name) {
      out << Help(name, "gauge");
      for (const Gauge* g : list) out << name << "{queue=\"" << Escape(g->queue) << "\"} " << g->value << "\n";
    }
  }
  return out.str();
}

}  // namespace stratus
