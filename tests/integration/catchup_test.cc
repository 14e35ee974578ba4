// The CatchUp app's skipped tests, run for real: the reference worker's 11 jobs behind a
// JobServer (OIDC verified, idempotency in the embedded Redis), fed by TaskQueue through the
// real stratus binary with the queues of examples/catchup/queues.yaml.
#include <gtest/gtest.h>

#include <thread>

#include "integration/paths.h"
#include "jobs.h"
#include "redis_test_server.h"
#include "rest_client.h"
#include "stratus/sdk/idempotency.h"
#include "stratus/sdk/task_queue.h"
#include "stratus_process.h"

namespace catchup {
namespace {

using namespace std::chrono_literals;
using namespace stratus::sdk;
using json = nlohmann::json;
using stratus::testing::RestClient;
using stratus::testing::StratusProcess;

constexpr char kSa[] = "catchup-worker@catchup-local.iam.gserviceaccount.com";
constexpr char kProjectPath[] = "/projects/catchup-local/locations/us-central1/queues/";

template <typename F>
bool WaitFor(F done, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// A worker: the 11 jobs on a JobServer, trusting the stratus process as OIDC issuer.
struct Worker {
  Worker(StratusProcess& proc, HttpRedis& redis, PermanentFailureAnswer answer) : cache(redis) {
    uint16_t port = stratus::testing::FreePort();
    url = "http://127.0.0.1:" + std::to_string(port);
    auto verifier = OidcVerifier::Create({.issuers = {proc.tasks_url()}, .audiences = {url}});
    EXPECT_TRUE(verifier.ok()) << verifier.status().ToString();
    JobServerOptions o;
    o.port = port;
    o.verifier = std::move(verifier).value();
    o.allowed_service_accounts = {kSa};
    o.idempotency = std::make_shared<IdempotencyManager>(redis);
    o.permanent_answer = answer;
    o.failed_tasks = failed;
    o.logger = Logger([this](std::string_view line) {
      std::lock_guard lock(mu);
      log.emplace_back(line);
    });
    deps.cache = &cache;
    deps.simulation.latency = 1ms;
    server = std::make_unique<JobServer>(std::move(o));
    RegisterJobs(*server, deps);
    stratus::Status s = server->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  std::string Log() {
    std::lock_guard lock(mu);
    std::string all;
    for (const auto& l : log) all += l + "\n";
    return all;
  }
  int LogLinesWith(const std::string& needle) {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& l : log) n += l.find(needle) != std::string::npos;
    return n;
  }
  Cache cache;
  JobDeps deps;
  std::string url;
  std::shared_ptr<MemoryFailedTaskStore> failed = std::make_shared<MemoryFailedTaskStore>();
  std::unique_ptr<JobServer> server;
  std::mutex mu;
  std::vector<std::string> log;
};

class CatchUp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(proc_.Start({"--redis-token", "t0ken"})) << proc_.output();
    // The app's queues, applied by the CLI as a user would.
    std::string cmd = std::string(STRATUS_BINARY) + " queues apply " + STRATUS_SOURCE_DIR +
                      "/examples/catchup/queues.yaml --server " + proc_.tasks_url() + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    auto redis = HttpRedis::Create({.url = proc_.redis_url(), .token = "t0ken"});
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    redis_ = std::move(redis).value();
    worker_ = std::make_unique<Worker>(proc_, *redis_, PermanentFailureAnswer::kStatus);
    queue_ = MakeQueue(worker_->url, JobQueues());
  }
  void TearDown() override {
    if (worker_) worker_->server->Stop();
  }
  std::unique_ptr<TaskQueue> MakeQueue(const std::string& service_url, std::map<std::string, std::string> queues) {
    auto q = TaskQueue::Create({.base_url = proc_.tasks_url(),
                                .project = kProject,
                                .service_url = service_url,
                                .service_account = kSa,
                                .job_queues = std::move(queues)});
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    return q.ok() ? std::move(q).value() : nullptr;
  }
  std::string QueueUrl(const std::string& q, const std::string& api = "/v2") {
    return proc_.tasks_url() + api + kProjectPath + q;
  }
  size_t TasksIn(const std::string& q) {
    auto r = rest_.Get(QueueUrl(q) + "/tasks?pageSize=1000");
    return r.body.contains("tasks") ? r.body["tasks"].size() : 0;
  }
  // The server's /metrics text.
  std::string Metrics() {
    auto r = rest_.Get(proc_.tasks_url() + "/metrics");
    return r.status == 200 && r.body.is_string() ? r.body.get<std::string>() : std::string();
  }
  // One series of queue `q` in `text` (0 when absent: counters appear at their first count).
  static double Series(const std::string& text, const std::string& name, const std::string& q) {
    const std::string head = "\n" + name + "{queue=\"projects/catchup-local/locations/us-central1/queues/" + q + "\"} ";
    auto at = text.find(head);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + head.size()));
  }
  double Metric(const std::string& name, const std::string& q) { return Series(Metrics(), name, q); }
  // A fast-retrying queue for tests that wait for retries.
  void FastQueue(const std::string& id, json extra = json::object()) {
    json fields = {{"retryConfig", {{"maxAttempts", 5}, {"minBackoff", "0.5s"}, {"maxBackoff", "10s"}}}};
    fields.update(extra);
    ASSERT_TRUE(queue_->ApplyQueue(id, fields).ok());
  }
  json IdempotencyRecord(const std::string& key) {
    auto v = redis_->Get("idempotency:" + key);
    if (!v.ok() || !*v) return nullptr;
    return json::parse(**v, nullptr, false);
  }

  StratusProcess proc_;
  std::unique_ptr<HttpRedis> redis_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<TaskQueue> queue_;
  RestClient rest_;
};

