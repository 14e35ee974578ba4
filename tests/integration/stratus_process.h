// The real stratus binary as a child process for integration tests: a fresh data dir, port 0
// for both APIs, and the URLs it printed in its banner. Stopped (SIGTERM) on destruction.
//
// Its stderr (the JSON log lines) goes to a file of its own in /tmp (stderr_path()), kept
// across restarts of the same object. When the test that owns it has failed, destruction
// prints the file's last lines to the test's stderr and keeps the file; otherwise the file is
// removed.
//
// Every child a test starts is also stopped when the test process exits, whether or not its
// owner was destroyed (a static or leaked fixture): ChildRegistry keeps each live child and an
// atexit hook stops them and removes their data dirs. Children get PR_SET_PDEATHSIG too, so a
// test process that crashes does not leave servers behind either.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "integration/paths.h"

namespace stratus::testing {

// Children started by this test process and not yet stopped, with a cleanup to run for each
// at exit. Leaked on purpose: it must outlive every static that registers with it.
class ChildRegistry {
 public:
  using Cleanup = void (*)(void* owner);
  static ChildRegistry& Get() {
    static auto* registry = new ChildRegistry();
    return *registry;
  }
  void Add(void* owner, Cleanup cleanup) {
    std::lock_guard lock(mu_);
    if (!hooked_) {
      hooked_ = true;
      std::atexit([] { Get().StopAll(); });
    }
    if (owner_pid_ != getpid()) {  // first child here, or a forked test process starting its own
      live_.clear();               // the parent's children are the parent's to stop
      owner_pid_ = getpid();
    }
    live_[owner] = cleanup;
  }
  void Remove(void* owner) {
    std::lock_guard lock(mu_);
    live_.erase(owner);
  }

 private:
  void StopAll() {
    if (getpid() != owner_pid_) return;  // a forked child (a death test) must not stop the parent's servers
    std::map<void*, Cleanup> live;
    {
      std::lock_guard lock(mu_);
      live.swap(live_);
    }
    for (auto& [owner, cleanup] : live) cleanup(owner);
  }

  std::mutex mu_;
  bool hooked_ = false;
  pid_t owner_pid_ = -1;
  std::map<void*, Cleanup> live_;
};

// In a freshly forked child, before exec: die with the test process.
inline void DieWithParent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent is already gone
}

class StratusProcess {
 public:
  StratusProcess() = default;
  StratusProcess(const StratusProcess&) = delete;
  StratusProcess& operator=(const StratusProcess&) = delete;
  ~StratusProcess() { Cleanup(); }

  // Starts `stratus serve --listen 127.0.0.1:0 --data-dir DIR extra...` and waits for
  // "stratus: ready" (false after 15 s or an early exit; `output()` tells why).
  bool Start(std::vector<std::string> extra = {}, std::string data_dir = "") {
    if (data_dir.empty()) {
      char tmpl[] = "/tmp/stratus-it-XXXXXX";
      data_dir_ = mkdtemp(tmpl);
      owns_dir_ = true;
    } else {
      data_dir_ = data_dir;
    }
    if (stderr_path_.empty()) {
      char log_tmpl[] = "/tmp/stratus-it-stderr-XXXXXX";
      int fd = mkstemp(log_tmpl);
      if (fd < 0) return false;
      close(fd);
      stderr_path_ = log_tmpl;
    }
    int fds[2];
    if (pipe(fds) != 0) return false;
    std::vector<std::string> args = {STRATUS_BINARY, "serve",   "--listen",     "127.0.0.1:0",
                                     "--data-dir",   data_dir_, "--no-task-log"};
    // gRPC stays off unless a test asks for it (`--grpc-listen 127.0.0.1:0`): its default is
    // a fixed port, which parallel tests would fight over.
    if (std::find(extra.begin(), extra.end(), "--grpc-listen") == extra.end()) {
      args.insert(args.end(), {"--grpc-listen", "off"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    ChildRegistry::Get().Add(this, [](void* self) { static_cast<StratusProcess*>(self)->Cleanup(); });
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      DieWithParent(parent);
      dup2(fds[1], 1);
      int log = open(stderr_path_.c_str(), O_WRONLY | O_APPEND);
      if (log < 0) log = open("/dev/null", O_WRONLY);
      dup2(log, 2);
      close(fds[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    std::string buf;
    static const std::regex kUrlLine("^stratus: (.+?) on (https?://\\S+)");
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      ssize_t n = read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        output_ += line + "\n";
        std::smatch m;
        if (std::regex_search(line, m, kUrlLine)) urls_[m[1]] = m[2];
        if (line == "stratus: ready") {
          pending_ = buf;
          return true;
        }
      }
    }
    return false;
  }

  void Stop() { Signal(SIGTERM); }
  void Kill() { Signal(SIGKILL); }

  std::string tasks_url() const { return Url("Cloud Tasks v2 API"); }
  std::string redis_url() const { return Url("Redis REST API"); }
  // "127.0.0.1:PORT", what a gRPC channel dials (started with --grpc-listen).
  std::string grpc_target() const {
    std::string u = Url("Cloud Tasks v2 gRPC API");
    size_t scheme = u.find("://");
    return scheme == std::string::npos ? u : u.substr(scheme + 3);
  }
  std::string Url(const std::string& what) const {
    auto it = urls_.find(what);
    return it == urls_.end() ? "" : it->second;
  }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& output() const { return output_; }
  // Where its stderr goes (empty before the first Start), and the last `lines` lines of it.
  const std::string& stderr_path() const { return stderr_path_; }
  std::string stderr_tail(size_t lines = 40) const {
    std::ifstream in(stderr_path_);
    std::deque<std::string> last;
    for (std::string line; std::getline(in, line);) {
      last.push_back(std::move(line));
      if (last.size() > lines) last.pop_front();
    }
    std::string out;
    for (const std::string& line : last) out += line + "\n";
    return out;
  }
  pid_t pid() const { return pid_; }
  void SendSignal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  // Reads stdout after "ready" until a line starting with `prefix` (false after `timeout`).
  bool WaitForLine(const std::string& prefix, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      size_t nl;
      while ((nl = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        output_ += line + "\n";
        if (line.rfind(prefix, 0) == 0) return true;
      }
      pollfd p{out_fd_, POLLIN, 0};
      if (out_fd_ < 0 || poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      ssize_t n = read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) return false;
      pending_.append(chunk, static_cast<size_t>(n));
    }
    return false;
  }

 private:
  void Cleanup() {
    Stop();
    if (!stderr_path_.empty()) {
      if (::testing::Test::HasFailure()) {
        std::cerr << "--- the last lines stratus (data dir " << data_dir_ << ") wrote to stderr; all of it in "
                  << stderr_path_ << " ---\n"
                  << stderr_tail() << "--- end of its stderr ---\n";
      } else {
        std::filesystem::remove(stderr_path_);
      }
      stderr_path_.clear();
    }
    if (!data_dir_.empty() && owns_dir_) std::filesystem::remove_all(data_dir_);
    owns_dir_ = false;
    ChildRegistry::Get().Remove(this);
  }
  void Signal(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string data_dir_;
  bool owns_dir_ = false;
  std::map<std::string, std::string> urls_;
  std::string output_;
  std::string pending_;      // read after "ready", not yet split into lines
  std::string stderr_path_;  // the child's stderr, appended across restarts
};

}  // namespace stratus::testing
