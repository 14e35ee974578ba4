#include <future>

#include "stratus/store.h"

namespace stratus {
namespace {

struct ReasonRow {
  StoreReason reason;
  Code code;
  std::string_view text;
};

// One row per reason: its code and its stable text (logs show it; ReasonOf reads it back).
constexpr ReasonRow kReasons[] = {
    {StoreReason::kQueueMissing, Code::kNotFound, "store: queue missing"},
    {StoreReason::kTaskMissing, Code::kNotFound, "store: task missing"},
    {StoreReason::kTaskRecentlyDeleted, Code::kNotFound, "store: task recently deleted"},
    {StoreReason::kTaskExists, Code::kAlreadyExists, "store: task exists"},
    {StoreReason::kTaskNameTombstoned, Code::kAlreadyExists, "store: task name recently deleted"},
    {StoreReason::kTaskRescheduled, Code::kFailedPrecondition, "store: task rescheduled meanwhile"},
    {StoreReason::kTaskReplaced, Code::kFailedPrecondition, "store: task replaced during the attempt"},
    {StoreReason::kDeadLetterMissing, Code::kNotFound, "store: dead letter missing"},
    {StoreReason::kBadCursor, Code::kInvalidArgument, "store: invalid cursor"},
    {StoreReason::kLeaseLost, Code::kFailedPrecondition, "store: queue lease held by another node"},
};

const ReasonRow* RowOf(StoreReason reason) {
  for (const auto& r : kReasons) {
    if (r.reason == reason) return &r;
  }
  return nullptr;
}

}  // namespace

std::pair<std::string, std::string> SplitTaskName(const std::string& name) {
  size_t pos = name.rfind("/tasks/");
  if (pos == std::string::npos) return {"", name};
  return {name.substr(0, pos), name.substr(pos + 7)};
}

Code StoreReasonCode(StoreReason reason) {
  const ReasonRow* r = RowOf(reason);
  return r ? r->code : Code::kUnknown;
}

std::string_view StoreReasonText(StoreReason reason) {
  const ReasonRow* r = RowOf(reason);
  return r ? r->text : "store: no reason";
}

Status StoreError(StoreReason reason) {
  return Status(StoreReasonCode(reason), std::string(StoreReasonText(reason)));
}

StoreReason ReasonOf(const Status& status) {
  for (const auto& r : kReasons) {
    if (r.code == status.code() && r.text == status.message()) return r.reason;
  }
  return StoreReason::kNone;
}

StatusOr<WriteResult> Store::WriteSync(Mutation mutation, Micros now) {
  std::promise<StatusOr<WriteResult>> promise;
  auto future = promise.get_future();
  Write(std::move(mutation), now, [&promise](StatusOr<WriteResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace stratus