// 1. Each of the 11 job types, end to end.
TEST_F(CatchUp, EveryJobTypeRunsEndToEnd) {
  std::vector<EnqueuedTask> tasks;
  for (const auto& job : JobNames()) {
    auto t = queue_->Add(job, SampleData(job, 1));
    ASSERT_TRUE(t.ok()) << job << ": " << t.status().ToString();
    tasks.push_back(*t);
  }
  auto& stats = *worker_->deps.stats;
  ASSERT_TRUE(WaitFor([&] { return stats.Total() >= 11; }, 20s)) << stats.Total() << "\n" << worker_->Log();
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& job = JobNames()[i];
    EXPECT_EQ(stats.ExecutionsOf(job), 1) << job;
    ASSERT_TRUE(WaitFor([&] { return TasksIn(tasks[i].queue) == 0; }, 10s)) << tasks[i].queue;
    json rec = IdempotencyRecord(tasks[i].idempotency_key);
    ASSERT_TRUE(rec.is_object()) << job;
    EXPECT_EQ(rec["state"], "done") << rec.dump();
    EXPECT_EQ(rec["result"]["attempt"], 1) << rec.dump();
  }
  // The cache the jobs write through Redis REST.
  auto token = worker_->cache.Get("token:user-1");
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((**token)["expiresIn"], 3600);
  EXPECT_EQ(worker_->LogLinesWith("eyJ"), 0) << "a JWT reached the log";
  EXPECT_GE(worker_->LogLinesWith("token-refresh"), 1) << "one structured line per job";
}

