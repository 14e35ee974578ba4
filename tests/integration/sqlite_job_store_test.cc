// The SQLite JobStore on real files: every method, durability across reopen, the schema
// version check, and the row document's round trip.
#include <sqlite3.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scheduler/sqlite_job_store.h"

namespace stratus::scheduler {
namespace {

class SqliteJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-jobstore-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/scheduler.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<SqliteJobStore> Open() {
    auto s = SqliteJobStore::Open(path_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static Job MakeJob(const std::string& name) {
    Job j;
    j.name = name;
    j.description = "d";
    j.schedule = "*/5 * * * *";
    j.time_zone = "Europe/Berlin";
    j.http_target.uri = "https://example.com/x";
    j.http_target.http_method = HttpMethod::kPut;
    j.http_target.headers = {{"User-Agent", "Google-Cloud-Scheduler"}, {"X-A", "1"}};
    j.http_target.body = std::string("\0\xff bytes", 8);
    j.http_target.oidc_token = OidcToken{"sa@p.iam.gserviceaccount.com", "aud"};
    j.queue = "projects/p/locations/l/queues/q";
    j.retry_config = JobRetryConfig{3, 60'000'000, 1'000'000, 2'000'000, 2};
    j.attempt_deadline = 20'000'000;
    j.state = JobState::kEnabled;
    j.user_update_time = 1'700'000'000'000'000;
    j.schedule_time = 1'700'000'300'000'000;
    return j;
  }
  static void ExpectSame(const Job& a, const Job& b) { EXPECT_EQ(EncodeJobRow(a), EncodeJobRow(b)); }
  std::string dir_, path_;
};

TEST_F(SqliteJobStoreTest, CreateGetListUpdateRecordDelete) {
  auto store = Open();
  ASSERT_TRUE(store);
  const std::string a = "projects/p/locations/l/jobs/a", b = "projects/p/locations/l/jobs/b";
  ASSERT_TRUE(store->Create(MakeJob(b)).ok());
  ASSERT_TRUE(store->Create(MakeJob(a)).ok());
  ASSERT_TRUE(store->Create(MakeJob("projects/p/locations/other/jobs/c")).ok());
  EXPECT_EQ(store->Create(MakeJob(a)).status().code(), Code::kAlreadyExists);
  auto got = store->Get(a);
  ASSERT_TRUE(got.ok());
  ExpectSame(*got, MakeJob(a));
  EXPECT_EQ(store->Get("projects/p/locations/l/jobs/none").status().code(), Code::kNotFound);

  auto list = store->List("projects/p/locations/l");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, a);
  EXPECT_EQ((*list)[1].name, b);
  EXPECT_EQ(store->All()->size(), 3u);

  ASSERT_TRUE(store->RecordRun(a, 42, 41, Status(Code::kUnavailable, "down"), 0).ok());
  Job changed = MakeJob(a);
  changed.description = "new";
  changed.state = JobState::kPaused;
  changed.last_attempt_time = 999;  // output only: stays as recorded
  auto updated = store->Update(changed);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->description, "new");
  EXPECT_EQ(updated->last_attempt_time, 41);
  ASSERT_TRUE(updated->status);
  EXPECT_EQ(updated->status->message(), "down");
  ExpectSame(*store->Get(a), *updated);
  EXPECT_EQ(store->Update(MakeJob("projects/p/locations/l/jobs/none")).status().code(), Code::kNotFound);
  EXPECT_EQ(store->RecordRun("projects/p/locations/l/jobs/none", 1, 1, std::nullopt, 0).code(), Code::kNotFound);

  ASSERT_TRUE(store->Delete(a).ok());
  EXPECT_EQ(store->Delete(a).code(), Code::kNotFound);
  EXPECT_EQ(store->Get(a).status().code(), Code::kNotFound);
}

TEST_F(SqliteJobStoreTest, JobsSurviveReopen) {
  const std::string a = "projects/p/locations/l/jobs/a";
  {
    auto store = Open();
    ASSERT_TRUE(store->Create(MakeJob(a)).ok());
    ASSERT_TRUE(store->RecordRun(a, 7, 6, Status(), 0).ok());
  }
  auto store = Open();
  auto got = store->Get(a);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->schedule_time, 7);
  EXPECT_EQ(got->last_attempt_time, 6);
  ASSERT_TRUE(got->status);
  EXPECT_TRUE(got->status->ok());
}

TEST_F(SqliteJobStoreTest, UsesWalAndFullSync) {
  auto store = Open();
  ASSERT_TRUE(store);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_F(SqliteJobStoreTest, AFileFromANewerVersionIsRefused) {
  { auto store = Open(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteJobStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST_F(SqliteJobStoreTest, AFileThatIsNotADatabaseIsAnError) {
  { std::ofstream(path_) << "not a database, just text that is long enough to fill a header page......."; }
  auto store = SqliteJobStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status().message();
}

TEST(JobRow, RoundTripsEveryField) {
  Job j;
  j.name = "projects/p/locations/l/jobs/j";
  j.http_target.oauth_token = OAuthToken{"sa@p.iam.gserviceaccount.com", "scope"};
  j.state = JobState::kPaused;
  j.status = Status(Code::kDeadlineExceeded, "slow");
  j.last_attempt_time = 5;
  auto back = DecodeJobRow(EncodeJobRow(j));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(EncodeJobRow(*back), EncodeJobRow(j));
  EXPECT_EQ(back->state, JobState::kPaused);
  EXPECT_EQ(back->status->code(), Code::kDeadlineExceeded);
  EXPECT_FALSE(DecodeJobRow("{").ok());
  EXPECT_FALSE(DecodeJobRow(R"({"v":2,"name":"x"})").ok());
}

}  // namespace
}  // namespace stratus::scheduler
