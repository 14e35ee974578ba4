// The executor's decisions about time, as pure functions of plain values: when a job's next
// tick is, which tick follows one that fired, and the retry schedule within one execution
// (job.proto RetryConfig). executor.cc only does the timers and I/O around them;
// tests/unit/scheduler_tick_test.cc checks them.
#pragma once

#include "common/time.h"
#include "cron/cron.h"
#include "scheduler/job.h"

namespace stratus::scheduler {

// The first tick of `schedule` read in `zone` strictly after `after`; 0 when it never fires.
Micros NextTickAfter(const cron::Schedule& schedule, const date::time_zone& zone, Micros after);

// The tick to arm once the tick `fired` came due and was handled at `now` (now >= fired): the
// first tick after both. When `fired` was handled late (the process was held up, or the wall
// clock jumped), its one execution stands for the ticks up to now: they are not replayed
// (docs/scheduler.md, "Execution").
Micros FollowingTick(const cron::Schedule& schedule, const date::time_zone& zone, Micros fired, Micros now);

// The wait before retry number `k` of an execution (0 for the first retry), as job.proto
// documents maxDoublings: minBackoff, doubled maxDoublings times, then growing linearly by
// minBackoff·2^maxDoublings, capped at maxBackoff (10s/300s/3 doublings: 10, 20, 40, 80, 160,
// 240, 300, 300 s). The same formula as Cloud Tasks' (tasks/engine/retry.h).
Micros JobRetryDelay(const JobRetryConfig& config, int k);

// Whether an execution that made `attempts` attempts, the first started at `first`, tries
// again at `now`: retries go on until retryCount retries were made AND maxRetryDuration (when
// set) has passed since the first attempt ("until both limits are reached"); with both 0 a
// failed attempt is not retried.
bool JobMayRetry(const JobRetryConfig& config, int attempts, Micros first, Micros now);

}  // namespace stratus::scheduler
