// The embedded Redis log on bad days: garbage in the middle is refused with its offset
// (never a silent truncation), a torn tail is dropped, and a command whose log write fails
// is undone rather than left in memory to vanish at the next start.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kv/append_log.h"
#include "kv/backend.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;

std::string Record(const Argv& argv) {
  std::string out;
  AppendRespCommand(argv, &out);
  return out;
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

// Counts the commands applied; refuses a command named "bogus".
struct Collector {
  std::vector<Argv> applied;
  std::string operator()(const Argv& argv) {
    if (argv[0] == "bogus") return "ERR unknown command 'bogus'";
    applied.push_back(argv);
    return "";
  }
};

LogScan Scan(std::string_view data, Collector& c) {
  return ScanLog(data, [&](const Argv& a) { return c(a); });
}

TEST(KvLogScanTest, GarbageInTheMiddleIsCorruptionAtItsOffset) {
  std::string log;
  size_t middle = 0;
  for (int i = 0; i < 100; ++i) {
    if (i == 50) middle = log.size();
    log += Record({"SET", "key:" + std::to_string(i), "value"});
  }
  std::string bad = log;
  bad.insert(middle, "GARBAGE!!");  // 9 bytes between two records
  Collector c;
  LogScan scan = Scan(bad, c);
  EXPECT_EQ(scan.end, LogScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, middle);
  EXPECT_EQ(scan.good_bytes, middle);
  EXPECT_EQ(scan.file_bytes, bad.size());
  EXPECT_EQ(c.applied.size(), 50u);

  // Overwritten inside a record: the offset is where that record starts.
  std::string overwritten = log;
  overwritten.replace(middle + 3, 9, "XXXXXXXXX");
  Collector c2;
  scan = Scan(overwritten, c2);
  EXPECT_EQ(scan.end, LogScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, middle);
}

TEST(KvLogScanTest, TornTailsAreWhatACrashLeaves) {
  std::string log = Record({"SET", "a", "1"}) + Record({"SET", "b", "2"});
  std::string whole = log;
  Collector c;
  LogScan scan = Scan(whole, c);
  EXPECT_EQ(scan.end, LogScan::End::kClean);
  EXPECT_EQ(scan.good_bytes, whole.size());

  std::string half = whole + Record({"SET", "c", "3"}).substr(0, 9);
  scan = Scan(half, c);
  EXPECT_EQ(scan.end, LogScan::End::kTornTail);
  EXPECT_EQ(scan.good_bytes, whole.size());

  std::string unfinished = whole + Record({"MULTI"}) + Record({"SET", "d", "4"});
  Collector c2;
  scan = Scan(unfinished, c2);
  EXPECT_EQ(scan.end, LogScan::End::kTornTail);
  EXPECT_EQ(scan.good_bytes, whole.size());
  EXPECT_EQ(c2.applied.size(), 2u);  // the unfinished batch applies nothing

  std::string zeros = whole + std::string(4096, '\0');
  scan = Scan(zeros, c);
  EXPECT_EQ(scan.end, LogScan::End::kTornTail);
  EXPECT_EQ(scan.good_bytes, whole.size());
}

TEST(KvLogScanTest, RecordsTheEngineRefusesAndBrokenFramingAreCorruption) {
  std::string head = Record({"SET", "a", "1"});
  Collector c;
  LogScan scan = Scan(head + Record({"bogus", "x"}) + Record({"SET", "b", "2"}), c);
  EXPECT_EQ(scan.end, LogScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, head.size());
  EXPECT_NE(scan.problem.find("unknown command 'bogus'"), std::string::npos) << scan.problem;

  scan = Scan(head + Record({"EXEC"}) + head, c);
  EXPECT_EQ(scan.end, LogScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, head.size());

  // Garbage followed by a whole record is not a torn tail, even if zero bytes start it.
  scan = Scan(head + std::string(3, '\0') + head, c);
  EXPECT_EQ(scan.end, LogScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, head.size());
}

// A damaged length prefix in the middle points past the end of the file, so its record reads
// as incomplete; the complete records after it show it is not a torn tail.
TEST(KvLogScanTest, DamagedLengthInTheMiddleIsCorruptionNotATornTail) {
  std::string head = Record({"SET", "first", "1"});
  std::string big = Record({"SET", "big", std::string(102400, 'v')});
  std::string rest;
  for (int i = 0; i < 100; ++i) rest += Record({"SET", "key:" + std::to_string(i), "value"});
  std::string log = head + big + rest;
  size_t len_at = log.find("$102400\r\n");
  ASSERT_NE(len_at, std::string::npos);
  log[len_at + 1] = '9';  // $902400: past the end of the file
  Collector c;
  LogScan scan = Scan(log, c);
  EXPECT_EQ(scan.end, LogScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, head.size());
  EXPECT_EQ(scan.good_bytes, head.size());
  EXPECT_EQ(c.applied.size(), 1u);

  // The same record cut short at the end of the file is still a torn tail.
  Collector c2;
  scan = Scan(head + big.substr(0, 50000), c2);
  EXPECT_EQ(scan.end, LogScan::End::kTornTail);
  EXPECT_EQ(scan.good_bytes, head.size());
}

class KvLogDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-kvd-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/appendonly.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Engine> Open(Status* status = nullptr) {
    auto e = std::make_unique<Engine>(clock_);
    EngineOptions o;
    o.log_path = path_;
    o.active_expiry = false;
    Status st = e->Open(o);
    if (status) {
      *status = st;
    } else {
      EXPECT_TRUE(st.ok()) << st.message();
    }
    return e;
  }

  std::string dir_, path_;
  FakeClock clock_{kStart};
};

