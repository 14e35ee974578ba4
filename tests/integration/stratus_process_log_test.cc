// A failing integration test shows what its stratus processes wrote to stderr
// (integration/stratus_process.h): the tail of each one's log is printed when the test that
// owns it has failed, and the log file is removed when the test passed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "integration/run_shell.h"
#include "integration/stratus_process.h"

namespace stratus::testing {
namespace {

constexpr const char* kFlag = "--no-such-flag-for-the-log-test";

// Run only by StratusProcessLog.AFailedTestPrintsTheTailOfTheNodesStderr, in a process of its
// own: a node that refuses its arguments on stderr, and a test that fails.
TEST(StratusProcessLog, DISABLED_FailsWithANodeThatComplained) {
  StratusProcess p;
  EXPECT_FALSE(p.Start({kFlag}));
  ADD_FAILURE() << "failing on purpose";
}

TEST(StratusProcessLog, DISABLED_PassesWithANodeThatComplained) {
  StratusProcess p;
  EXPECT_FALSE(p.Start({kFlag}));
  std::cout << "stderr file: " << p.stderr_path() << "\n";
}

std::string Self() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

TEST(StratusProcessLog, AFailedTestPrintsTheTailOfTheNodesStderr) {
  auto run = RunShell(Self() +
                      " --gtest_also_run_disabled_tests"
                      " --gtest_filter=StratusProcessLog.DISABLED_FailsWithANodeThatComplained 2>&1");
  EXPECT_NE(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("wrote to stderr"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(std::string("argument was not expected: ") + kFlag), std::string::npos) << run.out;
}

TEST(StratusProcessLog, APassedTestPrintsNothingAndLeavesNoFile) {
  auto run = RunShell(Self() +
                      " --gtest_also_run_disabled_tests"
                      " --gtest_filter=StratusProcessLog.DISABLED_PassesWithANodeThatComplained 2>&1");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(run.out.find("wrote to stderr"), std::string::npos) << run.out;
  const size_t at = run.out.find("stderr file: ");
  ASSERT_NE(at, std::string::npos) << run.out;
  const std::string path = run.out.substr(at + 13, run.out.find('\n', at) - at - 13);
  EXPECT_FALSE(path.empty());
  EXPECT_FALSE(std::filesystem::exists(path)) << path;
}

}  // namespace
}  // namespace stratus::testing
