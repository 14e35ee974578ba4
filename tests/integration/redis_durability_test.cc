// The real binary and its data dir on bad days: a Redis log corrupt in the middle stops the
// start with the byte offset until `stratus redis-check-log --fix` repairs it; a torn tail is
// dropped with a line saying so; a write the disk refuses is undone; a second server on the
// same data dir is refused; secrets and the database are private, durable, and the Redis
// token is printed once; Redis REST JSON nested too deep is refused before it is parsed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "integration/paths.h"
#include "integration/rest_client.h"
#include "sdk/http_sync.h"

namespace stratus {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kToken[] = "durability-token";

// `stratus ARGS...` as a child with stdout and stderr in one pipe (the start errors and the
// log repair's report are on stderr, the banner on stdout).
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }

  // `fsize_limit` > 0: RLIMIT_FSIZE for the child, so every write past that file size fails
  // with EFBIG as a full disk would (SIGXFSZ ignored, as the kernel then returns the error).
  void Spawn(std::vector<std::string> args, rlim_t fsize_limit = 0) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    args.insert(args.begin(), STRATUS_BINARY);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      if (fsize_limit > 0) {
        signal(SIGXFSZ, SIG_IGN);
        rlimit lim{fsize_limit, fsize_limit};
        setrlimit(RLIMIT_FSIZE, &lim);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }

  // Reads output until a line equal to `line` (true), or EOF or 30 s (false).
  bool WaitForLine(const std::string& line) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (HasLine(line)) return true;
      if (!ReadSome(100)) return HasLine(line);
    }
    return false;
  }

  // Reads to EOF and reaps: the exit code (-1 when killed by a signal, or still running
  // after 60 s: a server that should have refused to start is killed, not waited on).
  int Wait() {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (ReadSome(100)) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
    }
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    Wait();
  }

  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }
  std::string Url(const std::string& what) const {
    std::smatch m;
    std::regex re("stratus: " + what + " on (http://\\S+)");
    return std::regex_search(output_, m, re) ? m[1].str() : "";
  }

 private:
  bool HasLine(const std::string& line) const { return ("\n" + output_).find("\n" + line + "\n") != std::string::npos; }
  // false at EOF.
  bool ReadSome(int timeout_ms) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) {
      close(fd_);
      fd_ = -1;
      return false;
    }
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
};

std::vector<std::string> ServeArgs(const std::string& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"serve", "--listen",      "127.0.0.1:0",   "--data-dir",
                                   dir,     "--no-task-log", "--grpc-listen", "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Runs a command to its end: (exit code, output).
std::pair<int, std::string> RunStratus(std::vector<std::string> args) {
  Child c;
  c.Spawn(std::move(args));
  int code = c.Wait();
  return {code, c.output()};
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

size_t Count(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string_view::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

class RedisDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::umask(022);  // the usual default, which the server must not leave its secrets under
    char tmpl[] = "/tmp/stratus-dur-XXXXXX";
    root_ = mkdtemp(tmpl);
    dir_ = root_ + "/data";
    log_ = dir_ + "/redis/appendonly.log";
  }
  void TearDown() override { fs::remove_all(root_); }

  // Starts a server and waits until it is ready.
  void Serve(Child& c, std::vector<std::string> extra = {"--redis-token", kToken}, rlim_t fsize_limit = 0) {
    c.Spawn(ServeArgs(dir_, std::move(extra)), fsize_limit);
    ASSERT_TRUE(c.WaitForLine("stratus: ready")) << c.output();
  }

  testing::RestReply Redis(const Child& c, const nlohmann::json& command) {
    return rest_.Call(http::Verb::post, c.Url("Redis REST API"), command,
                      {{"authorization", std::string("Bearer ") + kToken}});
  }

  std::string root_, dir_, log_;
  testing::RestClient rest_;
};

TEST_F(RedisDurabilityTest, CorruptLogRefusesToStartUntilRepaired) {
  {
    Child c;
    Serve(c);
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(Redis(c, {"set", "key:" + std::to_string(i), "value"}).body["result"], "OK");
    }
  }
  // 9 bytes of garbage in the middle of the 100 records.
  std::string log = ReadAll(log_);
  size_t middle = log.size() / 2;
  size_t record = log.rfind("*3\r\n$3\r\nSET", middle);
  ASSERT_NE(record, std::string::npos);
  log.replace(middle, 9, "#garbage#");
  WriteAll(log_, log);
  const size_t kept = Count(std::string_view(log).substr(0, record), "*3\r\n$3\r\nSET");

  auto [code, out] = RunStratus(ServeArgs(dir_, {"--redis-token", kToken}));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find(log_ + " is corrupt at byte " + std::to_string(record) + " of " + std::to_string(log.size())),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("stratus redis-check-log --fix " + dir_), std::string::npos) << out;
  EXPECT_EQ(ReadAll(log_), log) << "a refused start changes nothing";

  // The check alone reports and changes nothing.
  auto [check_code, check_out] = RunStratus({"redis-check-log", dir_});
  EXPECT_EQ(check_code, 1) << check_out;
  EXPECT_NE(check_out.find("corrupt at byte " + std::to_string(record)), std::string::npos) << check_out;
  EXPECT_NE(check_out.find("the " + std::to_string(log.size() - record) + " bytes from byte " + std::to_string(record)),
            std::string::npos)
      << check_out;
  EXPECT_EQ(ReadAll(log_), log);

  auto [fix_code, fix_out] = RunStratus({"redis-check-log", "--fix", dir_});
  EXPECT_EQ(fix_code, 0) << fix_out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(fix_out, m, std::regex("backup: (\\S+)"))) << fix_out;
  EXPECT_EQ(ReadAll(m[1].str()), log) << "the backup is the log as it was";
  EXPECT_EQ(fs::file_size(log_), record);

  Child c;
  Serve(c);
  EXPECT_EQ(Redis(c, {"dbsize"}).body["result"], kept);
  EXPECT_EQ(Redis(c, {"get", "key:0"}).body["result"], "value");
  EXPECT_EQ(Redis(c, {"get", "key:99"}).body["result"], nullptr);
  EXPECT_EQ(Redis(c, {"set", "after", "repair"}).body["result"], "OK");
  c.Stop();
  auto [again_code, again_out] = RunStratus({"redis-check-log", dir_});
  EXPECT_EQ(again_code, 0) << again_out;
}

