// Job <-> protobuf JSON, as the Cloud Scheduler v1 REST API writes them (job.proto,
// target.proto): lowerCamel names, proto3 defaults omitted, enums as names (or integers for
// `enum-encoding=int`), Timestamps in Z, Durations as "<seconds>s", the body in base64.
//
// The stratus extension Job.queue travels as "stratusQueue" (docs/scheduler.md).
#pragma once

#include <set>
#include <string>

#include "common/json.h"
#include "scheduler/job.h"
#include "tasks/codec.h"

namespace stratus::scheduler {

// A decoded Job and the fields the request body named, as mask paths in lowerCamel form
// ("description", "httpTarget.uri", "retryConfig.retryCount"): PATCH without an updateMask
// updates exactly these (AIP-134).
struct JobInput {
  Job job;
  std::set<std::string> present;
};

// Reads a Job. Output-only fields (state, status, scheduleTime, lastAttemptTime,
// userUpdateTime) are accepted and read too (the service ignores them). A pubsubTarget or
// appEngineHttpTarget is UNIMPLEMENTED. Values are kept as sent: proto3 zeros stay zero, the
// service applies Cloud Scheduler's defaults (ApplyJobDefaults).
StatusOr<JobInput> JobFromJson(const JsonObject& obj);
Json JobToJson(const Job& job, JsonStyle style);

std::string_view JobStateName(JobState s);

}  // namespace stratus::scheduler
