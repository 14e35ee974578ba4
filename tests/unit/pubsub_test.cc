// The embedded engine's pub/sub hub and the event-stream lines the REST layer writes.
#include "kv/pubsub.h"

#include <gtest/gtest.h>

#include "api/redis/subscribe.h"
#include "common/clock.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

struct Recorder : PubSubSink {
  std::vector<PubSubMessage> got;
  void Deliver(const PubSubMessage& m) override { got.push_back(m); }
};

TEST(PubSubHubTest, PublishCountsChannelAndPatternDeliveries) {
  PubSubHub hub;
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  uint64_t ida = hub.Subscribe(a, {"news", "news"}, {});
  uint64_t idb = hub.Subscribe(b, {}, {"n*", "news"});
  EXPECT_EQ(hub.NumSub("news"), 1);
  EXPECT_EQ(hub.NumPat(), 2);
  EXPECT_EQ(hub.Publish("news", "hi"), 3);  // a once (a repeated name counts once), b per pattern
  ASSERT_EQ(a->got.size(), 1u);
  EXPECT_EQ(a->got[0].payload, "hi");
  EXPECT_TRUE(a->got[0].pattern.empty());
  ASSERT_EQ(b->got.size(), 2u);
  EXPECT_EQ(hub.Publish("nope", "x"), 1);  // n*
  EXPECT_EQ(hub.Channels(std::nullopt), std::vector<std::string>({"news"}));
  EXPECT_EQ(hub.Channels(std::string_view("x*")), std::vector<std::string>());
  hub.Unsubscribe(ida);
  hub.Unsubscribe(ida);  // twice is harmless
  EXPECT_EQ(hub.NumSub("news"), 0);
  EXPECT_EQ(hub.Channels(std::nullopt), std::vector<std::string>());
  hub.Unsubscribe(idb);
  EXPECT_EQ(hub.NumPat(), 0);
  EXPECT_EQ(hub.subscribers(), 0u);
  EXPECT_EQ(hub.Publish("news", "x"), 0);
}

TEST(PubSubHubTest, EngineRunsPublishAndPubsub) {
  SystemClock clock;
  Engine engine(clock);
  ASSERT_TRUE(engine.Open({}).ok());
  auto r = std::make_shared<Recorder>();
  engine.pubsub()->Subscribe(r, {"c"}, {"p:*"});
  EXPECT_EQ(engine.Run({"PUBLISH", "c", "1"}), Reply::Integer(1));
  EXPECT_EQ(engine.Run({"publish", "p:x", "2"}), Reply::Integer(1));
  EXPECT_EQ(engine.Run({"PUBSUB", "NUMSUB", "c", "d"}),
            Reply::Array({Reply::Bulk("c"), Reply::Integer(1), Reply::Bulk("d"), Reply::Integer(0)}));
  EXPECT_EQ(engine.Run({"pubsub", "numpat"}), Reply::Integer(1));
  EXPECT_EQ(engine.Run({"pubsub", "numpat", "x"}),
            Reply::Error("ERR wrong number of arguments for 'pubsub|numpat' command"));
  EXPECT_EQ(engine.Run({"pubsub", "channels", "a", "b"}),
            Reply::Error("ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP."));
  EXPECT_EQ(engine.Run({"pubsub", "shardchannels"}), Reply::Array({}));
  EXPECT_EQ(engine.Run({"pubsub"}), Reply::Error("ERR wrong number of arguments for 'pubsub' command"));
  // From a script too.
  EXPECT_EQ(engine.Run({"eval", "return redis.call('publish', 'c', 'lua')", "0"}), Reply::Integer(1));
  ASSERT_EQ(r->got.size(), 3u);
  EXPECT_EQ(r->got[2].payload, "lua");
  engine.Close();
}

TEST(SseFormatTest, MessageLines) {
  EXPECT_EQ(api::redis::SseMessage({"", "ch", "hello, world"}), "data: message,ch,hello, world\n\n");
  EXPECT_EQ(api::redis::SseMessage({"p*", "pq", "x"}), "data: pmessage,p*,pq,x\n\n");
  EXPECT_EQ(api::redis::SseMessage({"", "ch", "a\nb\r\nc\rd"}), "data: message,ch,a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(api::redis::SseMessage({"", "ch", ""}), "data: message,ch,\n\n");
}

}  // namespace
}  // namespace stratus::kv