std::string S(const Reply& r) {
  return DebugString(r);
}

TEST_F(KvLogDurabilityTest, CorruptLogRefusesToOpenAndIsLeftAsItIs) {
  {
    auto e = Open();
    for (int i = 0; i < 100; ++i) e->Run({"set", "key:" + std::to_string(i), "v"});
    e->Close();
  }
  std::string log = ReadAll(path_);
  size_t middle = log.size() / 2;
  // The start of the record holding `middle`.
  size_t record_start = log.rfind("*3\r\n", middle);
  log.replace(middle, 9, "\xff\xff\xff\xff\xff\xff\xff\xff\xff");
  WriteAll(path_, log);

  Status st;
  auto e = Open(&st);
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("corrupt at byte " + std::to_string(record_start) + " of " + std::to_string(log.size())),
            std::string::npos)
      << st.message();
  e.reset();
  EXPECT_EQ(ReadAll(path_), log);  // nothing rewritten, nothing lost yet
}

TEST_F(KvLogDurabilityTest, DamagedLengthInTheMiddleRefusesToOpenAndIsLeftAsItIs) {
  {
    auto e = Open();
    e->Run({"set", "big", std::string(102400, 'v')});
    for (int i = 0; i < 100; ++i) e->Run({"set", "key:" + std::to_string(i), "v"});
    e->Close();
  }
  std::string log = ReadAll(path_);
  size_t len_at = log.find("$102400\r\n");
  ASSERT_NE(len_at, std::string::npos);
  size_t record_start = log.rfind("*3\r\n", len_at);
  log[len_at + 1] = '9';  // $902400
  WriteAll(path_, log);

  Status st;
  auto e = Open(&st);
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.message();
  EXPECT_NE(st.message().find("corrupt at byte " + std::to_string(record_start) + " of " + std::to_string(log.size())),
            std::string::npos)
      << st.message();
  e.reset();
  EXPECT_EQ(ReadAll(path_), log);  // nothing truncated, nothing rewritten
}

TEST_F(KvLogDurabilityTest, TornTailIsTruncated) {
  {
    auto e = Open();
    e->Run({"set", "a", "1"});
    e->Close();
  }
  std::string whole = ReadAll(path_);
  std::string tail = Record({"SET", "b", "2"}).substr(0, 10);
  WriteAll(path_, whole + tail);
  auto e = Open();
  EXPECT_EQ(S(e->Run({"mget", "a", "b"})), "[\"1\", (nil)]");
  // The dropped bytes are kept beside the log, readable by the owner alone.
  int copies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().filename().string().rfind("appendonly.log.torn-", 0) != 0) continue;
    ++copies;
    EXPECT_EQ(ReadAll(entry.path().string()), tail);
    EXPECT_EQ(entry.status().permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  EXPECT_EQ(copies, 1);
}

