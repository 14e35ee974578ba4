// SchedulerService over an in-memory JobStore with a fake clock: what each method stores, the
// next tick it computes, and the JobEvents the executor hears after each durable change.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <optional>

#include "common/time.h"
#include "scheduler/messages.h"
#include "scheduler/service.h"

namespace stratus::scheduler {
namespace {

class MemoryJobStore final : public JobStore {
 public:
  StatusOr<Job> Create(const Job& job) override {
    std::lock_guard lock(mu_);
    if (jobs_.count(job.name)) return AlreadyExists("exists");
    jobs_[job.name] = job;
    return job;
  }
  StatusOr<Job> Get(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return NotFound("missing");
    return it->second;
  }
  StatusOr<std::vector<Job>> List(const std::string& parent) override {
    std::lock_guard lock(mu_);
    std::vector<Job> out;
    for (const auto& [name, job] : jobs_) {
      if (name.rfind(parent + "/jobs/", 0) == 0) out.push_back(job);
    }
    return out;
  }
  StatusOr<std::vector<Job>> All() override { return List(""); }
  StatusOr<Job> Update(const Job& job) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(job.name);
    if (it == jobs_.end()) return NotFound("missing");
    Job next = job;
    next.last_attempt_time = it->second.last_attempt_time;
    next.status = it->second.status;
    it->second = next;
    return next;
  }
  Status RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                   const std::optional<Status>& status, int64_t /*epoch*/) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return NotFound("missing");
    it->second.schedule_time = schedule_time;
    it->second.last_attempt_time = last_attempt_time;
    it->second.status = status;
    return Status::Ok();
  }
  Status Delete(const std::string& name) override {
    std::lock_guard lock(mu_);
    return jobs_.erase(name) ? Status::Ok() : NotFound("missing");
  }

 private:
  std::mutex mu_;
  std::map<std::string, Job> jobs_;
};

struct RecordingEvents final : JobEvents {
  void Changed(const Job& job) override {
    log.push_back("changed " + job.name + " " + std::string(JobStateName(job.state)));
  }
  void Deleted(const std::string& name) override { log.push_back("deleted " + name); }
  void RunNow(const Job& job) override { log.push_back("run " + job.name); }
  std::vector<std::string> log;
};

constexpr char kParent[] = "projects/p/locations/us-central1";
constexpr char kName[] = "projects/p/locations/us-central1/jobs/j";

class SchedulerServiceTest : public ::testing::Test {
 protected:
  SchedulerServiceTest() : clock_(*ParseTimestamp("2026-06-01T10:07:30.250Z")) { service_.SetEvents(&events_); }
  ~SchedulerServiceTest() override { pool_.join(); }

  template <typename T>
  T Run(asio::awaitable<T> co) {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::optional<T> out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          T v = co_await std::move(co);
          out.emplace(std::move(v));
          guard.reset();
        },
        asio::detached);
    io.run();
    return std::move(*out);
  }

  static Job MakeJob(const std::string& schedule = "*/15 * * * *") {
    Job j;
    j.name = kName;
    j.schedule = schedule;
    j.http_target.uri = "https://example.com/hook";
    j.http_target.http_method = HttpMethod::kUnspecified;
    j.retry_config = JobRetryConfig{0, 0, 0, 0, 0};
    j.attempt_deadline = 0;
    return j;
  }

  FakeClock clock_;
  asio::thread_pool pool_{2};
  MemoryJobStore store_;
  RecordingEvents events_;
  SchedulerService service_{store_, clock_, pool_, SchedulerOptions{}};
};

TEST_F(SchedulerServiceTest, CreateStoresDefaultsAndTheNextTickThenTellsTheExecutor) {
  Job request = MakeJob();
  request.state = JobState::kPaused;  // output only: ignored
  request.last_attempt_time = 5;
  auto created = Run(service_.CreateJob(kParent, request));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->state, JobState::kEnabled);
  EXPECT_EQ(created->last_attempt_time, 0);
  EXPECT_EQ(FormatTimestamp(created->user_update_time), "2026-06-01T10:07:30Z");
  EXPECT_EQ(FormatTimestamp(created->schedule_time), "2026-06-01T10:15:00Z");
  EXPECT_EQ(created->attempt_deadline, 180 * kMicrosPerSecond);
  EXPECT_EQ(created->http_target.http_method, HttpMethod::kPost);
  EXPECT_EQ(events_.log, (std::vector<std::string>{std::string("changed ") + kName + " ENABLED"}));
  auto stored = store_.Get(kName);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->schedule_time, created->schedule_time);

  auto again = Run(service_.CreateJob(kParent, MakeJob()));
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.status().message(), std::string("Job ") + kName + " already exists.");
  EXPECT_EQ(events_.log.size(), 1u);  // a refused change tells nobody
}

