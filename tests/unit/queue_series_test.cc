// QueueSeries: one queue's last hour at 1 s resolution, driven by a fake clock.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "tasks/engine/series.h"

namespace stratus {
namespace {

constexpr Micros kSec = kMicrosPerSecond;
constexpr Micros kT0 = 1'800'000'000LL * kSec;  // a whole second

uint64_t Created(const QueueSeries::Point& p) {
  return p.counts[QueueSeries::kCreated];
}

TEST(QueueSeries, CountsLandInTheSecondOfTheClock) {
  FakeClock clock(kT0 + 100'000);
  QueueSeries s;
  s.Count(clock.Now(), QueueSeries::kCreated);
  s.Count(clock.Now(), QueueSeries::kCreated);
  clock.Advance(kSec);  // kT0 + 1.1 s
  s.Count(clock.Now(), QueueSeries::kCreated);
  s.Count(clock.Now(), QueueSeries::kFailed);
  clock.Advance(2 * kSec);  // kT0 + 3.1 s: two seconds without records
  s.Count(clock.Now(), QueueSeries::kSucceeded);

  auto points = s.Read(clock.Now(), 5, 1);
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0].second, kT0 / kSec - 1);
  EXPECT_EQ(points[4].second, kT0 / kSec + 3);
  std::vector<uint64_t> created, failed, succeeded;
  for (const auto& p : points) {
    created.push_back(Created(p));
    failed.push_back(p.counts[QueueSeries::kFailed]);
    succeeded.push_back(p.counts[QueueSeries::kSucceeded]);
  }
  EXPECT_EQ(created, (std::vector<uint64_t>{0, 2, 1, 0, 0}));
  EXPECT_EQ(failed, (std::vector<uint64_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(succeeded, (std::vector<uint64_t>{0, 0, 0, 0, 1}));
}

TEST(QueueSeries, SlotsRollOverAndOldSecondsExpire) {
  FakeClock clock(kT0);
  QueueSeries s;
  s.Count(clock.Now(), QueueSeries::kDispatched);  // at kT0, slot kT0 % 3600
  clock.Advance(3599 * kSec);                      // the last second kT0 is still kept
  auto hour = s.Read(clock.Now(), 3600, 3600);
  ASSERT_EQ(hour.size(), 1u);
  EXPECT_EQ(hour[0].counts[QueueSeries::kDispatched], 1u);

  clock.Advance(kSec);  // kT0 + 3600 s: kT0 is more than an hour old, even though its slot was not reused
  hour = s.Read(clock.Now(), 3600, 3600);
  EXPECT_EQ(hour[0].counts[QueueSeries::kDispatched], 0u);

  // The same slot now holds the new second and starts from 0.
  s.Count(clock.Now(), QueueSeries::kDispatched);
  s.Count(clock.Now(), QueueSeries::kDispatched);
  auto last = s.Read(clock.Now(), 1, 1);
  EXPECT_EQ(last[0].counts[QueueSeries::kDispatched], 2u);
  EXPECT_EQ(s.Read(clock.Now(), 3600, 3600)[0].counts[QueueSeries::kDispatched], 2u);
}

TEST(QueueSeries, StepSumsSecondsAndAlignsOnNow) {
  FakeClock clock(kT0);
  QueueSeries s;
  for (int i = 0; i < 10; ++i) {  // i + 1 tasks created in second kT0 + i
    for (int j = 0; j <= i; ++j) s.Count(clock.Now(), QueueSeries::kCreated);
    clock.Advance(kSec);
  }
  clock.Advance(-kSec);  // now: kT0 + 9 s
  auto points = s.Read(clock.Now(), 10, 5);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].second, kT0 / kSec);
  EXPECT_EQ(Created(points[0]), 1u + 2 + 3 + 4 + 5);
  EXPECT_EQ(points[1].second, kT0 / kSec + 5);
  EXPECT_EQ(Created(points[1]), 6u + 7 + 8 + 9 + 10);
  EXPECT_TRUE(s.Read(clock.Now(), 10, 3).empty());    // not a multiple of the step
  EXPECT_TRUE(s.Read(clock.Now(), 3601, 1).empty());  // more than an hour
}

TEST(QueueSeries, QuantilesFromThePerSecondHistograms) {
  FakeClock clock(kT0);
  QueueSeries s;
  // 100 attempts in one second: 50 at 0.02 s (bucket 0.01..0.025), 50 at 0.2 s (0.1..0.25).
  for (int i = 0; i < 50; ++i) s.ObserveLatency(clock.Now(), 0.02);
  for (int i = 0; i < 50; ++i) s.ObserveLatency(clock.Now(), 0.2);
  s.ObserveLateness(clock.Now(), 3.0);  // bucket 2.5..5
  auto p = s.Read(clock.Now(), 1, 1)[0];
  ASSERT_TRUE(p.latency_p50 && p.latency_p95 && p.lateness_p95);
  EXPECT_DOUBLE_EQ(*p.latency_p50, 0.025);                 // rank 50 ends the first bucket
  EXPECT_DOUBLE_EQ(*p.latency_p95, 0.1 + 0.15 * 45 / 50);  // rank 95: 45 into the upper bucket
  EXPECT_DOUBLE_EQ(*p.lateness_p95, 2.5 + 2.5 * 0.95);

  // A step merges the histograms before the quantile: 100 more at 0.2 s a second later.
  clock.Advance(kSec);
  for (int i = 0; i < 100; ++i) s.ObserveLatency(clock.Now(), 0.2);
  auto merged = s.Read(clock.Now(), 2, 2)[0];
  EXPECT_DOUBLE_EQ(*merged.latency_p50, 0.1 + 0.15 * 50 / 150);  // rank 100 of 200
  EXPECT_FALSE(merged.lateness_p95 == std::nullopt);
  EXPECT_FALSE(s.Read(clock.Now() + 5 * kSec, 1, 1)[0].latency_p50.has_value());  // a second without attempts

  // Past the last bound: the last bound.
  EXPECT_EQ(QueueSeries::Quantile(std::vector<uint64_t>(QueueSeries::kBuckets - 1, 0), 0.5), std::nullopt);
  std::vector<uint64_t> inf(QueueSeries::kBuckets, 0);
  inf.back() = 3;
  EXPECT_DOUBLE_EQ(*QueueSeries::Quantile(inf, 0.95), 1800);
}

TEST(QueueSeries, GaugesCarryForwardFromTheLastChange) {
  FakeClock clock(kT0);
  QueueSeries s;
  s.SetGauges(clock.Now(), 3, 0, kT0 - 10 * kSec);  // three tasks, the oldest due 10 s ago
  clock.Advance(kSec);
  s.SetGauges(clock.Now(), 5, 2, kT0 - 10 * kSec);
  s.SetGauges(clock.Now() + 1000, 4, 1, kT0 - 10 * kSec);  // the end of the second counts
  clock.Advance(3 * kSec + 500'000);                       // kT0 + 4.5 s, nothing changed since kT0 + 1
  auto points = s.Read(clock.Now(), 5, 1);
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0].depth, 3);  // kT0
  EXPECT_EQ(points[1].depth, 4);  // kT0 + 1
  EXPECT_EQ(points[1].in_flight, 1);
  EXPECT_EQ(points[4].depth, 4);                         // carried to now
  EXPECT_DOUBLE_EQ(points[0].oldest_age_seconds, 11);    // at the end of kT0
  EXPECT_DOUBLE_EQ(points[4].oldest_age_seconds, 14.5);  // at now

