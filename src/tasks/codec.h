// Queue and Task <-> protobuf JSON, as the Cloud Tasks v2 REST API writes them: lowerCamel
// names, proto3 defaults omitted, enums as names (or integers for `enum-encoding=int`),
// Timestamps always in Z, Durations as "<seconds>s", bytes in base64.
#pragma once

#include "common/json.h"
#include "stratus/model.h"

namespace stratus {

struct JsonStyle {
  bool enums_as_int = false;
};

// Reads a Queue. Output-only fields (maxBurstSize, purgeTime, state) are read too, so the
// store can round-trip; the service decides what a request may set. Proto3 zero values are
// "unset": the caller applies defaults with ApplyQueueDefaults.
StatusOr<Queue> QueueFromJson(const JsonObject& obj);
Json QueueToJson(const Queue& queue, JsonStyle style);

// Reads a Task, output-only fields included (the service resets them on create).
StatusOr<Task> TaskFromJson(const JsonObject& obj);
Json TaskToJson(const Task& task, TaskView view, JsonStyle style);

// google.rpc.Status {code, message} as it appears inside lastAttempt.responseStatus.
Json RpcStatusToJson(const Status& status);

std::string_view HttpMethodName(HttpMethod m);

}  // namespace stratus