// 2. Idempotency: the same job delivered twice executes once.
TEST_F(CatchUp, SameJobDeliveredTwiceExecutesOnce) {
  FastQueue("idem-q");
  auto q = MakeQueue(worker_->url, {{"calendar-sync", "idem-q"}});
  json data = {{"userId", "u-idem"}, {"simulate", {{"latencyMs", 400}}}};
  // Two tasks with the same payload (an enqueue retried by the app), both forced to run at
  // once with tasks.run while scheduled an hour ahead: one executes; the other finds the key
  // in progress (503), is retried by the queue, and then answers as a duplicate.
  auto later = std::chrono::system_clock::now() + 1h;
  auto a = q->Add("calendar-sync", data, {.schedule_time = later, .task_id = "first"});
  auto b = q->Add("calendar-sync", data, {.schedule_time = later, .task_id = "second"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(rest_.Post(proc_.tasks_url() + "/v2/" + a->name + ":run").status, 200);
  EXPECT_EQ(rest_.Post(proc_.tasks_url() + "/v2/" + b->name + ":run").status, 200);
  ASSERT_TRUE(WaitFor([&] { return TasksIn("idem-q") == 0; }, 20s)) << TasksIn("idem-q");
  EXPECT_EQ(worker_->deps.stats->Executions(a->idempotency_key), 1);
  EXPECT_GE(worker_->LogLinesWith("duplicate"), 1);

  // Delivered again later (a third copy, run on demand): still one execution, and the
  // answer carries the first result.
  auto c = q->Add("calendar-sync", data, {.schedule_time = later, .task_id = "third"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(rest_.Post(proc_.tasks_url() + "/v2/" + c->name + ":run").status, 200);
  ASSERT_TRUE(WaitFor([&] { return TasksIn("idem-q") == 0; }, 10s));
  EXPECT_EQ(worker_->deps.stats->Executions(a->idempotency_key), 1);
  EXPECT_EQ(IdempotencyRecord(a->idempotency_key)["result"]["attempt"], 1);
}

// 3a. A transient failure is retried on the queue's schedule, then succeeds.
TEST_F(CatchUp, TransientFailureIsRetriedOnTheQueueScheduleThenSucceeds) {
  FastQueue("retry-q", {{"retryConfig", {{"maxAttempts", 5}, {"minBackoff", "1s"}, {"maxBackoff", "10s"}}}});
  auto q = MakeQueue(worker_->url, {{"google-contacts-sync", "retry-q"}});
  json data = {{"userId", "u-retry"}, {"simulate", {{"failAttempts", 2}, {"status", 503}}}};
  auto t = q->Add("google-contacts-sync", data);
  ASSERT_TRUE(t.ok());
  auto& stats = *worker_->deps.stats;
  ASSERT_TRUE(WaitFor([&] { return stats.Executions(t->idempotency_key) >= 3; }, 20s));
  ASSERT_TRUE(WaitFor([&] { return TasksIn("retry-q") == 0; }, 5s));
  auto times = stats.Times(t->idempotency_key);
  ASSERT_EQ(times.size(), 3u);
  // minBackoff 1 s, doubling: about 1 s, then about 2 s.
  auto gap1 = std::chrono::duration_cast<std::chrono::milliseconds>(times[1] - times[0]).count();
  auto gap2 = std::chrono::duration_cast<std::chrono::milliseconds>(times[2] - times[1]).count();
  EXPECT_GE(gap1, 900);
  EXPECT_LT(gap1, 1900);
  EXPECT_GE(gap2, 1900);
  EXPECT_LT(gap2, 3500);
  EXPECT_EQ(IdempotencyRecord(t->idempotency_key)["result"]["attempt"], 3);
}

// 3b. A permanent failure is not retried: stratus dead-letters the worker's 422.
TEST_F(CatchUp, PermanentFailureIsDeadLetteredWithoutRetry) {
  FastQueue("perm-q", {{"stratus", {{"permanentFailureStatuses", {422}}}}});
  auto q = MakeQueue(worker_->url, {{"calendar-sync", "perm-q"}});
  auto t = q->Add("calendar-sync", json{{"calendarId", "primary"}});  // no userId
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(WaitFor([&] { return TasksIn("perm-q") == 0; }, 10s));
  auto dead = rest_.Get(QueueUrl("perm-q", "/stratus/v1") + "/deadLetters");
  ASSERT_EQ(dead.status, 200) << dead.body.dump();
  ASSERT_EQ(dead.body["deadLetters"].size(), 1u) << dead.body.dump();
  EXPECT_EQ(dead.body["deadLetters"][0]["task"]["name"], t->name);
  // No retry can follow: the runner holds nothing more for the queue (its depth counts
  // attempts in flight), and the one attempt made was the one dead-lettered.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string m = Metrics();
        return Series(m, "stratus_tasks_dead_lettered_total", "perm-q") == 1 &&
               Series(m, "stratus_queue_depth", "perm-q") == 0;
      },
      10s))
      << Metrics();
  std::string m = Metrics();
  EXPECT_EQ(Series(m, "stratus_tasks_dispatched_total", "perm-q"), 1) << m;
  EXPECT_EQ(Series(m, "stratus_tasks_retried_total", "perm-q"), 0) << m;
  EXPECT_EQ(worker_->deps.stats->Executions(t->idempotency_key), 1);
}

// 3c. For Google (which retries every non-2xx) the worker acknowledges and records it.
TEST_F(CatchUp, PermanentFailureIsAcknowledgedAndRecordedForGoogle) {
  Worker google_style(proc_, *redis_, PermanentFailureAnswer::kAcknowledge);
  FastQueue("ack-q");
  auto q = MakeQueue(google_style.url, {{"webhook-renewal", "ack-q"}});
  auto t = q->Add("webhook-renewal", json{{"note", "no channelId"}});
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(WaitFor([&] { return TasksIn("ack-q") == 0; }, 10s));
  // Succeeded at the first attempt and nothing left in the runner: no second delivery can come.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string m = Metrics();
        return Series(m, "stratus_tasks_succeeded_total", "ack-q") == 1 &&
               Series(m, "stratus_queue_depth", "ack-q") == 0;
      },
      10s))
      << Metrics();
  EXPECT_EQ(Metric("stratus_tasks_dispatched_total", "ack-q"), 1);
  EXPECT_EQ(google_style.deps.stats->Executions(t->idempotency_key), 1);
  auto failed = google_style.failed->All();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].job_name, "webhook-renewal");
  EXPECT_EQ(failed[0].idempotency_key, t->idempotency_key);
  EXPECT_NE(failed[0].error.find("channelId"), std::string::npos) << failed[0].error;
  auto dead = rest_.Get(QueueUrl("ack-q", "/stratus/v1") + "/deadLetters");
  EXPECT_TRUE(!dead.body.contains("deadLetters") || dead.body["deadLetters"].empty()) << dead.body.dump();
  google_style.server->Stop();
}

