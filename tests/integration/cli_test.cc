// The `stratus` client subcommands against a real server: every command is the real binary
// run as a child process, and its stdout, stderr and exit code are checked (tables for
// people, JSON for scripts, 0 ok / 1 refused / 2 usage / 3 cannot connect).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/paths.h"
#include "integration/stratus_process.h"

namespace stratus::testing {
namespace {

using nlohmann::json;

struct CliRun {
  int code = -1;
  std::string out, err;
  json Json() const { return json::parse(out, nullptr, false); }
};

// A HOME of the test's own (no gcloud config of the machine's user), removed at exit.
const std::string& Home() {
  static const std::string* home = [] {
    char tmpl[] = "/tmp/stratus-cli-home-XXXXXX";
    auto* dir = new std::string(mkdtemp(tmpl));  // leaked: it must outlive the exit hook
    static const pid_t owner = getpid();
    std::atexit([] {
      if (getpid() == owner) std::filesystem::remove_all(Home());
    });
    return dir;
  }();
  return *home;
}

// Runs `stratus args...` with a clean environment (PATH, HOME, and `env`), stdin from /dev/null.
CliRun Cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  int out[2], err[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  std::vector<std::string> argv_s = {STRATUS_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s = {"PATH=/usr/bin:/bin", "HOME=" + Home()};
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    DieWithParent(parent);
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  CliRun r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[8192];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (open_fds > 0) kill(pid, SIGKILL);
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// A delivery target on loopback that answers every request with `status` and `body`.
class Target {
 public:
  Target(int status, std::string body) : status_(status), body_(std::move(body)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        std::string resp = "HTTP/1.1 " + std::to_string(status_) +
                           " X\r\nContent-Length: " + std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" +
                           body_;
        send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        close(c);
      }
    });
  }
  ~Target() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/work"; }

