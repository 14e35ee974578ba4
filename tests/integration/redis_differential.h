// The fixture every differential test of the embedded engine shares: a real redis-server and
// an embedded Engine, started fresh for each test, fed the same commands. A test compares the
// two replies after its own Normalize (for replies whose order Redis leaves unspecified).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/clock.h"
#include "integration/redis_test_server.h"
#include "kv/engine.h"
#include "kv/util.h"

namespace stratus::testing {

// `'arg' 'arg' ...`, for failure messages.
inline std::string Shown(const kv::Argv& cmd) {
  std::string s;
  for (const auto& a : cmd) s += "'" + a + "' ";
  return s;
}

class RedisDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.Start()) {
      STRATUS_REDIS_UNAVAILABLE("redis-server did not start");
    }
    client_ = std::make_unique<RespClient>(server_.port());
    kv::EngineOptions options;
    options.dialect = kv::Dialect::kRedis;  // where Upstash and Redis differ, compare with Redis
    ASSERT_TRUE(engine_.Open(options).ok());
  }
  // Empties both.
  void Flush() {
    ASSERT_EQ(client_->Call({"FLUSHALL"}).str, "OK");
    ASSERT_EQ(engine_.Run({"FLUSHALL"}).str, "OK");
  }
  // Runs `cmd` on both: Redis's reply, the engine's in *engine_reply.
  kv::Reply Both(const kv::Argv& cmd, kv::Reply* engine_reply) {
    *engine_reply = engine_.Run(cmd);
    return client_->Call(cmd);
  }

  RedisServerProcess server_;
  std::unique_ptr<RespClient> client_;
  SystemClock clock_;
  kv::Engine engine_{clock_};
};

}  // namespace stratus::testing
