// A store's refusals: a fixed code and a stable reason, read back from the Status.
#include <gtest/gtest.h>

#include "stratus/store.h"

namespace stratus {
namespace {

TEST(StoreReason, EveryReasonHasItsCodeAndReadsBack) {
  const std::pair<StoreReason, Code> rows[] = {
      {StoreReason::kQueueMissing, Code::kNotFound},
      {StoreReason::kTaskMissing, Code::kNotFound},
      {StoreReason::kTaskRecentlyDeleted, Code::kNotFound},
      {StoreReason::kTaskExists, Code::kAlreadyExists},
      {StoreReason::kTaskNameTombstoned, Code::kAlreadyExists},
      {StoreReason::kTaskRescheduled, Code::kFailedPrecondition},
      {StoreReason::kTaskReplaced, Code::kFailedPrecondition},
      {StoreReason::kDeadLetterMissing, Code::kNotFound},
      {StoreReason::kBadCursor, Code::kInvalidArgument},
  };
  for (auto [reason, code] : rows) {
    Status st = StoreError(reason);
    EXPECT_EQ(st.code(), code) << st.message();
    EXPECT_EQ(ReasonOf(st), reason) << st.message();
    EXPECT_EQ(st.message().rfind("store: ", 0), 0u) << st.message();
  }
}

TEST(StoreReason, OtherStatusesHaveNone) {
  EXPECT_EQ(ReasonOf(Status::Ok()), StoreReason::kNone);
  EXPECT_EQ(ReasonOf(NotFound("Requested entity was not found.")), StoreReason::kNone);
  EXPECT_EQ(ReasonOf(Unavailable("disk I/O error")), StoreReason::kNone);
  // The text alone is not enough: the code must match too.
  EXPECT_EQ(ReasonOf(Internal(std::string(StoreReasonText(StoreReason::kQueueMissing)))), StoreReason::kNone);
}

}  // namespace
}  // namespace stratus
