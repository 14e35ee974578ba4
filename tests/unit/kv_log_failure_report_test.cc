// A Redis log write that fails where no client is waiting (the expiry of a key) is said on
// stderr, not dropped: from then on every write is refused, and the operator must learn why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/clock.h"
#include "kv/append_log.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;

TEST(KvLogFailureReportTest, FailedExpiryFlushIsLoggedAndLaterWritesAreRefused) {
  char tmpl[] = "/tmp/stratus-kvf-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  FakeClock clock{kStart};
  {
    Engine e(clock);
    EngineOptions o;
    o.log_path = dir + "/appendonly.log";
    o.active_expiry = false;
    ASSERT_TRUE(e.Open(o).ok());
    ASSERT_EQ(e.Run({"set", "k", "v", "px", "10"}).str, "OK");
    clock.Advance(50 * 1000);  // 50 ms

    e.log()->FailWritesForTest(EIO, 0);
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(e.ExpireNow(), 1u);  // the DEL of the expired key cannot be written
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("writing the Redis log failed"), std::string::npos) << err;
    EXPECT_NE(err.find("Input/output error"), std::string::npos) << err;

    EXPECT_EQ(e.Run({"set", "other", "1"}).str.rfind("MISCONF", 0), 0u);
    e.Close();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stratus::kv
