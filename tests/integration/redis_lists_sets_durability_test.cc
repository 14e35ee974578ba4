// The list and set writes added for Upstash parity, against the real binary: each is in the
// append-only log before it is answered, so a server killed with SIGKILL right after comes
// back with every one of them; SPOP's random choice comes back as it was made.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rest_client.h"
#include "sdk/http_sync.h"
#include "stratus_process.h"

namespace stratus {
namespace {

using nlohmann::json;

constexpr const char* kToken = "lists-sets-token";

json Sorted(json a) {
  std::vector<std::string> v = a.get<std::vector<std::string>>();
  std::sort(v.begin(), v.end());
  return json(v);
}

class RedisListsSetsDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-lsdur-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  json Redis(const testing::StratusProcess& s, const json& command) {
    auto r = rest_.Call(http::Verb::post, s.redis_url(), command, {{"authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(r.status, 200) << command.dump() << " " << r.body.dump();
    return r.body["result"];
  }

  std::string dir_;
  testing::RestClient rest_;
};

TEST_F(RedisListsSetsDurabilityTest, NewListAndSetWritesSurviveKill9) {
  json popped, popped_many, after_spop;
  {
    testing::StratusProcess s;
    ASSERT_TRUE(s.Start({"--redis-token", kToken}, dir_)) << s.output();
    EXPECT_EQ(Redis(s, {"rpush", "l", "a", "b", "c", "d", "e"}), 5);
    EXPECT_EQ(Redis(s, {"linsert", "l", "before", "c", "x"}), 6);
    EXPECT_EQ(Redis(s, {"lmove", "l", "l2", "right", "left"}), "e");
    EXPECT_EQ(Redis(s, {"rpoplpush", "l", "l2"}), "d");
    EXPECT_EQ(Redis(s, {"lmpop", "1", "l", "left", "count", "2"}), json::array({"l", json::array({"a", "b"})}));
    EXPECT_EQ(Redis(s, {"sadd", "s", "1", "2", "3", "4", "5", "6", "7", "8"}), 8);
    EXPECT_EQ(Redis(s, {"sadd", "t", "2", "3", "9"}), 3);
    EXPECT_EQ(Redis(s, {"smove", "t", "s", "9"}), 1);
    popped = Redis(s, {"spop", "s"});
    popped_many = Redis(s, {"spop", "s", "3"});
    after_spop = Sorted(Redis(s, {"smembers", "s"}));
    EXPECT_EQ(after_spop.size(), 5u);
    EXPECT_GE(Redis(s, {"sunionstore", "u", "s", "t"}), 5);
    Redis(s, {"sinterstore", "i", "s", "t"});
    Redis(s, {"sdiffstore", "d", "t", "s"});
    s.Kill();
  }
  testing::StratusProcess s;
  ASSERT_TRUE(s.Start({"--redis-token", kToken}, dir_)) << s.output();
  EXPECT_EQ(Redis(s, {"lrange", "l", "0", "-1"}), json::array({"x", "c"}));
  EXPECT_EQ(Redis(s, {"lrange", "l2", "0", "-1"}), json::array({"d", "e"}));
  EXPECT_EQ(Sorted(Redis(s, {"smembers", "s"})), after_spop);
  EXPECT_EQ(Redis(s, {"sismember", "s", popped.get<std::string>()}), 0);
  for (const auto& m : popped_many) EXPECT_EQ(Redis(s, {"sismember", "s", m.get<std::string>()}), 0);
  EXPECT_EQ(Sorted(Redis(s, {"smembers", "t"})), json::array({"2", "3"}));
  json u = after_spop;
  for (const char* m : {"2", "3"}) {
    if (std::find(u.begin(), u.end(), m) == u.end()) u.push_back(m);
  }
  EXPECT_EQ(Sorted(Redis(s, {"smembers", "u"})), Sorted(u));
  json i = json::array(), d = json::array();
  for (const char* m : {"2", "3"}) {
    (std::find(after_spop.begin(), after_spop.end(), m) != after_spop.end() ? i : d).push_back(m);
  }
  EXPECT_EQ(Sorted(Redis(s, {"smembers", "i"})), i);
  EXPECT_EQ(Sorted(Redis(s, {"smembers", "d"})), d);
}

}  // namespace
}  // namespace stratus
