// The proxy's script translation: Upstash's allow-key-locking shebang flag, which a real
// Redis 7 refuses, is dropped; everything else about the body is kept.
#include <gtest/gtest.h>

#include "kv/proxy.h"

namespace stratus::kv {
namespace {

TEST(KvProxyScript, DropsAllowKeyLockingKeepsOtherFlags) {
  EXPECT_EQ(TranslateScriptForRedis("#!lua flags=allow-key-locking\nreturn 1"), "#!lua\nreturn 1");
  EXPECT_EQ(TranslateScriptForRedis("#!lua flags=no-writes,allow-key-locking\nreturn 1"),
            "#!lua flags=no-writes\nreturn 1");
  EXPECT_EQ(TranslateScriptForRedis("#!lua flags=allow-key-locking,allow-oom,no-cluster\nlocal x = 1\nreturn x"),
            "#!lua flags=allow-oom,no-cluster\nlocal x = 1\nreturn x");
  EXPECT_EQ(TranslateScriptForRedis("#!lua  flags=allow-key-locking  \nreturn 1"), "#!lua\nreturn 1");
}

TEST(KvProxyScript, LeavesOtherBodiesAlone) {
  EXPECT_EQ(TranslateScriptForRedis("return 1"), std::nullopt);
  EXPECT_EQ(TranslateScriptForRedis("#!lua flags=no-writes\nreturn 1"), std::nullopt);
  EXPECT_EQ(TranslateScriptForRedis("#!lua\nreturn 'allow-key-locking'"), std::nullopt);
  EXPECT_EQ(TranslateScriptForRedis("#!lua flags=allow-key-locking"), std::nullopt);  // no newline: Redis's error
  EXPECT_EQ(TranslateScriptForRedis("-- #!lua flags=allow-key-locking\nreturn 1"), std::nullopt);
}

}  // namespace
}  // namespace stratus::kv
