// The real binary's start checks and /readyz: a stratus.db corrupt mid-file or truncated to
// zero bytes is refused at start with a clear message; a running server whose store cannot
// commit, or whose Redis log cannot be written (MISCONF), answers /readyz 503 naming the part,
// and ready again once writes succeed. Writes are made to fail with RLIMIT_FSIZE set on the
// running server (prlimit): every write at an offset past the limit fails with EFBIG.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/base64.h"
#include "integration/paths.h"
#include "integration/rest_client.h"
#include "integration/run_shell.h"
#include "integration/stratus_process.h"

namespace stratus::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kParent[] = "projects/p/locations/l";
constexpr char kQueue[] = "projects/p/locations/l/queues/q";

// Runs `stratus serve` on `data_dir` until it exits: for a start that must be refused. A
// server that starts anyway is stopped by timeout(1) after 30 s (exit 124) and the test fails.
testing::ShellRun RunUntilExit(const std::string& data_dir) {
  std::string cmd = std::string("timeout 30 ") + STRATUS_BINARY +
                    " serve --listen 127.0.0.1:0 --redis-listen off --grpc-listen off --no-task-log --data-dir '" +
                    data_dir + "' 2>&1";
  return testing::RunShell(cmd);
}

// The pid of our child running the stratus binary (StratusProcess keeps its pid private).
pid_t ChildStratusPid() {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid()) continue;
    std::error_code ec;
    if (fs::read_symlink(entry.path() / "exe", ec) == fs::canonical(STRATUS_BINARY)) return std::stoi(name);
  }
  return -1;
}

// Sets the running server's file size limit (soft; the hard limit is left alone).
bool SetFileSizeLimit(pid_t pid, rlim_t bytes) {
  rlimit old{};
  if (prlimit(pid, RLIMIT_FSIZE, nullptr, &old) != 0) return false;
  rlimit now{bytes, old.rlim_max};
  return prlimit(pid, RLIMIT_FSIZE, &now, nullptr) == 0;
}

class Readiness : public ::testing::Test {
 protected:
  // The server must ignore SIGXFSZ to see EFBIG instead of dying: an ignored signal stays
  // ignored across fork and exec.
  bool StartIgnoringFileSizeSignal(std::vector<std::string> extra) {
    auto old = std::signal(SIGXFSZ, SIG_IGN);
    bool ok = proc_.Start(std::move(extra));
    std::signal(SIGXFSZ, old);
    return ok;
  }
  RestReply Readyz() { return rest_.Get(proc_.tasks_url() + "/readyz"); }
  RestReply CreateTask(size_t body_bytes) {
    Json task = {
        {"httpRequest", {{"url", "http://127.0.0.1:9/h"}, {"body", Base64Encode(std::string(body_bytes, 'b'))}}}};
    return rest_.Post(proc_.tasks_url() + "/v2/" + kQueue + "/tasks", Json{{"task", task}});
  }
  void CreatePausedQueue() {
    ASSERT_EQ(rest_.Post(proc_.tasks_url() + "/v2/" + kParent + "/queues", Json{{"name", kQueue}}).status, 200);
    ASSERT_EQ(rest_.Post(proc_.tasks_url() + "/v2/" + kQueue + ":pause").status, 200);
  }

  StratusProcess proc_;
  RestClient rest_;
};

TEST_F(Readiness, ReadyzAnswersJsonNamingEachPart) {
  ASSERT_TRUE(proc_.Start()) << proc_.output();
  RestReply r = Readyz();
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["ready"], true);
  EXPECT_EQ(r.body["checks"]["store"], "ok");
  EXPECT_EQ(r.body["checks"]["redis"], "ok");
}

TEST_F(Readiness, StoreThatCannotCommitIsNotReadyUntilWritesSucceedAgain) {
  ASSERT_TRUE(StartIgnoringFileSizeSignal({"--redis-listen", "off"})) << proc_.output();
  CreatePausedQueue();
  ASSERT_EQ(Readyz().status, 200);
  pid_t pid = ChildStratusPid();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(SetFileSizeLimit(pid, 1));  // every WAL append now fails

  RestReply create = CreateTask(10);
  EXPECT_EQ(create.status, 503) << create.body.dump();
  RestReply r = Readyz();
  EXPECT_EQ(r.status, 503) << r.body.dump();
  EXPECT_EQ(r.body["ready"], false);
  ASSERT_TRUE(r.body["checks"]["store"].is_string());
  EXPECT_NE(r.body["checks"]["store"].get<std::string>().find("the last commit failed"), std::string::npos)
      << r.body.dump();
  EXPECT_EQ(r.body["checks"].value("redis", "absent"), "absent");  // --redis-listen off: no Redis part

  // Room again: the readiness probe's own commit succeeds, with no task traffic needed.
  ASSERT_TRUE(SetFileSizeLimit(pid, RLIM_INFINITY));
  RestReply again = Readyz();
  EXPECT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(CreateTask(10).status, 200);
}

