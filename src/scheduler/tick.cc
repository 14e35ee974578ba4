#include "scheduler/tick.h"

#include <algorithm>
#include <chrono>

#include "tasks/engine/retry.h"

namespace stratus::scheduler {

Micros NextTickAfter(const cron::Schedule& schedule, const date::time_zone& zone, Micros after) {
  // Ticks are whole minutes: flooring `after` to its second keeps "strictly after" exact.
  const Micros floored = after >= 0 ? after / kMicrosPerSecond : (after - kMicrosPerSecond + 1) / kMicrosPerSecond;
  auto next = schedule.NextAfter(std::chrono::sys_seconds(std::chrono::seconds(floored)), zone);
  if (!next) return 0;
  return static_cast<Micros>(next->time_since_epoch().count()) * kMicrosPerSecond;
}

Micros FollowingTick(const cron::Schedule& schedule, const date::time_zone& zone, Micros fired, Micros now) {
  // A late tick stands for every tick up to now: the next one is after now.
  return NextTickAfter(schedule, zone, std::max(fired, now));
}

Micros JobRetryDelay(const JobRetryConfig& c, int k) {
  RetryConfig same;
  same.min_backoff = c.min_backoff;
  same.max_backoff = c.max_backoff;
  same.max_doublings = c.max_doublings;
  return RetryDelay(same, k);
}

bool JobMayRetry(const JobRetryConfig& c, int attempts, Micros first, Micros now) {
  const bool count_spent = attempts - 1 >= c.retry_count;
  const bool duration_spent = c.max_retry_duration <= 0 || now - first >= c.max_retry_duration;
  return !(count_spent && duration_spent);
}

}  // namespace stratus::scheduler