TEST_F(SchedulerServiceTest, PauseResumeRunDeleteEachTellTheExecutor) {
  ASSERT_TRUE(Run(service_.CreateJob(kParent, MakeJob())).ok());
  auto paused = Run(service_.PauseJob(kName));
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->state, JobState::kPaused);
  EXPECT_EQ(paused->schedule_time, 0);
  clock_.Advance(3600 * kMicrosPerSecond);  // an hour paused: its ticks are not made up
  auto resumed = Run(service_.ResumeJob(kName));
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state, JobState::kEnabled);
  EXPECT_EQ(FormatTimestamp(resumed->schedule_time), "2026-06-01T11:15:00Z");
  auto run = Run(service_.RunJob(kName));
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(Run(service_.DeleteJob(kName)).ok());
  EXPECT_EQ(events_.log, (std::vector<std::string>{std::string("changed ") + kName + " ENABLED",
                                                   std::string("changed ") + kName + " PAUSED",
                                                   std::string("changed ") + kName + " ENABLED",
                                                   std::string("run ") + kName, std::string("deleted ") + kName}));
  EXPECT_EQ(Run(service_.DeleteJob(kName)).message(), msg::kJobNotFound);
  EXPECT_EQ(Run(service_.RunJob(kName)).status().message(), msg::kJobNotFound);
  EXPECT_EQ(events_.log.size(), 5u);
}

TEST_F(SchedulerServiceTest, UpdateRecomputesTheNextTickAndKeepsTheRecordedRun) {
  ASSERT_TRUE(Run(service_.CreateJob(kParent, MakeJob())).ok());
  ASSERT_TRUE(store_.RecordRun(kName, 1, 2, Status(Code::kUnavailable, "down"), 0).ok());
  JobInput in;
  in.job.schedule = "0 12 * * *";
  in.job.time_zone = "Asia/Tokyo";  // 12:00 JST is 03:00Z
  in.present = {"schedule", "timeZone"};
  auto updated = Run(service_.UpdateJob(kName, in, ""));
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(updated->schedule, "0 12 * * *");
  EXPECT_EQ(FormatTimestamp(updated->schedule_time), "2026-06-02T03:00:00Z");
  EXPECT_EQ(updated->last_attempt_time, 2);
  ASSERT_TRUE(updated->status);
  EXPECT_EQ(updated->status->message(), "down");
  EXPECT_EQ(updated->http_target.uri, "https://example.com/hook");  // not named: kept

  in.job.schedule = "not a schedule";
  in.present = {"schedule"};
  auto bad = Run(service_.UpdateJob(kName, in, ""));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_.Get(kName)->schedule, "0 12 * * *");  // nothing stored
  EXPECT_EQ(events_.log.size(), 2u);
}

TEST_F(SchedulerServiceTest, ActAsIsAskedForTheAccountAJobSignsAs) {
  Job job = MakeJob();
  job.http_target.oidc_token = OidcToken{"other@p.iam.gserviceaccount.com", ""};
  ActAs only_jobs = [](const std::string& email) {
    return email == "jobs@p.iam.gserviceaccount.com" ? Status::Ok() : Status(Code::kPermissionDenied, "not " + email);
  };
  auto refused = Run(service_.CreateJob(kParent, job, only_jobs));
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_FALSE(store_.Get(kName).ok());
  job.http_target.oidc_token->service_account_email = "jobs@p.iam.gserviceaccount.com";
  EXPECT_TRUE(Run(service_.CreateJob(kParent, job, only_jobs)).ok());
}

TEST_F(SchedulerServiceTest, ListPagesInNameOrder) {
  for (const char* id : {"c", "a", "b"}) {
    Job j = MakeJob();
    j.name = std::string(kParent) + "/jobs/" + id;
    ASSERT_TRUE(Run(service_.CreateJob(kParent, j)).ok());
  }
  auto first = Run(service_.ListJobs(kParent, 2, ""));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->jobs.size(), 2u);
  EXPECT_EQ(first->jobs[0].name, std::string(kParent) + "/jobs/a");
  ASSERT_FALSE(first->next_page_token.empty());
  auto second = Run(service_.ListJobs(kParent, 2, first->next_page_token));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->jobs.size(), 1u);
  EXPECT_EQ(second->jobs[0].name, std::string(kParent) + "/jobs/c");
  EXPECT_TRUE(second->next_page_token.empty());
  EXPECT_EQ(Run(service_.ListJobs(kParent, 0, "x")).status().message(), msg::kInvalidPageToken);
  EXPECT_EQ(Run(service_.ListJobs("projects/p/locations/bad location", 0, "")).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace stratus::scheduler
