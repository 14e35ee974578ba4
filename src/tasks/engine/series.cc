#include "tasks/engine/series.h"

#include <algorithm>

namespace stratus {
namespace {

constexpr int kDepth = 0, kInFlight = 1, kEarliestDue = 2;

int64_t SecondOf(Micros t) {
  return t >= 0 ? t / kMicrosPerSecond : -((-t + kMicrosPerSecond - 1) / kMicrosPerSecond);
}

size_t Index(int64_t second) {
  int64_t i = second % QueueSeries::kSlots;
  return static_cast<size_t>(i < 0 ? i + QueueSeries::kSlots : i);
}

// A consistent copy of one slot, or nothing when it does not hold `second`.
struct Copy {
  std::array<uint64_t, QueueSeries::kCounters> counts{};
  std::array<uint64_t, QueueSeries::kBuckets> latency{}, lateness{};
  std::array<int64_t, 3> open{}, close{};
};

bool ReadSlot(const QueueSeries::Slot& s, int64_t second, Copy* out) {
  if (s.stamp.load(std::memory_order_acquire) != second + 1) return false;
  for (size_t i = 0; i < out->counts.size(); ++i) out->counts[i] = s.counts[i].load(std::memory_order_acquire);
  for (size_t i = 0; i < QueueSeries::kBuckets; ++i) {
    out->latency[i] = s.latency[i].load(std::memory_order_acquire);
    out->lateness[i] = s.lateness[i].load(std::memory_order_acquire);
  }
  for (size_t i = 0; i < 3; ++i) {
    out->open[i] = s.open[i].load(std::memory_order_acquire);
    out->close[i] = s.close[i].load(std::memory_order_acquire);
  }
  // Reused meanwhile for a newer second: `second` has expired. (The acquire loads above keep
  // this load after them; a value the writer stored after emptying the slot brings its stamp.)
  return s.stamp.load(std::memory_order_relaxed) == second + 1;
}

}  // namespace

QueueSeries::QueueSeries() : slots_(std::make_unique<Slot[]>(kSlots)) {}

QueueSeries::Slot& QueueSeries::At(Micros now) {
  const int64_t second = SecondOf(now);
  Slot& s = slots_[Index(second)];
  if (s.stamp.load(std::memory_order_relaxed) == second + 1) return s;
  // Seqlock write without fences (ThreadSanitizer does not model them): the slot's values are
  // stored with release, so a reader that sees one of them also sees the stamp changed from
  // the old second and drops what it read. On x86 these are plain stores.
  s.stamp.store(0, std::memory_order_relaxed);
  for (auto& c : s.counts) c.store(0, std::memory_order_release);
  for (auto& c : s.latency) c.store(0, std::memory_order_release);
  for (auto& c : s.lateness) c.store(0, std::memory_order_release);
  for (size_t i = 0; i < 3; ++i) {
    const int64_t g = gauges_[i].load(std::memory_order_relaxed);
    s.open[i].store(g, std::memory_order_release);
    s.close[i].store(g, std::memory_order_release);
  }
  s.stamp.store(second + 1, std::memory_order_release);
  return s;
}

// One writer: a load and a store, no read-modify-write.
void QueueSeries::Count(Micros now, Counter c) {
  auto& v = At(now).counts[c];
  v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void QueueSeries::Observe(std::array<std::atomic<uint32_t>, kBuckets>& h, double seconds) {
  const auto& bounds = metrics::kSecondsBuckets;
  const size_t i = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  h[i].store(h[i].load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void QueueSeries::ObserveLatency(Micros now, double seconds) {
  Observe(At(now).latency, seconds);
}

void QueueSeries::ObserveLateness(Micros now, double seconds) {
  Observe(At(now).lateness, seconds);
}

void QueueSeries::SetGauges(Micros now, int64_t depth, int64_t in_flight, Micros earliest_due) {
  Slot& s = At(now);
  const std::array<int64_t, 3> v = {depth, in_flight, earliest_due};
  for (size_t i = 0; i < 3; ++i) {
    gauges_[i].store(v[i], std::memory_order_relaxed);
    s.close[i].store(v[i], std::memory_order_release);
  }
}

std::optional<double> QueueSeries::Quantile(const std::vector<uint64_t>& buckets, double q) {
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  if (total == 0) return std::nullopt;
  const auto& bounds = metrics::kSecondsBuckets;
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0 || static_cast<double>(below + buckets[i]) < rank) {
      below += buckets[i];
      continue;
    }
    if (i >= bounds.size()) return bounds.back();  // +Inf: the largest finite bound
    const double lower = i == 0 ? 0 : bounds[i - 1];
    const double upper = bounds[i];
    return lower + (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
  }
  return bounds.back();
}

std::vector<QueueSeries::Point> QueueSeries::Read(Micros now, int64_t seconds, int64_t step) const {
  std::vector<Point> points;
  if (seconds < 1 || seconds > kSlots || step < 1 || seconds % step != 0) return points;
  const int64_t now_s = SecondOf(now);
  const int64_t start = now_s - seconds + 1;
  const int64_t oldest = now_s - kSlots + 1;  // older seconds have expired

  // The gauges as they stood before the window: the last slot before it, else the opening
  // values of the window's first slot, else (nothing changed all hour) the current values.
  std::array<int64_t, 3> gauges{};
  bool known = false;
  Copy c;
  for (int64_t t = start - 1; t >= oldest && !known; --t) {
    if (ReadSlot(slots_[Index(t)], t, &c)) {
      gauges = c.close;
      known = true;
    }
  }
  for (int64_t t = start; t <= now_s && !known; ++t) {
    if (ReadSlot(slots_[Index(t)], t, &c)) {
      gauges = c.open;
      known = true;
    }
  }
  if (!known) {
    for (size_t i = 0; i < 3; ++i) gauges[i] = gauges_[i].load(std::memory_order_relaxed);
  }

  points.reserve(static_cast<size_t>(seconds / step));
  for (int64_t first = start; first <= now_s; first += step) {
    Point p;
    p.second = first;
    std::vector<uint64_t> latency(kBuckets), lateness(kBuckets);
    for (int64_t t = first; t < first + step; ++t) {
      if (!ReadSlot(slots_[Index(t)], t, &c)) continue;
      for (size_t i = 0; i < kCounters; ++i) p.counts[i] += c.counts[i];
      for (size_t i = 0; i < kBuckets; ++i) {
        latency[i] += c.latency[i];
        lateness[i] += c.lateness[i];
      }
      gauges = c.close;
    }
    p.latency_p50 = Quantile(latency, 0.5);
    p.latency_p95 = Quantile(latency, 0.95);
    p.lateness_p95 = Quantile(lateness, 0.95);
    p.depth = gauges[kDepth];
    p.in_flight = gauges[kInFlight];
    const Micros end = std::min(now, (first + step) * kMicrosPerSecond);
    const Micros due = gauges[kEarliestDue];
    p.oldest_age_seconds = due != 0 && due < end ? static_cast<double>(end - due) / kMicrosPerSecond : 0;
    points.push_back(p);
  }
  return points;
}

}  // namespace stratus
