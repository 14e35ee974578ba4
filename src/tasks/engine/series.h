// One queue's recent history at 1 s resolution: a ring of 3600 slots (the last hour), each
// holding what happened in one second of the engine's Clock (counters, small fixed
// histograms of attempt latency and dispatch lateness) and the queue's gauges as they stood
// at the end of that second. The dashboard and GET .../queues/{q}/stats read it.
//
// Threads: one writer (the queue's runner loop; every Count/Observe/SetGauges call comes from
// there) and any number of readers on other loops. Slots are atomics stamped with their
// second and read under a seqlock check, so recording takes no lock and allocates nothing:
// one slot lookup (second % 3600) and a few atomic stores (release order, no
// read-modify-write: plain stores on x86). Memory is fixed when the series is made:
// kSlots * sizeof(Slot) bytes (static_assert below), nothing grows.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/metrics.h"
#include "common/time.h"

namespace stratus {

class QueueSeries {
 public:
  static constexpr int64_t kSlots = 3600;  // seconds kept
  enum Counter : uint8_t { kCreated, kDispatched, kSucceeded, kFailed, kRetried, kDeadLettered, kCounters };

  QueueSeries();
  QueueSeries(const QueueSeries&) = delete;
  QueueSeries& operator=(const QueueSeries&) = delete;

  // Writer side (one thread). `now` is the engine Clock's time; its second picks the slot.
  void Count(Micros now, Counter c);
  void ObserveLatency(Micros now, double seconds);   // an attempt's send-to-response time
  void ObserveLateness(Micros now, double seconds);  // an attempt's start minus its scheduleTime
  // The queue's gauges after a change (tasks pending + in flight, in flight, the earliest
  // scheduleTime among pending tasks or 0). Unchanged gauges need no call: a second without
  // a record carries the last value forward.
  void SetGauges(Micros now, int64_t depth, int64_t in_flight, Micros earliest_due);

  // One point of a read: `step` seconds summed (counters, histograms), gauges as they stood
  // at the end of the point (at `now` for the point holding the current second).
  struct Point {
    int64_t second = 0;  // the first second of the point (Unix seconds)
    std::array<uint64_t, kCounters> counts{};
    std::optional<double> latency_p50, latency_p95, lateness_p95;  // none without attempts
    int64_t depth = 0;
    int64_t in_flight = 0;
    double oldest_age_seconds = 0;
  };
  // The last `seconds` seconds up to and including now's (1..kSlots), `step` seconds per
  // point (seconds % step == 0), oldest first. Seconds older than an hour read as empty.
  std::vector<Point> Read(Micros now, int64_t seconds, int64_t step) const;

  // The q-quantile (0..1) of a histogram over metrics::kSecondsBuckets (one count per bound,
  // then +Inf), interpolated linearly inside its bucket as Prometheus' histogram_quantile
  // does; the last bound when it falls in +Inf; none when empty.
  static std::optional<double> Quantile(const std::vector<uint64_t>& buckets, double q);

  static constexpr size_t kBuckets = metrics::kSecondsBuckets.size() + 1;
  struct Slot {
    std::atomic<int64_t> stamp{0};  // second + 1 (0: never used)
    std::array<std::atomic<uint32_t>, kCounters> counts{};
    std::array<std::atomic<uint32_t>, kBuckets> latency{};
    std::array<std::atomic<uint32_t>, kBuckets> lateness{};
    // Gauges when the slot opened (before this second's first change) and after its last one.
    std::array<std::atomic<int64_t>, 3> open{};
    std::array<std::atomic<int64_t>, 3> close{};
  };
  static constexpr size_t kBytes = kSlots * sizeof(Slot);

 private:
  // The slot for now's second, emptied first when it last held an older second.
  Slot& At(Micros now);
  void Observe(std::array<std::atomic<uint32_t>, kBuckets>& h, double seconds);

  std::unique_ptr<Slot[]> slots_;
  std::array<std::atomic<int64_t>, 3> gauges_{};  // the current values (depth, in flight, earliest due)
};

static_assert(sizeof(QueueSeries::Slot) == 248, "docs/operations.md states the bytes per queue");

}  // namespace stratus