TEST_F(KvLogDurabilityTest, FailedLogWriteUndoesTheCommand) {
  auto e = Open();
  EXPECT_EQ(S(e->Run({"set", "a", "1"})), "+OK");
  EXPECT_EQ(S(e->Run({"rpush", "list", "x", "y"})), ":2");

  // The disk fills mid-record: part of it reaches the file, then ENOSPC.
  e->log()->FailWritesForTest(ENOSPC, 7);
  Reply r = e->Run({"set", "b", "2"});
  EXPECT_EQ(r.str.rfind("MISCONF", 0), 0u) << S(r);
  EXPECT_NE(r.str.find("No space left on device"), std::string::npos) << S(r);
  EXPECT_EQ(S(e->Run({"get", "b"})), "(nil)");  // it never happened
  EXPECT_EQ(S(e->Run({"get", "a"})), "\"1\"");  // what was acknowledged stays
  EXPECT_EQ(S(e->Run({"lrange", "list", "0", "-1"})), "[\"x\", \"y\"]");
  // Later writes are refused, reads still answer.
  EXPECT_EQ(e->Run({"set", "c", "3"}).str.rfind("MISCONF", 0), 0u);
  e->Close();

  // The file holds no half record: it opens clean, with exactly what was acknowledged.
  auto again = Open();
  EXPECT_EQ(S(again->Run({"mget", "a", "b", "c"})), "[\"1\", (nil), (nil)]");
  EXPECT_EQ(S(again->Run({"lrange", "list", "0", "-1"})), "[\"x\", \"y\"]");
  EXPECT_EQ(S(again->Run({"set", "d", "4"})), "+OK");
}

TEST_F(KvLogDurabilityTest, FailedLogWriteUndoesAWholeTransactionAndAScript) {
  auto e = Open();
  e->Run({"set", "n", "10"});
  e->log()->FailWritesForTest(EIO, 0);
  std::vector<Argv> tx = {{"incr", "n"}, {"set", "t", "1"}, {"del", "n"}};
  BatchResult r = e->Execute(tx, true, false);
  ASSERT_EQ(r.replies.size(), 3u);
  for (const auto& reply : r.replies) EXPECT_EQ(reply.str.rfind("MISCONF", 0), 0u) << S(reply);
  EXPECT_EQ(S(e->Run({"mget", "n", "t"})), "[\"10\", (nil)]");
  e->Close();

  // A script's writes are logged as one batch and undone as one.
  std::filesystem::remove(path_);
  auto s = Open();
  s->Run({"set", "n", "10"});
  s->log()->FailWritesForTest(EIO, 3);
  Reply out = s->Run({"eval", "redis.call('incr', 'n'); redis.call('set', 's', 'x'); return 1", "0"});
  EXPECT_EQ(out.str.rfind("MISCONF", 0), 0u) << S(out);
  EXPECT_EQ(S(s->Run({"mget", "n", "s"})), "[\"10\", (nil)]");
}

// With --redis-fsync always a write is answered only after its fsync; when the fsync fails the
// write is not acknowledged (MISCONF), and nothing after it is, while reads still answer.
TEST_F(KvLogDurabilityTest, FailedFsyncIsNotAcknowledged) {
  auto e = std::make_unique<Engine>(clock_);
  EngineOptions o;
  o.log_path = path_;
  o.active_expiry = false;
  o.fsync = FsyncPolicy::kAlways;
  ASSERT_TRUE(e->Open(o).ok());
  EmbeddedBackend backend(*e);
  asio::io_context io;
  auto run = [&](std::vector<Argv> cmds, BatchMode mode = BatchMode::kSingle) {
    std::optional<StatusOr<BatchResult>> got;
    auto call = [&]() -> asio::awaitable<void> {
      std::vector<Argv> batch = std::move(cmds);
      got.emplace(co_await backend.Run(std::move(batch), mode, false));
    };
    asio::co_spawn(io, call(), asio::detached);
    io.restart();
    io.run();
    EXPECT_TRUE(got.has_value() && got->ok());
    return got && got->ok() ? std::move(**got) : BatchResult{};
  };
  EXPECT_EQ(S(run({{"set", "a", "1"}}).replies.at(0)), "+OK");
  EXPECT_TRUE(backend.Health().ok());

  e->log()->FailSyncsForTest(EIO);
  BatchResult r = run({{"set", "b", "2"}, {"incr", "n"}}, BatchMode::kPipeline);
  ASSERT_EQ(r.replies.size(), 2u);
  for (const Reply& reply : r.replies) {
    EXPECT_EQ(reply.str.rfind("MISCONF", 0), 0u) << S(reply);
    EXPECT_NE(reply.str.find("fsync failed"), std::string::npos) << S(reply);
  }
  EXPECT_FALSE(backend.Health().ok());
  // Later writes are refused; reads answer.
  EXPECT_EQ(run({{"set", "c", "3"}}).replies.at(0).str.rfind("MISCONF", 0), 0u);
  EXPECT_EQ(S(run({{"get", "a"}}).replies.at(0)), "\"1\"");
  e->Close();
}

}  // namespace
}  // namespace stratus::kv
