// Semantic checks and defaults for queues and tasks, with Google's messages where recorded
// (see messages.h) and stratus's own wording where Google's is not known.
#pragma once

#include "stratus/model.h"

namespace stratus {

struct Limits {
  double max_dispatches_per_second = 500;  // Google's cap; `--max-queue-rate` raises it
  int32_t max_concurrent_dispatches = 5000;
  Micros max_schedule_ahead = 30LL * 86400 * 1'000'000;  // 720h
  size_t max_task_bytes = 1'048'569;                     // 1 MiB - 7, as measured on Google
};

// Proto3 zero values become the Cloud Tasks defaults; maxBurstSize is derived from the rate.
void ApplyQueueDefaults(Queue* queue);
// Range checks of rateLimits and retryConfig (after defaults).
Status ValidateQueueConfig(const Queue& queue, const Limits& limits);

// Checks a task for create and normalises it: scheduleTime in the past or unset becomes
// `now`, dispatchDeadline gets its default, reserved headers are dropped, User-Agent is set.
Status PrepareNewTask(Task* task, Micros now, const Limits& limits);

}  // namespace stratus
