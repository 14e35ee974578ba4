// Prometheus text-format metrics: counters and histograms by queue, plus gauges read at
// scrape time from the live runners.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stratus {

class Metrics {
 public:
  void Count(const std::string& name, const std::string& queue, const std::string& label = {}, double value = 1);
  void Observe(const std::string& name, const std::string& queue, double seconds);

  struct Gauge {
    std::string name;
    std::string queue;
    double value;
  };
  // Called on every scrape to append the current gauges.
  void SetGaugeSource(std::function<void(std::vector<Gauge>*)> source);

  std::string Render() const;

 private:
  static constexpr std::array<double, 16> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,      2.5,   5,    10,    30,   60,  300};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::pair<std::string, std::string>, double>> counters_;
  std::map<std::string, std::map<std::string, Histogram>> histograms_;
  std::function<void(std::vector<Gauge>*)> gauges_;
};

}  // namespace stratus