  // Before the first change of the window: the value the window's first slot opened with.
  QueueSeries t;
  t.SetGauges(kT0, 7, 0, 0);
  t.SetGauges(kT0 + 2 * kSec, 8, 0, 0);
  auto from_start = t.Read(kT0 + 2 * kSec, 2, 1);  // seconds kT0 + 1, kT0 + 2
  EXPECT_EQ(from_start[0].depth, 7);               // kT0's close, before the window
  EXPECT_EQ(from_start[1].depth, 8);
  // An hour later nothing was recorded: the current values stand everywhere.
  auto idle = t.Read(kT0 + 7200 * kSec, 3, 1);
  EXPECT_EQ(idle[0].depth, 8);
  EXPECT_EQ(idle[2].depth, 8);
  EXPECT_DOUBLE_EQ(idle[2].oldest_age_seconds, 0);  // no pending task
}

TEST(QueueSeries, MemoryIsFixed) {
  // The documented figure (docs/operations.md): 248 bytes a second, 3600 seconds.
  EXPECT_EQ(QueueSeries::kBytes, 3600u * 248u);
  FakeClock clock(kT0);
  QueueSeries s;
  // Two hours of records reuse the same 3600 slots; nothing grows (the slots are one array).
  for (int i = 0; i < 7200; ++i) {
    s.Count(clock.Now(), QueueSeries::kDispatched);
    clock.Advance(kSec);
  }
  clock.Advance(-kSec);
  auto hour = s.Read(clock.Now(), 3600, 60);
  ASSERT_EQ(hour.size(), 60u);
  for (const auto& p : hour) EXPECT_EQ(p.counts[QueueSeries::kDispatched], 60u);
}

}  // namespace
}  // namespace stratus
