// The enqueue client's local rules: idempotency keys, canonical JSON, schedule bounds, and
// refusals that happen before any request.
#include <gtest/gtest.h>

#include "stratus/sdk/task_queue.h"

namespace stratus::sdk {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(SdkIdempotencyKey, CanonicalJsonSortsKeysAtEveryDepth) {
  json a = json::parse(R"({"userId":"u1","a":[1,{"c":3,"b":2}]})");
  EXPECT_EQ(CanonicalJson(a).value(), R"({"a":[1,{"b":2,"c":3}],"userId":"u1"})");
}

TEST(SdkIdempotencyKey, IsSha256OfJobNewlineCanonicalData) {
  // sha256("calendar-sync\n{\"a\":[1,{\"b\":2,\"c\":3}],\"userId\":\"u1\"}"), computed apart.
  json data = json::parse(R"({"userId":"u1","a":[1,{"c":3,"b":2}]})");
  EXPECT_EQ(IdempotencyKey("calendar-sync", data).value(),
            "6b89137e1c1bbdbd92b20b06712ef45512f013a6c6829806b4b0823362453495");
}

TEST(SdkIdempotencyKey, SameDataSameKeyAnyKeyOrder) {
  EXPECT_EQ(IdempotencyKey("token-refresh", json::parse(R"({"x":1,"y":2})")).value(),
            IdempotencyKey("token-refresh", json::parse(R"({"y":2,"x":1})")).value());
}

TEST(SdkIdempotencyKey, DiffersByJobAndByData) {
  json d = {{"userId", "u1"}};
  EXPECT_NE(IdempotencyKey("token-refresh", d).value(), IdempotencyKey("calendar-sync", d).value());
  EXPECT_NE(IdempotencyKey("token-refresh", d).value(),
            IdempotencyKey("token-refresh", json{{"userId", "u2"}}).value());
  // The number 1 and the string "1" are different data.
  EXPECT_NE(IdempotencyKey("j", json{{"n", 1}}).value(), IdempotencyKey("j", json{{"n", "1"}}).value());
  EXPECT_EQ(IdempotencyKey("j", d).value().size(), 64u);
}

TEST(SdkSchedule, BoundsAreNowAndThirtyDays) {
  auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(ValidateScheduleTime(now, now).ok());
  EXPECT_TRUE(ValidateScheduleTime(now - 500ms, now).ok()) << "within the slack";
  EXPECT_FALSE(ValidateScheduleTime(now - 2s, now).ok());
  EXPECT_TRUE(ValidateScheduleTime(now + 24h * 30, now).ok());
  Status far = ValidateScheduleTime(now + 24h * 30 + 2s, now);
  EXPECT_EQ(far.code(), Code::kInvalidArgument);
  EXPECT_NE(far.message().find("30 days"), std::string::npos) << far.message();
  EXPECT_NE(ValidateScheduleTime(now - 2s, now).message().find("past"), std::string::npos);
}

TEST(SdkTaskQueueCreate, NeedsServiceUrl) {
  EXPECT_EQ(TaskQueue::Create({}).status().code(), Code::kInvalidArgument);
}

TEST(SdkTaskQueueCreate, NeedsAProjectAndHasNoAppDefaults) {
  TaskQueueOptions o;
  o.service_url = "http://app.test";
  o.project = "";
  Status st = TaskQueue::Create(o).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("project"), std::string::npos) << st.message();
  EXPECT_TRUE(o.job_queues.empty());
  EXPECT_EQ(o.location, "us-central1");
  o.project = "p";
  EXPECT_TRUE(TaskQueue::Create(o).ok());
}

}  // namespace
}  // namespace stratus::sdk
