#include "model/names.h"

#include <set>

#include <gtest/gtest.h>

#include "common/ids.h"
#include "stratus/model.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

TEST(ParseQueueName, SplitsAFullName) {
  auto n = ParseQueueName("projects/example.com:my-proj/locations/us_central1/queues/Q-1");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->project, "example.com:my-proj");
  EXPECT_EQ(n->location, "us_central1");
  EXPECT_EQ(n->queue, "Q-1");
  EXPECT_EQ(n->Parent(), "projects/example.com:my-proj/locations/us_central1");
  EXPECT_EQ(n->Full(), "projects/example.com:my-proj/locations/us_central1/queues/Q-1");
}

TEST(ParseQueueName, RejectsWithGooglesMessage) {
  for (const char* bad :
       {"", "q", "projects/p/locations/l/queues/", "projects/p/locations/l/queues/q/",
        "projects/p/locations/l/queues/q/tasks/t", "project/p/locations/l/queues/q", "projects/p/location/l/queues/q",
        "projects/p/locations/l/queue/q", "projects//locations/l/queues/q", "projects/p/locations//queues/q",
        "projects/p/locations/l/queues/q_1", "projects/p/locations/l/queues/q.1", "projects/p_1/locations/l/queues/q",
        "projects/p/locations/l.1/queues/q", "/projects/p/locations/l/queues/q",
        "projects/p/locations/l/queues/q%20"}) {
    auto n = ParseQueueName(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(n.status().message(),
              "Queue name must be formatted: \"projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>\".");
  }
}

TEST(ParseQueueName, LengthLimits) {
  const std::string loc = "projects/p/locations/l/queues/";
  EXPECT_TRUE(ParseQueueName(loc + std::string(100, 'q')).ok());
  EXPECT_FALSE(ParseQueueName(loc + std::string(101, 'q')).ok());
  EXPECT_TRUE(ParseQueueName("projects/p/locations/" + std::string(63, 'l') + "/queues/q").ok());
  EXPECT_FALSE(ParseQueueName("projects/p/locations/" + std::string(64, 'l') + "/queues/q").ok());
  EXPECT_TRUE(ParseQueueName("projects/" + std::string(100, 'p') + "/locations/l/queues/q").ok());
  EXPECT_FALSE(ParseQueueName("projects/" + std::string(101, 'p') + "/locations/l/queues/q").ok());
}

TEST(CheckTaskId, AcceptsLettersDigitsHyphensUnderscores) {
  for (const char* ok : {"t", "T1", "a-b_c", "4030359960083412794"}) EXPECT_TRUE(CheckTaskId(ok).ok()) << ok;
  EXPECT_TRUE(CheckTaskId(std::string(500, 'x')).ok());
}

TEST(CheckTaskId, RejectsWithGooglesMessage) {
  Status st = CheckTaskId("a.b");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "Task ID \"a.b\" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). "
            "Task ID must between 1 and 500 characters.");
  for (std::string bad : {std::string(), std::string(501, 'x'), std::string("a b"), std::string("a/b"),
                          std::string("t:run"), std::string("caf\xc3\xa9")}) {
    EXPECT_FALSE(CheckTaskId(bad).ok()) << bad;
  }
}

TEST(ValidIds, Characters) {
  EXPECT_TRUE(ValidProjectId("a.b:c-1"));
  EXPECT_FALSE(ValidProjectId("a_b"));
  EXPECT_TRUE(ValidLocationId("europe-west1_x"));
  EXPECT_FALSE(ValidLocationId("a:b"));
  EXPECT_TRUE(ValidQueueId("Queue-1"));
  EXPECT_FALSE(ValidQueueId("queue_1"));
  EXPECT_FALSE(ValidQueueId(""));
}

TEST(QueueOfTask, CutsAtTheLastTasksSegment) {
  EXPECT_EQ(QueueOfTask("projects/p/locations/l/queues/q/tasks/t"), "projects/p/locations/l/queues/q");
  EXPECT_EQ(QueueOfTask("projects/p/locations/l/queues/q"), "");
  EXPECT_EQ(QueueOfTask(""), "");
}

TEST(GenerateTaskId, NineteenDigitValidGrowingIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = GenerateTaskId();
    ASSERT_EQ(id.size(), 19u) << id;
    ASSERT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << id;
    ASSERT_NE(id[0], '0');
    ASSERT_TRUE(CheckTaskId(id).ok());
    if (!seen.empty()) {
      ASSERT_GT(id, *seen.rbegin()) << "ids must grow, so new rows append";
    }
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomHex, LowercaseHexOfTwiceTheLength) {
  std::string a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(RandomHex(0), "");
}

}  // namespace
}  // namespace stratus
