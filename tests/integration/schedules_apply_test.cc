// `stratus schedules apply` against the real server: examples/catchup/schedules.yaml creates
// the app's periodic jobs as written, a second apply changes nothing, an edited file updates a
// job in place, and a bad file is refused before anything is sent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base64.h"
#include "integration/paths.h"
#include "integration/rest_client.h"
#include "integration/run_shell.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using testing::RestClient;
using testing::StratusProcess;

const std::string kLoc = "projects/catchup-local/locations/us-central1";

// Runs the stratus binary with `args` (stdout and stderr together).
testing::ShellRun RunCli(const std::string& args, const std::string& env = "") {
  return testing::RunShell(env + " " + STRATUS_BINARY + std::string(" ") + args + " 2>&1");
}

class SchedulesApply : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    testing::ShellRun q = RunCli("queues apply " + Example("queues.yaml") + " --server " + server_.tasks_url());
    ASSERT_EQ(q.code, 0) << q.out;
  }
  static std::string Example(const std::string& name) {
    return std::string(STRATUS_SOURCE_DIR) + "/examples/catchup/" + name;
  }
  json Jobs() {
    auto r = client_.Get(server_.tasks_url() + "/v1/" + kLoc + "/jobs");
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body.value("jobs", json::array());
  }
  static json WithoutUpdateTime(json jobs) {
    for (auto& j : jobs) j.erase("userUpdateTime");
    return jobs;
  }

  StratusProcess server_;
  RestClient client_;
};

TEST_F(SchedulesApply, CreatesTheCatchupJobsAndIsIdempotent) {
  const std::string env = "CATCHUP_WORKER_URL=http://127.0.0.1:9099";
  testing::ShellRun first =
      RunCli("schedules apply " + Example("schedules.yaml") + " --server " + server_.tasks_url(), env);
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("applied " + kLoc + "/jobs/webhook-renewal"), std::string::npos) << first.out;
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 4u) << jobs.dump(2);
  std::map<std::string, json> by_id;
  for (const auto& j : jobs) by_id[j["name"].get<std::string>().substr(kLoc.size() + 6)] = j;
  for (const char* id : {"webhook-renewal", "webhook-health-check", "notification-reminder", "token-health-reminder"}) {
    SCOPED_TRACE(id);
    ASSERT_TRUE(by_id.count(id));
    const json& j = by_id[id];
    EXPECT_EQ(j.value("state", ""), "ENABLED");
    EXPECT_EQ(j.value("stratusQueue", ""), kLoc + "/queues/" + std::string(id) + "-queue");
    EXPECT_EQ(j["httpTarget"].value("uri", ""), "http://127.0.0.1:9099/api/jobs/" + std::string(id));
    EXPECT_EQ(j["httpTarget"]["oidcToken"].value("audience", ""), "http://127.0.0.1:9099");
    // The worker's payload, with the key the JobServer recomputes.
    auto body = Base64Decode(j["httpTarget"].value("body", ""));
    ASSERT_TRUE(body.ok());
    json payload = json::parse(*body, nullptr, false);
    EXPECT_EQ(payload.value("jobName", ""), id);
    EXPECT_EQ(payload.value("idempotencyKey", "").size(), 64u) << *body;
    EXPECT_EQ(j["httpTarget"]["headers"].value("Content-Type", ""), "application/json");
    EXPECT_TRUE(j.contains("scheduleTime"));
  }
  EXPECT_EQ(by_id["token-health-reminder"].value("timeZone", ""), "America/New_York");
  EXPECT_EQ(by_id["token-health-reminder"].value("schedule", ""), "0 9 * * 1-5");
  EXPECT_EQ(by_id["token-health-reminder"]["retryConfig"].value("retryCount", 0), 2);

  // Again: the same jobs, unchanged.
  testing::ShellRun second =
      RunCli("schedules apply " + Example("schedules.yaml") + " --server " + server_.tasks_url(), env);
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_EQ(WithoutUpdateTime(Jobs()), WithoutUpdateTime(jobs));
}

TEST_F(SchedulesApply, AnEditedFileUpdatesTheJobInPlace) {
  const std::string dir = server_.data_dir() + "/files";
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/s.yaml";
  auto write = [&](const std::string& schedule) {
    std::ofstream(file) << "project: catchup-local\njobs:\n  nightly:\n    schedule: \"" << schedule
                        << "\"\n    httpTarget:\n      uri: http://127.0.0.1:9/x\n      bodyText: hi\n";
  };
  write("0 3 * * *");
  ASSERT_EQ(RunCli("schedules apply " + file + " --server " + server_.tasks_url()).code, 0);
  write("30 4 * * *");
  testing::ShellRun r = RunCli("schedules apply " + file + " --server " + server_.tasks_url());
  ASSERT_EQ(r.code, 0) << r.out;
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].value("schedule", ""), "30 4 * * *");
  EXPECT_EQ(*Base64Decode(jobs[0]["httpTarget"].value("body", "")), "hi");
  EXPECT_EQ(jobs[0]["scheduleTime"].get<std::string>().substr(11), "04:30:00Z");
}

TEST_F(SchedulesApply, BadFilesAreRefusedBeforeAnythingIsSent) {
  const std::string dir = server_.data_dir() + "/files";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/no-jobs.yaml") << "project: p\n";
  testing::ShellRun r = RunCli("schedules apply " + dir + "/no-jobs.yaml --server " + server_.tasks_url());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("expected a 'jobs:' map"), std::string::npos) << r.out;
  std::ofstream(dir + "/unset.yaml")
      << "jobs:\n  j:\n    schedule: \"* * * * *\"\n    httpTarget: {uri: \"${NOPE_UNSET_VAR}/x\"}\n";
  r = RunCli("schedules apply " + dir + "/unset.yaml --server " + server_.tasks_url());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("NOPE_UNSET_VAR is not set"), std::string::npos) << r.out;
  // A job the server refuses is reported and fails the run; the others are still applied.
  std::ofstream(dir + "/mixed.yaml")
      << "project: catchup-local\njobs:\n  good:\n    schedule: \"* * * * *\"\n"
         "    httpTarget: {uri: \"http://127.0.0.1:9/x\"}\n  bad:\n"
         "    schedule: \"61 * * * *\"\n    httpTarget: {uri: \"http://127.0.0.1:9/x\"}\n";
  r = RunCli("schedules apply " + dir + "/mixed.yaml --server " + server_.tasks_url());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("FAILED  " + kLoc + "/jobs/bad: INVALID_ARGUMENT"), std::string::npos) << r.out;
  EXPECT_EQ(Jobs().size(), 1u);
}

}  // namespace
}  // namespace stratus
