// The enqueue client's local rules: idempotency keys, canonical JSON, schedule bounds, and
// refusals that happen before any request.
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// A job whose enqueue throws (nlohmann refuses to write a task id that is not UTF-8) gets an
// INTERNAL result and a log line; the jobs after it still run, and the call returns. Before,
// the throw ended its worker silently and AddBatch waited for it for ever.
TEST(SdkTaskQueueAdd, AJobWhoseEnqueueThrowsFailsAloneAndTheBatchReturns) {
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mu = std::make_shared<std::mutex>();
  TaskQueueOptions o;
  o.project = "p";
  o.service_url = "http://app.test";
  o.job_queues = {{"j", "q"}};
  o.logger = Logger([lines, mu](std::string_view line) {
    std::lock_guard lock(*mu);
    lines->emplace_back(line);
  });
  auto created = TaskQueue::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  TaskQueue* queue = created->release();  // kept alive for ever if the call below never returns

  AddOptions bad;
  bad.task_id = "\xff";
  // Nothing reaches the network: the other job is refused locally (no queue for it).
  std::vector<Job> jobs = {{"j", json::object(), bad}, {"unknown", json::object(), {}}, {"j", json::object(), bad}};
  // One worker (the one that throws is replaced) and one worker per job.
  using Results = std::vector<StatusOr<EnqueuedTask>>;
  auto done = std::make_shared<std::promise<std::pair<Results, Results>>>();
  auto result = done->get_future();
  std::thread([queue, jobs, done] { done->set_value({queue->AddBatch(jobs, 1), queue->AddBatch(jobs, 3)}); }).detach();
  ASSERT_EQ(result.wait_for(60s), std::future_status::ready) << "AddBatch never returned";
  auto [one, three] = result.get();
  delete queue;

  for (const Results& results : {one, three}) {
    ASSERT_EQ(results.size(), 3u);
    for (size_t i : {0u, 2u}) {
      EXPECT_EQ(results[i].status().code(), Code::kInternal) << i;
      EXPECT_NE(results[i].status().message().find("threw"), std::string::npos) << results[i].status().message();
    }
    EXPECT_EQ(results[1].status().code(), Code::kInvalidArgument) << results[1].status().ToString();
  }
  std::lock_guard lock(*mu);
  ASSERT_EQ(lines->size(), 4u);
  EXPECT_NE((*lines)[0].find("task_queue.add_threw"), std::string::npos) << (*lines)[0];
}

}  // namespace
}  // namespace stratus::sdk