TEST_F(RedisDurabilityTest, TornTailIsDroppedWithALineSayingSo) {
  {
    Child c;
    Serve(c);
    ASSERT_EQ(Redis(c, {"set", "a", "1"}).body["result"], "OK");
  }
  std::string whole = ReadAll(log_);
  const std::string torn = "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1";  // a write cut short
  WriteAll(log_, whole + torn);
  Child c;
  Serve(c);
  EXPECT_NE(c.output().find("dropped the last " + std::to_string(torn.size()) + " bytes, from byte " +
                            std::to_string(whole.size())),
            std::string::npos)
      << c.output();
  EXPECT_EQ(Redis(c, {"get", "a"}).body["result"], "1");
  EXPECT_EQ(Redis(c, {"get", "b"}).body["result"], nullptr);
}

TEST_F(RedisDurabilityTest, WriteTheDiskRefusesIsUndone) {
  std::string big(64 * 1024, 'x');
  int failed = -1;
  {
    Child c;
    Serve(c, {"--redis-token", kToken}, 1024 * 1024);
    for (int i = 0; i < 64 && failed < 0; ++i) {
      auto r = Redis(c, {"set", "big:" + std::to_string(i), big});
      if (r.body.contains("error")) {
        EXPECT_EQ(r.status, 400);
        EXPECT_EQ(r.body["error"].get<std::string>().rfind("MISCONF", 0), 0u) << r.body.dump();
        failed = i;
      } else {
        ASSERT_EQ(r.body["result"], "OK") << r.body.dump();
      }
    }
    ASSERT_GT(failed, 0) << "the file size limit never stopped a write";
    EXPECT_EQ(Redis(c, {"exists", "big:" + std::to_string(failed)}).body["result"], 0)
        << "never acknowledged, never applied";
    EXPECT_EQ(Redis(c, {"exists", "big:" + std::to_string(failed - 1)}).body["result"], 1);
    EXPECT_EQ(Redis(c, {"dbsize"}).body["result"], failed);
  }
  Child c;
  Serve(c);
  EXPECT_EQ(Redis(c, {"dbsize"}).body["result"], failed) << "what was acknowledged, all of it and nothing more";
  EXPECT_EQ(Redis(c, {"strlen", "big:0"}).body["result"], big.size());
  EXPECT_EQ(Redis(c, {"set", "after", "restart"}).body["result"], "OK");
}

