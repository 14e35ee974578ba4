// A data directory written by an earlier stratus (schema 0: rowid tables, a queue index, the
// attempt fields inside the task document) opens, keeps every task, tombstone and attempt
// count, and goes on working; rows written before the storage codec existed read back
// identically; one written by a newer stratus is refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "common/time.h"
#include "model/storage_codec.h"
#include "store/sqlite/sqlite_store.h"

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

  std::string Text(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    std::string out = "<no row>";
    if (sqlite3_open(path_.c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
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
    std::string doc = storage::EncodeTask(t, true);  // format 0 holds the attempt fields
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
  Sql("INSERT INTO queues VALUES(" + Quote(kQ) + ", 1, " + Quote(storage::EncodeQueue(q)) + ", '{}')");
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
  EXPECT_EQ(ReasonOf(store.GetTask(kQ + "/tasks/done", kT0 + 1).status()), StoreReason::kTaskRecentlyDeleted);
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

// Rows exactly as stratus wrote them before the model had a storage codec of its own (schema 2,
// Cloud Tasks REST JSON documents: storage format 0), copied from a database that build made:
// a paused queue with every httpTarget override, App Engine routing and extensions, an HTTP
// task with an OIDC token and a body, an App Engine task, an OAuth task, a dead letter with
// its last attempt, and two tombstones.
constexpr const char* kMainRows = R"sql(
INSERT INTO queues VALUES('projects/p/locations/l/queues/plain', 2, '{"name":"projects/p/locations/l/queues/plain","rateLimits":{"maxBurstSize":100,"maxConcurrentDispatches":1000,"maxDispatchesPerSecond":500.0},"retryConfig":{"maxAttempts":100,"maxBackoff":"3600s","maxDoublings":16,"minBackoff":"0.100s"},"state":"PAUSED"}', '{"permanentFailureStatuses":[]}');
INSERT INTO queues VALUES('projects/p/locations/l/queues/dead', 1, '{"name":"projects/p/locations/l/queues/dead","rateLimits":{"maxBurstSize":100,"maxConcurrentDispatches":1000,"maxDispatchesPerSecond":500.0},"retryConfig":{"maxAttempts":1,"maxBackoff":"3600s","maxDoublings":16,"minBackoff":"0.100s"},"state":"RUNNING"}', '{"permanentFailureStatuses":[]}');
INSERT INTO queues VALUES('projects/p/locations/l/queues/full', 2, '{"appEngineRoutingOverride":{"service":"svc","version":"v1"},"httpTarget":{"headerOverrides":[{"header":{"key":"X-Over","value":"v"}}],"httpMethod":"PUT","oidcToken":{"audience":"aud","serviceAccountEmail":"sa@p.iam.gserviceaccount.com"},"uriOverride":{"host":"override.example","pathOverride":{"path":"/p"},"port":"8443","queryOverride":{"queryParams":"a=1"},"scheme":"HTTPS","uriOverrideEnforceMode":"IF_NOT_EXISTS"}},"name":"projects/p/locations/l/queues/full","rateLimits":{"maxBurstSize":10,"maxConcurrentDispatches":3,"maxDispatchesPerSecond":2.5},"retryConfig":{"maxAttempts":-1,"maxBackoff":"30s","maxDoublings":4,"maxRetryDuration":"7200s","minBackoff":"0.250s"},"stackdriverLoggingConfig":{"samplingRatio":0.5},"state":"PAUSED"}', '{"permanentFailureStatuses":[404,410]}');
INSERT INTO tasks VALUES('projects/p/locations/l/queues/full', 'http1', 1797760800125000, 1796130843846876, '{"createTime":"2026-12-01T13:14:03Z","dispatchDeadline":"45s","httpRequest":{"headers":{"Content-Type":"application/json","User-Agent":"Google-Cloud-Tasks","X-A":"1"},"httpMethod":"PATCH","oidcToken":{"audience":"https://aud","serviceAccountEmail":"t@p.iam.gserviceaccount.com"},"url":"http://127.0.0.1:1/x?y=2"},"name":"projects/p/locations/l/queues/full/tasks/http1","scheduleTime":"2026-12-20T10:00:00.125Z","view":"FULL"}', X'7b226b223a317d', 0, 0, 0, 0, 0, 0, 0, 0, -1, '');
INSERT INTO tasks VALUES('projects/p/locations/l/queues/plain', 'gae1', 1797811200000000, 1796130843974854, '{"appEngineHttpRequest":{"appEngineRouting":{"instance":"i2","service":"worker"},"headers":{"A":"b","Content-Length":"2","Content-Type":"application/octet-stream","User-Agent":"AppEngine-Google; (+http://code.google.com/appengine)"},"httpMethod":"PUT","relativeUri":"/work?x=1"},"createTime":"2026-12-01T13:14:03Z","name":"projects/p/locations/l/queues/plain/tasks/gae1","scheduleTime":"2026-12-21T00:00:00Z","view":"FULL"}', X'6869', 0, 0, 0, 0, 0, 0, 0, 0, -1, '');
INSERT INTO tasks VALUES('projects/p/locations/l/queues/plain', 'oauth1', 1796130844102984, 1796130844102996, '{"createTime":"2026-12-01T13:14:04Z","dispatchDeadline":"600s","httpRequest":{"headers":{"User-Agent":"Google-Cloud-Tasks"},"httpMethod":"POST","oauthToken":{"scope":"https://www.googleapis.com/auth/cloud-platform","serviceAccountEmail":"o@p.iam.gserviceaccount.com"},"url":"https://example.com/o"},"name":"projects/p/locations/l/queues/plain/tasks/oauth1","scheduleTime":"2026-12-01T13:14:04.102984Z","view":"FULL"}', X'', 0, 0, 0, 0, 0, 0, 0, 0, -1, '');
INSERT INTO dead_letters VALUES('projects/p/locations/l/queues/dead', 'd1', 1796130844414938, '{"createTime":"2026-12-01T13:14:04Z","dispatchCount":1,"dispatchDeadline":"600s","firstAttempt":{"dispatchTime":"2026-12-01T13:14:04.410111Z"},"httpRequest":{"headers":{"User-Agent":"Google-Cloud-Tasks"},"httpMethod":"POST","url":"http://127.0.0.1:1/never"},"lastAttempt":{"dispatchTime":"2026-12-01T13:14:04.410111Z","responseStatus":{"code":14,"message":"cannot connect to http://127.0.0.1:1: Connection refused"},"responseTime":"2026-12-01T13:14:04.414938Z","scheduleTime":"2026-12-01T13:14:04.386826Z"},"name":"projects/p/locations/l/queues/dead/tasks/d1","scheduleTime":"2026-12-01T13:14:04.386826Z","view":"FULL"}', X'64656164', 'retries exhausted after 1 attempts', 0, '{}', X'');
INSERT INTO tombstones VALUES(1, 'projects/p/locations/l/queues/dead/tasks/d1', 1796130844414938);
INSERT INTO tombstones VALUES(1, 'projects/p/locations/l/queues/plain/tasks/gone', 1796130844270810);
)sql";

const std::string kFull = "projects/p/locations/l/queues/full";
const std::string kPlain = "projects/p/locations/l/queues/plain";
const std::string kDead = "projects/p/locations/l/queues/dead";

TEST_F(SqliteSchemaTest, RowsWrittenBeforeTheStorageCodecReadBackIdentically) {
  {
    auto fresh = SqliteStore::Open(path_, StoreOptions{});  // the schema-2 tables, empty
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  }
  Sql(kMainRows);
  auto opened = SqliteStore::Open(path_, StoreOptions{});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = **opened;

  auto q = store.GetQueue(kFull);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->state, QueueState::kPaused);
  EXPECT_EQ(q->rate_limits.max_dispatches_per_second, 2.5);
  EXPECT_EQ(q->rate_limits.max_burst_size, 10);
  EXPECT_EQ(q->rate_limits.max_concurrent_dispatches, 3);
  EXPECT_EQ(q->retry_config.max_attempts, -1);
  EXPECT_EQ(q->retry_config.max_retry_duration, 7200 * kMicrosPerSecond);
  EXPECT_EQ(q->retry_config.min_backoff, 250'000);
  EXPECT_EQ(q->retry_config.max_backoff, 30 * kMicrosPerSecond);
  EXPECT_EQ(q->retry_config.max_doublings, 4);
  EXPECT_EQ(q->logging_sampling_ratio, 0.5);
  EXPECT_EQ(q->stratus.permanent_failure_statuses, (std::vector<int>{404, 410}));
  ASSERT_TRUE(q->app_engine_routing_override.has_value());
  EXPECT_EQ(*q->app_engine_routing_override, (AppEngineRouting{"svc", "v1", "", ""}));
  ASSERT_TRUE(q->http_target.has_value());
  const HttpTarget& target = *q->http_target;
  ASSERT_TRUE(target.uri_override.has_value());
  EXPECT_EQ(target.uri_override->scheme, UriOverride::Scheme::kHttps);
  EXPECT_EQ(target.uri_override->host, "override.example");
  EXPECT_EQ(target.uri_override->port, 8443);
  EXPECT_EQ(target.uri_override->path_override->path, "/p");
  EXPECT_EQ(target.uri_override->query_override->query_params, "a=1");
  EXPECT_EQ(target.uri_override->enforce_mode, UriOverride::EnforceMode::kIfNotExists);
  EXPECT_EQ(target.http_method, HttpMethod::kPut);
  EXPECT_EQ(target.header_overrides, (std::vector<HttpTarget::Header>{{"X-Over", "v"}}));
  EXPECT_EQ(target.oidc_token, (OidcToken{"sa@p.iam.gserviceaccount.com", "aud"}));
  EXPECT_FALSE(target.oauth_token.has_value());

  auto http = store.GetTask(kFull + "/tasks/http1", kT0);
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  ASSERT_TRUE(http->http_request.has_value());
  EXPECT_EQ(http->http_request->url, "http://127.0.0.1:1/x?y=2");
  EXPECT_EQ(http->http_request->http_method, HttpMethod::kPatch);
  EXPECT_EQ(http->http_request->body, "{\"k\":1}");
  EXPECT_EQ(http->http_request->headers.at("X-A"), "1");
  EXPECT_EQ(http->http_request->oidc_token, (OidcToken{"t@p.iam.gserviceaccount.com", "https://aud"}));
  EXPECT_EQ(http->dispatch_deadline, 45 * kMicrosPerSecond);
  EXPECT_EQ(http->schedule_time, 1797760800125000);
  EXPECT_EQ(FormatTimestamp(http->create_time), "2026-12-01T13:14:03Z");
  EXPECT_EQ(http->dispatch_count, 0);
  EXPECT_FALSE(http->last_attempt.has_value());

  auto gae = store.GetTask(kPlain + "/tasks/gae1", kT0);
  ASSERT_TRUE(gae.ok()) << gae.status().ToString();
  ASSERT_TRUE(gae->app_engine_http_request.has_value());
  EXPECT_EQ(gae->app_engine_http_request->http_method, HttpMethod::kPut);
  EXPECT_EQ(gae->app_engine_http_request->relative_uri, "/work?x=1");
  EXPECT_EQ(gae->app_engine_http_request->app_engine_routing, (AppEngineRouting{"worker", "", "i2", ""}));
  EXPECT_EQ(gae->app_engine_http_request->body, "hi");

  auto oauth = store.GetTask(kPlain + "/tasks/oauth1", kT0);
  ASSERT_TRUE(oauth.ok()) << oauth.status().ToString();
  EXPECT_EQ(oauth->http_request->oauth_token,
            (OAuthToken{"o@p.iam.gserviceaccount.com", "https://www.googleapis.com/auth/cloud-platform"}));

  auto dead = store.GetDeadLetter(kDead + "/tasks/d1");
  ASSERT_TRUE(dead.ok()) << dead.status().ToString();
  EXPECT_EQ(dead->reason, "retries exhausted after 1 attempts");
  EXPECT_EQ(dead->task.http_request->body, "dead");
  EXPECT_EQ(dead->task.dispatch_count, 1);
  ASSERT_TRUE(dead->task.last_attempt.has_value());
  EXPECT_EQ(dead->task.last_attempt->response_status->code(), Code::kUnavailable);
  EXPECT_EQ(dead->task.last_attempt->response_status->message(),
            "cannot connect to http://127.0.0.1:1: Connection refused");
  EXPECT_EQ(FormatTimestamp(dead->task.last_attempt->schedule_time), "2026-12-01T13:14:04.386826Z");
  EXPECT_EQ(ReasonOf(store.GetTask(kPlain + "/tasks/gone", 1796130844270810 + 1).status()),
            StoreReason::kTaskRecentlyDeleted);

  // Written again through the storage codec, every document is the same bytes: the format
  // did not change, so a database stays readable by the stratus that wrote it.
  for (const auto& name : {kFull, kPlain, kDead}) {
    auto queue = store.GetQueue(name);
    ASSERT_TRUE(queue.ok());
    EXPECT_EQ(storage::EncodeQueue(*queue), Text("SELECT doc FROM queues WHERE name = " + Quote(name))) << name;
    EXPECT_EQ(storage::EncodeQueueExtensions(queue->stratus),
              Text("SELECT ext FROM queues WHERE name = " + Quote(name)))
        << name;
  }
  for (const auto& [queue, id] : {std::pair{kFull, "http1"}, std::pair{kPlain, "gae1"}, std::pair{kPlain, "oauth1"}}) {
    auto task = store.GetTask(queue + "/tasks/" + id, kT0);
    ASSERT_TRUE(task.ok());
    EXPECT_EQ(storage::EncodeTask(*task, false),
              Text("SELECT doc FROM tasks WHERE queue = " + Quote(queue) + " AND id = " + Quote(id)))
        << id;
  }
  EXPECT_EQ(storage::EncodeTask(dead->task, true), Text("SELECT doc FROM dead_letters WHERE id = 'd1'"));

  // And the store goes on: the old queue changes, the dead letter goes back.
  auto resumed = store.WriteSync(QueueUpdate{kFull,
                                             [](const Queue* cur, bool) -> StatusOr<Queue> {
                                               Queue next = *cur;
                                               next.state = QueueState::kRunning;
                                               return next;
                                             }},
                                 kT0);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->queue->http_target, q->http_target);
  ASSERT_TRUE(store.WriteSync(DeadLetterRetry{kDead + "/tasks/d1"}, kT0).ok());
  store.Close();
  opened->reset();
  auto reopened = SqliteStore::Open(path_, StoreOptions{});
  ASSERT_TRUE(reopened.ok());
  auto again = (*reopened)->GetQueue(kFull);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, QueueState::kRunning);
  EXPECT_EQ(again->http_target, q->http_target);
  EXPECT_EQ(again->app_engine_routing_override, q->app_engine_routing_override);
  auto back = (*reopened)->GetTask(kDead + "/tasks/d1", kT0);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->http_request->body, "dead");
}

}  // namespace
}  // namespace stratus