TEST_F(Readiness, RedisLogThatCannotBeWrittenIsNotReady) {
  ASSERT_TRUE(StartIgnoringFileSizeSignal({"--redis-token", "t0ken"})) << proc_.output();
  ASSERT_EQ(Readyz().status, 200);
  pid_t pid = ChildStratusPid();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(SetFileSizeLimit(pid, 1));

  RestReply set = rest_.Call(http::Verb::post, proc_.redis_url(), Json::array({"SET", "k", "v"}),
                             {{"Authorization", "Bearer t0ken"}});
  ASSERT_TRUE(set.body.is_object()) << set.body.dump();
  EXPECT_EQ(set.body.value("error", "").rfind("MISCONF", 0), 0u) << set.body.dump();
  RestReply r = Readyz();
  EXPECT_EQ(r.status, 503) << r.body.dump();
  EXPECT_EQ(r.body["ready"], false);
  EXPECT_EQ(r.body["checks"]["store"], "ok");
  ASSERT_TRUE(r.body["checks"]["redis"].is_string()) << r.body.dump();
  EXPECT_EQ(r.body["checks"]["redis"].get<std::string>().rfind("MISCONF", 0), 0u) << r.body.dump();
  ASSERT_TRUE(SetFileSizeLimit(pid, RLIM_INFINITY));
}

// Fills a data dir with a queue and tasks whose bodies span overflow pages (which nothing
// reads at start), then stops cleanly (the WAL is checkpointed into stratus.db and removed).
void MakeDataDir(StratusProcess& proc, RestClient& rest) {
  ASSERT_TRUE(proc.Start({"--redis-listen", "off"})) << proc.output();
  ASSERT_EQ(rest.Post(proc.tasks_url() + "/v2/" + kParent + "/queues", Json{{"name", kQueue}}).status, 200);
  ASSERT_EQ(rest.Post(proc.tasks_url() + "/v2/" + kQueue + ":pause").status, 200);
  for (int i = 0; i < 30; ++i) {
    Json task = {{"httpRequest", {{"url", "http://127.0.0.1:9/h"}, {"body", Base64Encode(std::string(20000, 'b'))}}}};
    ASSERT_EQ(rest.Post(proc.tasks_url() + "/v2/" + kQueue + "/tasks", Json{{"task", task}}).status, 200);
  }
  proc.Stop();
}

TEST(StoreStartChecks, DatabaseCorruptMidFileIsRefused) {
  StratusProcess proc;
  RestClient rest;
  MakeDataDir(proc, rest);
  if (HasFatalFailure()) return;
  const std::string db = proc.data_dir() + "/stratus.db";
  const auto size = fs::file_size(db);
  // The page size is the big-endian u16 at offset 16 of the header.
  std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
  unsigned char header[18];
  f.read(reinterpret_cast<char*>(header), sizeof header);
  const size_t page = static_cast<size_t>(header[16]) << 8 | header[17];
  ASSERT_GE(page, 512u);
  ASSERT_GE(size / page, 20u) << "too few pages to corrupt the middle";
  // Garbage over a run of pages in the middle of the file, leaving the header intact.
  const std::string garbage(page * 4, '\xa5');
  f.seekp(static_cast<std::streamoff>(size / page / 2 * page));
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  f.close();

  testing::ShellRun e = RunUntilExit(proc.data_dir());
  EXPECT_EQ(e.code, 1) << e.out;
  EXPECT_NE(e.out.find("stratus.db failed its integrity check (PRAGMA quick_check: "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("refusing to start"), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find("stratus: ready"), std::string::npos) << e.out;
}

TEST(StoreStartChecks, ZeroLengthDatabaseIsRefusedWhereDataWasExpected) {
  StratusProcess proc;
  RestClient rest;
  MakeDataDir(proc, rest);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(fs::exists(proc.data_dir() + "/oidc"));
  fs::resize_file(proc.data_dir() + "/stratus.db", 0);

  testing::ShellRun e = RunUntilExit(proc.data_dir());
  EXPECT_EQ(e.code, 1) << e.out;
  EXPECT_NE(e.out.find("stratus.db is empty (0 bytes), but "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("/oidc exists, so it held data: refusing to start on an empty database"), std::string::npos)
      << e.out;
  EXPECT_EQ(fs::file_size(proc.data_dir() + "/stratus.db"), 0u) << "the empty file is left as it was";
}

TEST(StoreStartChecks, ZeroLengthDatabaseBesideItsWalIsRefused) {
  char tmpl[] = "/tmp/stratus-it-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/stratus.db").close();
  std::ofstream(dir + "/stratus.db-wal") << "frames";
  testing::ShellRun e = RunUntilExit(dir);
  EXPECT_EQ(e.code, 1) << e.out;
  EXPECT_NE(e.out.find("stratus.db-wal exists, so it held data"), std::string::npos) << e.out;
  fs::remove_all(dir);
}

TEST(StoreStartChecks, ZeroLengthDatabaseInAFreshDirIsANewDatabase) {
  // What a crash between creating the file and the first write leaves: nothing was lost.
  char tmpl[] = "/tmp/stratus-it-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/stratus.db").close();
  {
    StratusProcess proc;
    ASSERT_TRUE(proc.Start({"--redis-listen", "off"}, dir)) << proc.output();
    RestClient rest;
    EXPECT_EQ(rest.Get(proc.tasks_url() + "/readyz").status, 200);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stratus::testing
