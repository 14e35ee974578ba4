// Resource names: projects/{project}/locations/{location}/queues/{queue}/tasks/{task}.
// Their checks answer with Google's messages: a name is checked before anything else.
#pragma once

#include <string>
#include <string_view>

#include "stratus/status.h"

namespace stratus {

namespace msg {
inline constexpr char kQueueNameFormat[] =
    "Queue name must be formatted: \"projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>\".";
}  // namespace msg

struct QueueName {
  std::string project, location, queue;
  std::string Parent() const { return "projects/" + project + "/locations/" + location; }
  std::string Full() const { return Parent() + "/queues/" + queue; }
};

bool ValidProjectId(std::string_view id);   // [A-Za-z0-9-:.]{1,100}
bool ValidLocationId(std::string_view id);  // [A-Za-z0-9-_]{1,63}
bool ValidQueueId(std::string_view id);     // [A-Za-z0-9-]{1,100}
bool ValidTaskId(std::string_view id);      // [A-Za-z0-9_-]{1,500}

// Parses a full queue name; INVALID_ARGUMENT with Google's message otherwise.
StatusOr<QueueName> ParseQueueName(std::string_view name);
// INVALID_ARGUMENT with Google's task-id message.
Status CheckTaskId(std::string_view id);

}  // namespace stratus