// 5. Load: 1,000 tasks across the 11 queues all complete, each executed exactly once.
TEST_F(CatchUp, ThousandTasksAcrossElevenQueuesEachRunExactlyOnce) {
  std::vector<Job> jobs;
  const auto& names = JobNames();
  for (int i = 0; i < 1000; ++i) jobs.push_back({names[i % names.size()], SampleData(names[i % names.size()], i), {}});
  auto results = queue_->AddBatch(jobs, 16);
  std::map<std::string, int> per_job;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    ++per_job[jobs[i].name];
  }
  auto& stats = *worker_->deps.stats;
  // The slowest queues (10 dispatches/s, 91 tasks) take about 9 s.
  ASSERT_TRUE(WaitFor([&] { return stats.Total() >= 1000; }, 60s)) << stats.Total();
  for (const auto& name : names) {
    ASSERT_TRUE(WaitFor([&] { return TasksIn(name + "-queue") == 0; }, 10s)) << name;
    EXPECT_EQ(stats.ExecutionsOf(name), per_job[name]) << name;
  }
  auto by_key = stats.ByKey();
  EXPECT_EQ(by_key.size(), 1000u);
  for (const auto& r : results) EXPECT_EQ(by_key[r->idempotency_key], 1) << r->name;
  // Every runner is empty (depth counts attempts in flight, so each attempt has been answered)
  // and 1,000 tasks succeeded: no further execution can come.
  std::string m;
  ASSERT_TRUE(WaitFor(
      [&] {
        m = Metrics();
        for (const auto& name : names) {
          if (Series(m, "stratus_queue_depth", name + "-queue") != 0) return false;
        }
        return true;
      },
      10s))
      << m;
  double succeeded = 0;
  for (const auto& name : names) succeeded += Series(m, "stratus_tasks_succeeded_total", name + "-queue");
  EXPECT_EQ(succeeded, 1000) << m;
  EXPECT_EQ(stats.Total(), 1000);
}

}  // namespace
}  // namespace catchup
