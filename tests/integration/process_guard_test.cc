// Every process a test starts is stopped, and its data dir removed, when the test process
// exits, even if the test never destroys its StratusProcess (a static or leaked fixture).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "integration/redis_test_server.h"
#include "integration/stratus_process.h"

namespace stratus::testing {
namespace {

// Alive and not a zombie (a reaped-late child of init counts as gone).
bool Running(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return false;
  int ignored = 0;
  char comm[256] = {0}, state = '?';
  int n = std::fscanf(f, "%d %255s %c", &ignored, comm, &state);
  std::fclose(f);
  return n == 3 && state != 'Z';
}

bool GoneWithin(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (Running(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(ProcessGuardTest, LeakedServersStopWhenTheTestProcessExits) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);  // the servers must not hold it open: read() ends when the test process exits
  pid_t test_process = fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {  // a test process that leaks a stratus and a redis-server, then exits
    close(fds[0]);
    auto* stratus = new StratusProcess();  // never deleted, as a static fixture would be
    auto* redis = new RedisServerProcess();
    bool ok = stratus->Start() && redis->Start();
    std::string line =
        ok ? std::to_string(stratus->pid()) + " " + std::to_string(redis->pid()) + " " + stratus->data_dir() + "\n"
           : "failed\n";
    (void)!write(fds[1], line.data(), line.size());
    std::exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(test_process, &status, 0), test_process);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_NE(got, "failed\n") << "the servers did not start";
  pid_t stratus_pid = 0, redis_pid = 0;
  char dir[256] = {0};
  ASSERT_EQ(std::sscanf(got.c_str(), "%d %d %255s", &stratus_pid, &redis_pid, dir), 3) << got;
  EXPECT_TRUE(GoneWithin(stratus_pid, std::chrono::seconds(10))) << "stratus " << stratus_pid << " outlived its test";
  EXPECT_TRUE(GoneWithin(redis_pid, std::chrono::seconds(10))) << "redis-server " << redis_pid << " outlived its test";
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  if (Running(stratus_pid)) kill(stratus_pid, SIGKILL);
  if (Running(redis_pid)) kill(redis_pid, SIGKILL);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stratus::testing
