// A reader of the Prometheus text exposition format, enough for `stratus top`: sample lines
// with their labels and value; comments, blank lines and malformed lines are skipped.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stratus::cli {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

std::vector<Sample> ParseMetricsText(std::string_view text);

// What `stratus top` shows of one queue, summed over the series of that queue.
struct QueueSample {
  double depth = 0, in_flight = 0, oldest_age = 0;
  double dispatched = 0, succeeded = 0, failed = 0, dead_lettered = 0;  // counters since start
};
// Samples by the value of their "queue" label.
std::map<std::string, QueueSample> QueueSamples(const std::vector<Sample>& samples);

}  // namespace stratus::cli
