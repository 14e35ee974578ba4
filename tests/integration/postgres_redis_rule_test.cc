// The Redis rule of a PostgreSQL store: `serve --store postgres://...` refuses the embedded
// Redis engine (its keys would be this node's alone) and says why, unless --redis-per-node
// says that is what the user wants, or --redis-url names a Redis every node shares.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/postgres_test_db.h"
#include "integration/redis_test_server.h"
#include "integration/rest_client.h"
#include "integration/run_shell.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

const std::string kToken = "rule-token";

class PostgresRedisRule : public ::testing::Test {
 protected:
  void SetUp() override { conninfo_ = testing::FreshPostgresDb("redisrule_" + std::to_string(::getpid())); }

  // SET then GET through the node's Redis REST API; the GET's result.
  std::string SetGet(const testing::StratusProcess& p, const std::string& value) {
    const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + kToken}};
    auto set = rest_.Call(http::Verb::post, p.redis_url(), nlohmann::json::array({"SET", "rule-key", value}), auth);
    EXPECT_EQ(set.status, 200) << set.body.dump();
    auto get = rest_.Call(http::Verb::post, p.redis_url(), nlohmann::json::array({"GET", "rule-key"}), auth);
    EXPECT_EQ(get.status, 200) << get.body.dump();
    return get.body.value("result", "");
  }

  std::string conninfo_;
  testing::RestClient rest_;
};

TEST_F(PostgresRedisRule, TheEmbeddedEngineIsRefusedAndTheMessageSaysWhy) {
  const std::string dir = "/tmp/stratus-redis-rule-" + std::to_string(::getpid());
  const std::string cmd = std::string(STRATUS_BINARY) + " serve --listen 127.0.0.1:0 --grpc-listen off --data-dir " +
                          dir + " --store '" + conninfo_ + "' 2>&1";
  auto [rc, out] = testing::RunShell(cmd);
  std::filesystem::remove_all(dir);
  EXPECT_GT(rc, 0) << out;
  EXPECT_NE(out.find("its keys would live on this node only"), std::string::npos) << out;
  EXPECT_NE(out.find("--redis-url"), std::string::npos) << out;
  EXPECT_NE(out.find("--redis-per-node"), std::string::npos) << out;
  EXPECT_EQ(out.find("stratus: ready"), std::string::npos) << out;
}

TEST_F(PostgresRedisRule, RedisPerNodeKeepsAnEmbeddedEngine) {
  testing::StratusProcess node;
  ASSERT_TRUE(node.Start({"--store", conninfo_, "--redis-per-node", "--redis-token", kToken})) << node.output();
  EXPECT_EQ(SetGet(node, "embedded"), "embedded");
}

TEST_F(PostgresRedisRule, ARedisUrlIsShared) {
  testing::RedisServerProcess redis;
  ASSERT_TRUE(redis.Start()) << "redis-server did not start";
  testing::StratusProcess node;
  ASSERT_TRUE(node.Start({"--store", conninfo_, "--redis-token", kToken, "--redis-url",
                          "redis://127.0.0.1:" + std::to_string(redis.port())}))
      << node.output();
  EXPECT_EQ(SetGet(node, "shared"), "shared");
  // The key is in the real Redis, where every node would find it.
  testing::RespClient direct(redis.port());
  EXPECT_EQ(direct.Call({"GET", "rule-key"}).str, "shared");
}

}  // namespace
}  // namespace stratus
