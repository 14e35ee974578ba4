// Metric primitives every layer may use: a lock-free histogram with fixed bucket bounds and
// the Prometheus text-format writers (one HELP/TYPE pair per family, escaped label values,
// numbers that round-trip). Families are kept by their owners (tasks/engine/metrics.h,
// the SQLite writer, the API); /metrics concatenates what they render.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stratus::metrics {

// Latency bounds from a millisecond to half an hour (the longest attempt deadline). The
// alert thresholds (30 s and 60 s) are bounds, so histogram_quantile is exact there.
inline constexpr std::array<double, 20> kSecondsBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800};

// Fixed bounds (`le`); Observe is lock-free and allocation-free: a binary search over the
// bounds, one relaxed increment and one relaxed add to the sum. The bounds must outlive it.
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds = kSecondsBuckets);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  // Consistent enough for a scrape: the buckets are cumulative and +Inf equals the count.
  Snapshot Read() const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; the last is +Inf
  std::atomic<double> sum_{0};
};

// A label value with \, " and newline escaped as the text format requires.
std::string EscapeLabel(std::string_view value);
// `name="value"` with the value escaped.
std::string Label(std::string_view name, std::string_view value);
// The shortest text that reads back as `value` (integers without exponent up to 2^53),
// "+Inf", "-Inf", "NaN".
std::string FormatNumber(double value);

// "# HELP name help\n# TYPE name type\n"; once per family.
void AppendFamily(std::string* out, std::string_view name, std::string_view type, std::string_view help);
// name{labels} value; `labels` is already formatted (Label(), comma-separated) or empty.
void AppendSample(std::string* out, std::string_view name, std::string_view labels, double value);
// name_bucket{labels,le=...} for each bound and +Inf, then name_sum and name_count.
void AppendHistogram(std::string* out, std::string_view name, std::string_view labels, const Histogram& h);

}  // namespace stratus::metrics