TEST_F(RedisDurabilityTest, SecondServerOnTheSameDataDirIsRefused) {
  Child first;
  Serve(first);
  auto [code, out] = RunStratus(ServeArgs(dir_, {"--redis-token", kToken}));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("another stratus (pid " + std::to_string(first.pid()) + ") is using the data dir " + dir_),
            std::string::npos)
      << out;
  EXPECT_EQ(Redis(first, {"set", "still", "here"}).body["result"], "OK");
  // The repair command waits its turn too.
  auto [check_code, check_out] = RunStratus({"redis-check-log", "--fix", dir_});
  EXPECT_EQ(check_code, 2) << check_out;
  EXPECT_NE(check_out.find("is using the data dir"), std::string::npos) << check_out;
  first.Stop();
  Child second;
  Serve(second);
  EXPECT_EQ(Redis(second, {"get", "still"}).body["result"], "here");
}

TEST_F(RedisDurabilityTest, FilesArePrivateAndTheTokenIsPrintedOnce) {
  std::string token;
  {
    Child c;
    Serve(c, {});
    std::smatch m;
    std::string out = c.output();
    ASSERT_TRUE(std::regex_search(out, m, std::regex("stratus: Redis REST token: ([0-9a-f]+) \\(kept in (\\S+)\\)")))
        << out;
    token = m[1].str();
    EXPECT_EQ(m[2].str(), dir_ + "/redis/token");
    EXPECT_EQ(ReadAll(dir_ + "/redis/token"), token + "\n");
    EXPECT_EQ(ModeOf(dir_), 0700u);
    for (const std::string name : {"stratus.db", "redis/token", "redis/appendonly.log", "LOCK"}) {
      EXPECT_EQ(ModeOf(dir_ + "/" + name), 0600u) << name;
    }
    for (const std::string name : {"stratus.db-wal", "stratus.db-shm"}) {
      if (fs::exists(dir_ + "/" + name)) {
        EXPECT_EQ(ModeOf(dir_ + "/" + name), 0600u) << name;
      }
    }
    int keys = 0;
    for (const auto& e : fs::directory_iterator(dir_ + "/oidc")) {
      EXPECT_EQ(ModeOf(e.path().string()), 0600u) << e.path();
      EXPECT_EQ(e.path().extension(), ".pem") << "no temporary file left behind";
      ++keys;
    }
    EXPECT_EQ(keys, 1);
  }
  {
    Child c;
    Serve(c, {});
    EXPECT_EQ(c.output().find(token), std::string::npos) << c.output();
    EXPECT_NE(c.output().find("stratus: Redis REST token kept in " + dir_ + "/redis/token"), std::string::npos)
        << c.output();
  }
  {
    Child c;
    Serve(c, {"--redis-token", "given-on-the-command-line"});
    EXPECT_EQ(c.output().find("given-on-the-command-line"), std::string::npos) << c.output();
    EXPECT_EQ(c.output().find(token), std::string::npos) << c.output();
  }
}

// A data dir an older stratus left (files 0644, directories 0755) is tightened at start.
TEST_F(RedisDurabilityTest, FilesAnOlderVersionLeftOpenAreTightened) {
  {
    Child c;
    Serve(c, {});
  }
  std::vector<std::string> files = {"stratus.db", "redis/token", "redis/appendonly.log"};
  for (const auto& e : fs::directory_iterator(dir_ + "/oidc")) files.push_back("oidc/" + e.path().filename().string());
  for (const auto& name : files) ASSERT_EQ(::chmod((dir_ + "/" + name).c_str(), 0644), 0) << name;
  for (const std::string name : {"redis", "oidc"}) ASSERT_EQ(::chmod((dir_ + "/" + name).c_str(), 0755), 0);
  {
    Child c;
    Serve(c, {});
  }
  for (const auto& name : files) EXPECT_EQ(ModeOf(dir_ + "/" + name), 0600u) << name;
  for (const std::string name : {"redis", "oidc"}) EXPECT_EQ(ModeOf(dir_ + "/" + name), 0700u) << name;
}

TEST_F(RedisDurabilityTest, EmptySecretFilesAreRefusedNotReplaced) {
  {
    Child c;
    Serve(c, {});
  }
  std::string token = ReadAll(dir_ + "/redis/token");
  WriteAll(dir_ + "/redis/token", "");
  auto [code, out] = RunStratus(ServeArgs(dir_));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find(dir_ + "/redis/token is empty"), std::string::npos) << out;
  WriteAll(dir_ + "/redis/token", token);

  fs::path key;
  for (const auto& e : fs::directory_iterator(dir_ + "/oidc")) key = e.path();
  WriteAll(key.string(), "");
  auto [key_code, key_out] = RunStratus(ServeArgs(dir_));
  EXPECT_NE(key_code, 0) << key_out;
  EXPECT_NE(key_out.find("the OIDC signing key " + key.string() + " is empty or not a PEM private key"),
            std::string::npos)
      << key_out;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/oidc")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "no new key made in its place";
}

