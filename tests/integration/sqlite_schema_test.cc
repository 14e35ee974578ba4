// A data directory written by an earlier stratus (schema 0: rowid tables, a queue index, the
// attempt fields inside the task document) opens, keeps every task, tombstone and attempt
// count, and goes on working; one written by a newer stratus is refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "common/time.h"
#include "store/sqlite/sqlite_store.h"
#include "tasks/codec.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

constexpr Micros kT0 = 1'795'000'000LL * kMicrosPerSecond;
const std::string kQ = "projects/p/locations/l/queues/q";

// The tables as stratus 0.1 created them.
constexpr const char* kSchemaV0 = R"sql(
CREATE TABLE queues(name TEXT PRIMARY KEY, state INTEGER NOT NULL, doc TEXT NOT NULL, ext TEXT NOT NULL DEFAULT '{}');
CREATE TABLE tasks(queue TEXT NOT NULL, id TEXT NOT NULL, schedule_us INTEGER NOT NULL, create_us INTEGER NOT NULL,
  doc TEXT NOT NULL, body BLOB, exec_count INTEGER NOT NULL DEFAULT 0, prev_response INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(queue, id));
CREATE INDEX tasks_by_queue ON tasks(queue);
CREATE TABLE dead_letters(queue TEXT NOT NULL, id TEXT NOT NULL, dead_us INTEGER NOT NULL, doc TEXT NOT NULL, body BLOB,
  reason TEXT NOT NULL, status INTEGER NOT NULL, headers TEXT NOT NULL, response BLOB, PRIMARY KEY(queue, id));
CREATE INDEX dead_letters_by_time ON dead_letters(queue, dead_us, id);
CREATE TABLE tombstones(kind INTEGER NOT NULL, name TEXT NOT NULL, deleted_us INTEGER NOT NULL, PRIMARY KEY(kind, name));
)sql";

class SqliteSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("stratus-schema-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "stratus.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

  int64_t Count(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    int64_t n = -1;
    if (sqlite3_open(path_.c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }

  static std::string Quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }

  // A schema-0 row: the attempt fields sit in the document, as stratus 0.1 wrote them.
  void InsertV0Task(const std::string& id, int dispatches) {
    Task t;
    t.name = kQ + "/tasks/" + id;
    t.http_request = HttpRequest{"http://127.0.0.1:1/x", HttpMethod::kPost, {}, "", std::nullopt, std::nullopt};
    t.schedule_time = kT0;
    t.create_time = kT0;
    t.dispatch_count = dispatches;
    t.response_count = dispatches;
    if (dispatches > 0) {
      t.first_attempt = Attempt{0, kT0 - 100, 0, std::nullopt};
      t.last_attempt = Attempt{kT0 - 50, kT0 - 50, kT0 - 40, Status(Code::kUnavailable, "HTTP status code 503")};
    }
    std::string doc = TaskToJson(t, TaskView::kFull, JsonStyle{}).dump();
    Sql("INSERT INTO tasks VALUES(" + Quote(kQ) + ", " + Quote(id) + ", " + std::to_string(kT0) + ", " +
        std::to_string(kT0) + ", " + Quote(doc) + ", X'626f6479', " + std::to_string(dispatches) + ", 503)");
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SqliteSchemaTest, SchemaZeroFilesAreMigratedWithEverythingInThem) {
  Sql(kSchemaV0);
  Queue q;
  q.name = kQ;
  Sql("INSERT INTO queues VALUES(" + Quote(kQ) + ", 1, " + Quote(QueueToJson(q, JsonStyle{}).dump()) + ", '{}')");
  InsertV0Task("fresh", 0);
  InsertV0Task("retried", 2);
  Sql("INSERT INTO tombstones VALUES(1, " + Quote(kQ + "/tasks/done") + ", " + std::to_string(kT0) + ")");

  auto opened = SqliteStore::Open(path_, StoreOptions{});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = **opened;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_by_queue'"), 0);
  EXPECT_EQ(Count("PRAGMA user_version"), 2);

  // The attempt history comes from the old document until the task is next written.
  auto retried = store.GetTask(kQ + "/tasks/retried", kT0);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(retried->dispatch_count, 2);
  EXPECT_EQ(retried->response_count, 2);
  EXPECT_EQ(retried->first_attempt->dispatch_time, kT0 - 100);
  EXPECT_EQ(retried->last_attempt->response_status->code(), Code::kUnavailable);
  EXPECT_EQ(retried->http_request->body, "body");
  EXPECT_EQ(retried->execution_count, 2);
  EXPECT_EQ(retried->previous_response, 503);

  // A deleted name stays taken across the migration.
  EXPECT_EQ(store.GetTask(kQ + "/tasks/done", kT0 + 1).status().message(), msg::kTaskRecentlyDeleted);
  Task again;
  again.name = kQ + "/tasks/done";
  again.http_request = HttpRequest{"http://127.0.0.1:1/x", HttpMethod::kPost, {}, "", std::nullopt, std::nullopt};
  EXPECT_EQ(store.WriteSync(TaskCreate{again}, kT0 + 1).status().code(), Code::kAlreadyExists);

  // The next attempt counts on from the migrated history.
  auto started = store.WriteSync(AttemptStart{kQ + "/tasks/retried", kT0}, kT0 + 10);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->task->dispatch_count, 3);
  EXPECT_EQ(started->task->first_attempt->dispatch_time, kT0 - 100);
  store.Close();
  opened->reset();

  auto reopened = SqliteStore::Open(path_, StoreOptions{});
  ASSERT_TRUE(reopened.ok());
  auto after = (*reopened)->GetTask(kQ + "/tasks/retried", kT0 + 20);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->dispatch_count, 3);
  EXPECT_EQ(after->last_attempt->dispatch_time, kT0 + 10);
  EXPECT_FALSE(after->last_attempt->response_status.has_value());
  auto page = (*reopened)->ListTasks(kQ, 10, "", false);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_EQ(*(*reopened)->CountTasks(kQ), 2);
}

TEST_F(SqliteSchemaTest, FilesFromANewerStratusAreRefused) {
  ASSERT_TRUE(SqliteStore::Open(path_, StoreOptions{}).ok());
  Sql("PRAGMA user_version = 99");
  auto opened = SqliteStore::Open(path_, StoreOptions{});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("newer stratus"), std::string::npos) << opened.status().message();
}

}  // namespace
}  // namespace stratus
