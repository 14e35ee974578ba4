#include "model/names.h"

namespace stratus {
namespace {

template <typename Pred>
bool AllOf(std::string_view s, size_t max, Pred pred) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool Alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool ValidProjectId(std::string_view id) {
  return AllOf(id, 100, [](char c) { return Alnum(c) || c == '-' || c == ':' || c == '.'; });
}
bool ValidLocationId(std::string_view id) {
  return AllOf(id, 63, [](char c) { return Alnum(c) || c == '-' || c == '_'; });
}
bool ValidQueueId(std::string_view id) {
  return AllOf(id, 100, [](char c) { return Alnum(c) || c == '-'; });
}
bool ValidTaskId(std::string_view id) {
  return AllOf(id, 500, [](char c) { return Alnum(c) || c == '-' || c == '_'; });
}

StatusOr<QueueName> ParseQueueName(std::string_view name) {
  // projects/{p}/locations/{l}/queues/{q}
  std::string_view parts[6];
  for (int i = 0; i < 6; ++i) {
    size_t slash = name.find('/');
    if (i < 5 && slash == std::string_view::npos) return InvalidArgument(msg::kQueueNameFormat);
    parts[i] = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
    if (i == 5 && slash != std::string_view::npos) return InvalidArgument(msg::kQueueNameFormat);
  }
  if (parts[0] != "projects" || parts[2] != "locations" || parts[4] != "queues" || !ValidProjectId(parts[1]) ||
      !ValidLocationId(parts[3]) || !ValidQueueId(parts[5])) {
    return InvalidArgument(msg::kQueueNameFormat);
  }
  return QueueName{std::string(parts[1]), std::string(parts[3]), std::string(parts[5])};
}

Status CheckTaskId(std::string_view id) {
  if (ValidTaskId(id)) return Status::Ok();
  return InvalidArgument("Task ID \"" + std::string(id) +
                         "\" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). "
                         "Task ID must between 1 and 500 characters.");
}

}  // namespace stratus