TEST_F(RedisDurabilityTest, DeepJsonIsRefusedBeforeItIsParsed) {
  Child c;
  Serve(c);
  auto http = sdk::internal::SyncHttp::Create("");
  ASSERT_TRUE(http.ok());
  auto url = http::Url::Parse(c.Url("Redis REST API"));
  auto pipeline = http::Url::Parse(c.Url("Redis REST API") + "/pipeline");
  ASSERT_TRUE(url.ok() && pipeline.ok());
  for (const auto* u : {&*url, &*pipeline}) {
    auto req = sdk::internal::MakeRequest(http::Verb::post, std::string(8 * 1024 * 1024, '['));
    req.set("authorization", std::string("Bearer ") + kToken);
    auto res = (*http)->Fetch(*u, std::move(req), 60s);
    ASSERT_EQ(res.failure, http::ClientResult::Failure::kNone);
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(res.body, R"({"error":"ERR the request body is nested deeper than 100 levels"})");
  }
  // A normal command still works on the same server.
  EXPECT_EQ(Redis(c, {"set", "k", "v"}).body["result"], "OK");
}

}  // namespace
}  // namespace stratus

namespace stratus {
namespace {

// The string, bit and key commands added for Upstash parity log their effects before they
// answer: a server killed with SIGKILL right after has every one of them.
TEST_F(RedisDurabilityTest, NewWriteCommandsSurviveKill9) {
  {
    Child c;
    Serve(c);
    ASSERT_EQ(Redis(c, {"set", "g", "v"}).body["result"], "OK");
    EXPECT_EQ(Redis(c, {"getex", "g", "EX", "1000"}).body["result"], "v");
    EXPECT_EQ(Redis(c, {"setrange", "r", "2", "xy"}).body["result"], 4);
    EXPECT_EQ(Redis(c, {"incrbyfloat", "f", "2.5"}).body["result"], "2.5");
    EXPECT_EQ(Redis(c, {"setbit", "b", "7", "1"}).body["result"], 0);
    EXPECT_EQ(Redis(c, {"bitfield", "bf", "INCRBY", "u8", "0", "7"}).body["result"], nlohmann::json::array({7}));
    EXPECT_EQ(Redis(c, {"bitop", "or", "bo", "b", "bf"}).body["result"], 1);
    EXPECT_EQ(Redis(c, {"copy", "g", "g2"}).body["result"], 1);
    EXPECT_EQ(Redis(c, {"rename", "f", "f2"}).body["result"], "OK");
    EXPECT_EQ(Redis(c, {"eval", "#!lua flags=allow-key-locking\nreturn redis.call('incr', KEYS[1])", "1", "n"})
                  .body["result"],
              1);
    ::kill(c.pid(), SIGKILL);
    c.Wait();
  }
  Child c;
  Serve(c);
  EXPECT_EQ(Redis(c, {"get", "g2"}).body["result"], "v");
  auto ttl = Redis(c, {"ttl", "g2"}).body["result"].get<int64_t>();
  EXPECT_GT(ttl, 900);
  EXPECT_LE(ttl, 1000);
  EXPECT_EQ(Redis(c, {"getrange", "r", "2", "-1"}).body["result"], "xy");
  EXPECT_EQ(Redis(c, {"strlen", "r"}).body["result"], 4);
  EXPECT_EQ(Redis(c, {"get", "f2"}).body["result"], "2.5");
  EXPECT_EQ(Redis(c, {"exists", "f"}).body["result"], 0);
  EXPECT_EQ(Redis(c, {"getbit", "b", "7"}).body["result"], 1);
  EXPECT_EQ(Redis(c, {"bitfield_ro", "bf", "GET", "u8", "0"}).body["result"], nlohmann::json::array({7}));
  EXPECT_EQ(Redis(c, {"bitcount", "bo"}).body["result"], 3);
  EXPECT_EQ(Redis(c, {"get", "n"}).body["result"], "1");
}

}  // namespace
}  // namespace stratus
