// Prometheus text-format metrics: counters and histograms by queue, plus gauges read at
// scrape time from the live runners, plus the families other parts of the server render
// (API requests, store commits, Redis commands) through AddSource.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"

namespace stratus {

class Metrics {
 public:
  // Cost: one mutex and a map lookup by (family, queue) each (Count builds its key pair).
  void Count(const std::string& name, const std::string& queue, const std::string& label = {}, double value = 1);
  // Histograms use metrics::kSecondsBuckets; the lookup is under the mutex, the update is not.
  void Observe(const std::string& name, const std::string& queue, double seconds);
  // Puts the queue's counters at 0 (each failure class included), so its first failure or
  // dead letter shows in increase() and rate() and a panel reads 0 rather than no data.
  void AddQueue(const std::string& queue);

  struct Gauge {
    std::string name;
    std::string queue;
    double value;
  };
  // Called on every scrape to append the current gauges.
  void SetGaugeSource(std::function<void(std::vector<Gauge>*)> source);
  // Appends whole families (HELP/TYPE included) on every scrape, after the ones above. Each
  // source owns its family names.
  void AddSource(std::function<void(std::string*)> source);

  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::pair<std::string, std::string>, double>> counters_;
  // unique_ptr: a histogram's atomics do not move, and Observe updates it outside the lock.
  std::map<std::string, std::map<std::string, std::unique_ptr<metrics::Histogram>>> histograms_;
  std::function<void(std::vector<Gauge>*)> gauges_;
  std::vector<std::function<void(std::string*)>> sources_;
};

}  // namespace stratus
