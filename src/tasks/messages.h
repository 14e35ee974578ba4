// Google's production error texts, recorded from Cloud Tasks v2. Clients and scripts match
// on some of them, so they are kept verbatim (including Google's own grammar). The store
// never answers with these: it returns a StoreReason, and the service words it (service.cc).
// The resource-name message is with the names (model/names.h).
#pragma once

#include "model/names.h"  // msg::kQueueNameFormat

namespace stratus::msg {

inline constexpr char kQueueExists[] = "Queue already exists";
inline constexpr char kQueueRecentlyDeleted[] =
    "The queue cannot be created because a queue with this name existed too recently.";
inline constexpr char kQueueMissing[] =
    "Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.";
inline constexpr char kEntityMissing[] = "Requested entity was not found.";
inline constexpr char kEntityExists[] = "Requested entity already exists";
inline constexpr char kTaskRecentlyDeleted[] =
    "The task no longer exists, though a task with this name existed recently. The task either successfully "
    "completed or was deleted.";
inline constexpr char kUrlRequired[] = "HttpRequest.url is required.";
inline constexpr char kUrlScheme[] = "HttpTarget.url must start with 'http://' or 'https://'.";
inline constexpr char kDispatchDeadlineHttp[] = "Task.dispatchDeadline must be between [15s, 30m].";
inline constexpr char kDispatchDeadlineAppEngine[] = "Task.dispatchDeadline must be between [15s, 24h15s].";
inline constexpr char kTaskTooLarge[] = "Task size too large";
// stratus's wording (Google's text for a buffer into a queue without an HTTP target is not recorded).
inline constexpr char kBufferNeedsHttpTarget[] =
    "tasks.buffer requires a queue with an HTTP target: set the queue's httpTarget.uriOverride.host.";

}  // namespace stratus::msg