 private:
  int status_;
  std::string body_;
  int fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new StratusProcess();
    ASSERT_TRUE(server_->Start()) << server_->output();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  // `stratus args... --server URL --project P`
  static CliRun S(std::vector<std::string> args, const std::string& project,
                  const std::map<std::string, std::string>& env = {}) {
    args.insert(args.end(), {"--server", server_->tasks_url(), "--project", project});
    return Cli(args, env);
  }
  // Waits until `pred(stratus args...)` holds (60 s at most).
  static bool WaitFor(const std::vector<std::string>& args, const std::string& project,
                      const std::function<bool(const CliRun&)>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(S(args, project))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  static StratusProcess* server_;
};
StratusProcess* CliTest::server_ = nullptr;

TEST_F(CliTest, QueuesLifecycleInTablesAndJson) {
  const std::string p = "cli-queues";
  const std::string name = "projects/cli-queues/locations/us-central1/queues/q1";
  CliRun r = S({"queues", "create", "q1", "--max-dispatches-per-second", "20", "--max-attempts", "5", "--min-backoff",
                "2s", "--permanent-failure-statuses", "422,!429"},
               p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "created " + name + "\n");

  r = S({"queues", "create", "q1"}, p);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ALREADY_EXISTS"), std::string::npos) << r.err;

  r = S({"queues", "list"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')).substr(0, 5), "QUEUE");
  EXPECT_NE(r.out.find("\nq1  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RUNNING"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("20"), std::string::npos) << r.out;

  r = S({"queues", "list", "--format", "json"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  json list = r.Json();
  ASSERT_TRUE(list.is_array()) << r.out;
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], name);
  EXPECT_EQ(list[0]["rateLimits"]["maxDispatchesPerSecond"], 20);
  EXPECT_EQ(list[0]["retryConfig"]["minBackoff"], "2s");

  r = S({"queues", "describe", "q1"}, p);  // people get YAML with the stratus config
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("name: \"" + name + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("permanentFailureStatuses:\n    - 422\n"), std::string::npos) << r.out;

  r = S({"queues", "update", name, "--max-attempts", "7"}, p);  // a full name works as well
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "updated " + name + "\n");
  r = S({"queues", "describe", "q1", "--format", "json"}, p);
  EXPECT_EQ(r.Json()["retryConfig"]["maxAttempts"], 7) << r.out;
  EXPECT_EQ(r.Json()["rateLimits"]["maxDispatchesPerSecond"], 20) << "fields not given are kept";

  r = S({"queues", "describe", "q1", "--format", "yaml"}, p);
  EXPECT_NE(r.out.find("retryConfig:\n  maxAttempts: 7\n"), std::string::npos) << r.out;

  r = S({"queues", "pause", "q1"}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "paused " + name + "\n");
  EXPECT_EQ(S({"queues", "describe", "q1", "--format", "json"}, p).Json()["state"], "PAUSED");
  r = S({"queues", "resume", "q1", "--format", "json"}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.Json()["state"], "RUNNING") << r.out;
  r = S({"queues", "purge", "q1"}, p);  // stdin is not a terminal: no question
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "purged " + name + "\n");
  r = S({"queues", "delete", "q1"}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted " + name + "\n");

  r = S({"queues", "describe", "q1"}, p);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stratus queues list"), std::string::npos) << "the hint says what to do: " << r.err;
  r = S({"queues", "list"}, p);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("No queues"), std::string::npos);
}

TEST_F(CliTest, TasksLifecycle) {
  const std::string p = "cli-tasks";
  ASSERT_EQ(S({"queues", "create", "tq"}, p).code, 0);
  ASSERT_EQ(S({"queues", "pause", "tq"}, p).code, 0);  // tasks stay put
  CliRun r = S({"tasks", "create", "t1", "--queue", "tq", "--url", "http://127.0.0.1:9/hook", "--body", "hi",
                "--header", "Content-Type: text/plain", "--delay", "10m"},
               p);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string t1 = "projects/cli-tasks/locations/us-central1/queues/tq/tasks/t1";
  EXPECT_EQ(r.out, "created " + t1 + "\n");
  r = S({"tasks", "create", "--queue", "tq", "--url", "http://127.0.0.1:9/other", "--format", "json"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string t2 = r.Json().value("name", "");
  EXPECT_NE(t2.find("/queues/tq/tasks/"), std::string::npos) << r.out;

  r = S({"tasks", "list", "--queue", "tq"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("TASK", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nt1  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("POST http://127.0.0.1:9/hook"), std::string::npos) << r.out;

  r = S({"tasks", "list", "--queue", "tq", "--format", "json"}, p);
  ASSERT_TRUE(r.Json().is_array()) << r.out;
  EXPECT_EQ(r.Json().size(), 2u);
  r = S({"tasks", "list", "--queue", "tq", "--limit", "1", "--format", "json"}, p);
  EXPECT_EQ(r.Json().size(), 1u) << r.out;

  r = S({"tasks", "describe", "t1", "--queue", "tq", "--format", "json"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.Json()["httpRequest"]["body"], "aGk=");  // the full view, base64 as the API has it
  EXPECT_EQ(r.Json()["httpRequest"]["headers"]["Content-Type"], "text/plain");
  r = S({"tasks", "describe", t1}, p);
  EXPECT_NE(r.out.find("name: \"" + t1 + "\""), std::string::npos) << r.out;

  r = S({"tasks", "run", t2}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "dispatching " + t2 + "\n");

  r = S({"tasks", "delete", "t1", "--queue", "tq"}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted " + t1 + "\n");
  r = S({"tasks", "describe", "t1", "--queue", "tq"}, p);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;

  r = S({"tasks", "describe", "t1"}, p);  // a short id needs its queue
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--queue"), std::string::npos) << r.err;
  r = S({"tasks", "create", "--queue", "tq", "--url", "http://x/", "--delay", "soon"}, p);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--delay"), std::string::npos) << r.err;
}

TEST_F(CliTest, DeadLettersListShowRetryAllAndPurge) {
  const std::string p = "cli-dlq";
  Target target(422, "no such user \x1b]0;owned\x07\x1b[2J");
  ASSERT_EQ(S({"queues", "create", "dq", "--max-attempts", "1", "--permanent-failure-statuses", "422"}, p).code, 0);
  const int kTasks = 30;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(S({"tasks", "create", "d" + std::to_string(i), "--queue", "dq", "--url", target.url()}, p).code, 0);
  }
  ASSERT_TRUE(WaitFor({"dlq", "list", "--queue", "dq", "--format", "json"}, p, [&](const CliRun& r) {
    return r.Json().is_array() && r.Json().size() == kTasks;
  })) << "every task dead-lettered";

  CliRun r = S({"dlq", "list", "--queue", "dq"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("TASK", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nd7  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("422"), std::string::npos) << r.out;
  r = S({"dlq", "list", "--queue", "dq", "--limit", "5", "--format", "json"}, p);
  EXPECT_EQ(r.Json().size(), 5u);

  // The target's body comes back escaped, never as terminal control sequences.
  r = S({"dlq", "show", "d7", "--queue", "dq"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "raw ESC on the terminal";
  EXPECT_EQ(r.out.find('\x07'), std::string::npos);
  EXPECT_NE(r.out.find("responseBodyText: \"no such user \\u001b]0;owned\\u0007\\u001b[2J\""), std::string::npos)
      << r.out;
  r = S({"dlq", "show", "d7", "--queue", "dq", "--format", "json"}, p);
  EXPECT_EQ(r.Json()["responseStatus"], 422) << r.out;

  r = S({"dlq", "retry", "d1", "d2", "--queue", "dq"}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("retried projects/cli-dlq/locations/us-central1/queues/dq/tasks/d1\n"), std::string::npos);
  r = S({"dlq", "delete", "d3", "--queue", "dq"}, p);
  EXPECT_EQ(r.code, 0) << r.err;
  r = S({"dlq", "show", "d3", "--queue", "dq"}, p);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;

  // Wait for d1 and d2 to die again, then retry all of them into the paused queue.
  ASSERT_TRUE(WaitFor({"dlq", "list", "--queue", "dq", "--format", "json"}, p,
                      [&](const CliRun& r) { return r.Json().is_array() && r.Json().size() == kTasks - 1; }));
  ASSERT_EQ(S({"queues", "pause", "dq"}, p).code, 0);
  r = S({"dlq", "retry-all", "--queue", "dq"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "retried 29 dead letters of projects/cli-dlq/locations/us-central1/queues/dq\n");
  EXPECT_EQ(r.err, "") << "no progress bar when stderr is not a terminal";
  r = S({"tasks", "list", "--queue", "dq", "--format", "json"}, p);
  EXPECT_EQ(r.Json().size(), static_cast<size_t>(kTasks - 1));
  EXPECT_EQ(S({"dlq", "list", "--queue", "dq", "--format", "json"}, p).Json().size(), 0u);

  ASSERT_EQ(S({"queues", "resume", "dq"}, p).code, 0);
  ASSERT_TRUE(WaitFor({"dlq", "list", "--queue", "dq", "--format", "json"}, p,
                      [&](const CliRun& r) { return r.Json().is_array() && r.Json().size() == kTasks - 1; }));
  r = S({"dlq", "purge", "--queue", "dq", "--format", "json"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.Json()["deleted"], kTasks - 1) << r.out;
  r = S({"dlq", "retry-all", "--queue", "dq", "--format", "json"}, p);
  EXPECT_EQ(r.Json()["retried"], 0) << r.out;
}

TEST_F(CliTest, ApplyDryRunAndPrune) {
  const std::string p = "cli-apply";
  const std::string base = "projects/cli-apply/locations/us-central1/queues/";
  std::string file = Home() + "/queues.yaml";
  auto write = [&](int attempts) {
    std::ofstream(file) << "project: cli-apply\nqueues:\n  a:\n    retryConfig: {maxAttempts: " << attempts
                        << ", minBackoff: 60s}\n    stratus: {permanentFailureStatuses: [\"4xx\", \"!429\"]}\n"
                        << "  b:\n    rateLimits: {maxDispatchesPerSecond: 5}\n";
  };
  write(3);
  CliRun r = Cli({"queues", "apply", file, "--dry-run", "--server", server_->tasks_url()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("create " + base + "a\n    retryConfig.maxAttempts: (unset) -> 3\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("create " + base + "b\n"), std::string::npos) << r.out;
  EXPECT_EQ(S({"queues", "list", "--format", "json"}, p).Json().size(), 0u) << "a dry run changes nothing";

  r = Cli({"queues", "apply", file, "--server", server_->tasks_url()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "applied " + base + "a\napplied " + base + "b\n");

  r = Cli({"queues", "apply", file, "--dry-run", "--server", server_->tasks_url()});
  EXPECT_EQ(r.out, "unchanged " + base + "a\nunchanged " + base + "b\n") << "60s and 4xx,!429 compare by value";

  write(5);
  ASSERT_EQ(S({"queues", "create", "extra"}, p).code, 0);
  r = Cli({"queues", "apply", file, "--dry-run", "--prune", "--server", server_->tasks_url()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "update " + base + "a\n    retryConfig.maxAttempts: 3 -> 5\nunchanged " + base + "b\ndelete " +
                       base + "extra\n");
  r = Cli({"queues", "apply", file, "--dry-run", "--prune", "--format", "json", "--server", server_->tasks_url()});
  ASSERT_TRUE(r.Json().is_array()) << r.out;
  EXPECT_EQ(r.Json()[0]["action"], "update");
  EXPECT_EQ(r.Json()[2]["action"], "delete");
  EXPECT_EQ(S({"queues", "list", "--format", "json"}, p).Json().size(), 3u) << "a dry run prunes nothing";

  r = Cli({"queues", "apply", file, "--prune", "--server", server_->tasks_url()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "applied " + base + "a\napplied " + base + "b\ndeleted " + base + "extra\n");
  json list = S({"queues", "list", "--format", "json"}, p).Json();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(S({"queues", "describe", "a", "--format", "json"}, p).Json()["retryConfig"]["maxAttempts"], 5);

  r = Cli({"queues", "apply", Home() + "/missing.yaml", "--server", server_->tasks_url()});
  EXPECT_EQ(r.code, 2) << r.err;
}

TEST_F(CliTest, ExitCodesAndWhatToDo) {
  // 2: usage.
  CliRun r = Cli({"queues", "list", "--no-such-flag"});
  EXPECT_EQ(r.code, 2);
  r = Cli({"queues", "list", "--format", "xml"});
  EXPECT_EQ(r.code, 2);
  r = Cli({"tasks", "list"});  // --queue is required
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--queue"), std::string::npos) << r.err;
  r = Cli({"queues", "list", "--server", server_->tasks_url()});  // no project anywhere
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--project"), std::string::npos) << r.err;
  r = Cli({"queues", "--help"});
  EXPECT_EQ(r.code, 0);
  r = Cli({"queues", "create", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Example:\n  stratus queues create my-queue --max-dispatches-per-second 20"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("CLOUDSDK_CORE_PROJECT"), std::string::npos) << "the help says where defaults come from";

  // 3: cannot connect; the message names the URL and what to do.
  r = Cli({"queues", "list", "--project", "p", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("http://127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stratus serve"), std::string::npos) << r.err;
  r = Cli({"queues", "list", "--project", "p"}, {{"STRATUS_SERVER", "http://127.0.0.1:1"}});
  EXPECT_EQ(r.code, 3) << "STRATUS_SERVER is read";

  // 1: the server said no, with its google.rpc message.
  r = S({"queues", "create", "bad_id!"}, "cli-codes");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;

  // Project and location from the environment and the gcloud config, as gcloud finds them.
  ASSERT_EQ(S({"queues", "create", "envq", "--location", "us-central1"}, "cli-env").code, 0);
  r = Cli({"queues", "list", "--server", server_->tasks_url()}, {{"CLOUDSDK_CORE_PROJECT", "cli-env"}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("envq"), std::string::npos);
  std::string cfg = Home() + "/gcloud";
  std::filesystem::create_directories(cfg + "/configurations");
  std::ofstream(cfg + "/active_config") << "work\n";
  std::ofstream(cfg + "/configurations/config_work") << "[core]\naccount = a@b\nproject = cli-env\n";
  r = Cli({"queues", "list", "--server", server_->tasks_url()}, {{"CLOUDSDK_CONFIG", cfg}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("envq"), std::string::npos);
  r = Cli({"queues", "list", "--server", server_->tasks_url(), "--location", "europe-west1"},
          {{"CLOUDSDK_CONFIG", cfg}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("No queues in projects/cli-env/locations/europe-west1"), std::string::npos)
      << "--location wins over the config: " << r.err;
}

TEST(CliTokenTest, TokenFromFlagOrEnvironment) {
  StratusProcess server;
  ASSERT_TRUE(server.Start({"--api-token", "s3cret"})) << server.output();
  CliRun r = Cli({"queues", "list", "--server", server.tasks_url(), "--project", "p"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("UNAUTHENTICATED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--token"), std::string::npos) << "the hint names the flag: " << r.err;
  r = Cli({"queues", "list", "--server", server.tasks_url(), "--project", "p", "--token", "s3cret"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Cli({"queues", "create", "tq", "--server", server.tasks_url(), "--project", "p"}, {{"STRATUS_TOKEN", "s3cret"}});
  EXPECT_EQ(r.code, 0) << r.err;
}

// A server (a real one would not, but a proxy or an impostor at --server might) whose strings
// carry terminal control sequences: tables, YAML and errors show them escaped.
TEST(CliEscapingTest, WhatAServerSendsNeverReachesTheTerminalRaw) {
  Target api(200,
             R"({"queues": [{"name": "projects/p/locations/l/queues/\u001b[31mevil", "state": "RUN\u001b[2J\u009bNING",
                      "rateLimits": {"maxDispatchesPerSecond": 1}}]})");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"queues", "list"},
                                               {"queues", "describe", "q"},
                                               {"queues", "list", "--format", "yaml"},
                                               {"queues", "list", "--format", "json"},
                                               {"top", "--once", "--interval", "0.2"}}) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--server", api.url().substr(0, api.url().rfind('/')), "--project", "p"});
    CliRun r = Cli(full);
    EXPECT_EQ(r.code, 0) << args[1] << ": " << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << args[1] << " wrote a raw ESC: " << r.out;
    EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << args[1] << " wrote a raw CSI: " << r.out;
    EXPECT_NE(r.out.find("[31mevil"), std::string::npos) << r.out;
  }
  CliRun r;
  Target refusal(400,
                 R"({"error": {"code": 400, "message": "no \u001b]0;pwned\u0007 way", "status": "INVALID_ARGUMENT"}})");
  r = Cli({"queues", "describe", "q", "--server", refusal.url().substr(0, refusal.url().rfind('/')), "--project", "p"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("INVALID_ARGUMENT: no \\x1b]0;pwned\\x07 way"), std::string::npos) << r.err;
}

TEST_F(CliTest, TopOnceShowsDepthOfAPausedQueue) {
  const std::string p = "cli-top";
  ASSERT_EQ(S({"queues", "create", "busy"}, p).code, 0);
  ASSERT_EQ(S({"queues", "pause", "busy"}, p).code, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(S({"tasks", "create", "--queue", "busy", "--url", "http://127.0.0.1:9/"}, p).code, 0);
  }
  CliRun r = S({"top", "--once", "--interval", "0.2"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("QUEUE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DEPTH"), std::string::npos) << r.out;
  std::string row = r.out.substr(r.out.find("\nbusy "));
  row = row.substr(1, row.find('\n', 1) - 1);
  EXPECT_NE(row.find("PAUSED  3 "), std::string::npos) << row;
}

TEST(CliCompletionTest, BashLoadsTheScriptAndCompletes) {
  CliRun r = Cli({"completion", "bash"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string script = Home() + "/stratus.bash";
  std::ofstream(script) << r.out;
  // Complete "stratus q", "stratus dlq re" and "stratus queues apply --d" as bash would.
  std::string probe = Home() + "/probe.sh";
  std::ofstream(probe) << "source " << script << "\n"
                       << "complete -p stratus\n"
                       << "c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _stratus; "
                          "echo \"${COMPREPLY[*]}\"; }\n"
                       << "c stratus q\nc stratus dlq re\nc stratus queues apply --d\nc stratus tasks list --format "
                          "\"\"\nc stratus completion \"\"\nc stratus queues list --for\n";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl("/bin/bash", "bash", "--norc", probe.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_EQ(WEXITSTATUS(st), 0) << text;
  EXPECT_NE(text.find("complete -F _stratus stratus\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nqueues\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nretry retry-all\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n--dry-run\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntable json yaml\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbash zsh\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n--format\n"), std::string::npos) << text;

  r = Cli({"completion", "zsh"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("#compdef stratus\n", 0), 0u);
  EXPECT_NE(r.out.find("'retry-all:Retry every dead letter"), std::string::npos) << r.out;
  EXPECT_EQ(Cli({"completion", "fish"}).code, 2);
}

}  // namespace
}  // namespace stratus::testing
