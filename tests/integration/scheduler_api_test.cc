// The Cloud Scheduler v1 REST API of the real binary: CRUD, pagination, PATCH with and
// without a mask, pause/resume, errors as google.rpc.Status, access checks, and jobs kept
// across a restart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "integration/rest_client.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using testing::RestClient;
using testing::RestReply;
using testing::StratusProcess;
using V = http::Verb;

constexpr char kLoc[] = "/v1/projects/p/locations/us-central1";
constexpr char kLocName[] = "projects/p/locations/us-central1";

json HttpJob(const std::string& id, const std::string& schedule = "0 3 * * *") {
  return {{"name", std::string(kLocName) + "/jobs/" + id},
          {"schedule", schedule},
          {"httpTarget", {{"uri", "http://127.0.0.1:9/hook"}}}};
}

// A google.rpc.Status error body with this HTTP code and status name.
void ExpectRpcError(const RestReply& r, int http, const std::string& status, const std::string& message = "") {
  EXPECT_EQ(r.status, http) << r.body.dump();
  ASSERT_TRUE(r.body.is_object() && r.body.contains("error")) << r.body.dump();
  EXPECT_EQ(r.body["error"]["code"], http);
  EXPECT_EQ(r.body["error"]["status"], status);
  if (!message.empty()) {
    EXPECT_EQ(r.body["error"]["message"], message);
  }
}

class SchedulerApi : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(proc_.Start({"--redis-listen", "off"})) << proc_.output(); }
  RestReply Call(V verb, const std::string& path, const json& body = nullptr) {
    return rest_.Call(verb, proc_.tasks_url() + path, body);
  }
  StratusProcess proc_;
  RestClient rest_;
};

TEST_F(SchedulerApi, CreateGetListDelete) {
  auto created = Call(V::post, std::string(kLoc) + "/jobs", HttpJob("nightly"));
  ASSERT_EQ(created.status, 200) << created.body.dump();
  const json& j = created.body;
  EXPECT_EQ(j["name"], std::string(kLocName) + "/jobs/nightly");
  EXPECT_EQ(j["state"], "ENABLED");
  EXPECT_EQ(j["schedule"], "0 3 * * *");
  EXPECT_EQ(j["httpTarget"]["httpMethod"], "POST");
  EXPECT_EQ(j["httpTarget"]["headers"]["User-Agent"], "Google-Cloud-Scheduler");
  EXPECT_EQ(j["attemptDeadline"], "180s");
  EXPECT_EQ(j["retryConfig"]["minBackoffDuration"], "5s");
  EXPECT_EQ(j["retryConfig"]["maxBackoffDuration"], "3600s");
  EXPECT_EQ(j["retryConfig"]["maxDoublings"], 5);
  ASSERT_TRUE(j.contains("userUpdateTime"));
  ASSERT_TRUE(j.contains("scheduleTime"));
  // The next 03:00 UTC, in the future.
  EXPECT_NE(j["scheduleTime"].get<std::string>().find("T03:00:00Z"), std::string::npos) << j.dump();
  EXPECT_GT(j["scheduleTime"].get<std::string>(), j["userUpdateTime"].get<std::string>());

  auto got = Call(V::get, std::string(kLoc) + "/jobs/nightly");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, created.body);

  auto list = Call(V::get, std::string(kLoc) + "/jobs");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["jobs"].size(), 1u);
  EXPECT_EQ(list.body["jobs"][0], created.body);
  EXPECT_FALSE(list.body.contains("nextPageToken"));

  ExpectRpcError(Call(V::post, std::string(kLoc) + "/jobs", HttpJob("nightly")), 409, "ALREADY_EXISTS",
                 "Job " + std::string(kLocName) + "/jobs/nightly already exists.");

  auto del = Call(V::delete_, std::string(kLoc) + "/jobs/nightly");
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(del.body, json::object());
  ExpectRpcError(Call(V::get, std::string(kLoc) + "/jobs/nightly"), 404, "NOT_FOUND", "Job not found.");
  ExpectRpcError(Call(V::delete_, std::string(kLoc) + "/jobs/nightly"), 404, "NOT_FOUND", "Job not found.");
  EXPECT_EQ(Call(V::get, std::string(kLoc) + "/jobs").body, json::object());
}

TEST_F(SchedulerApi, CreateWithoutANameGeneratesOne) {
  json body = HttpJob("x");
  body.erase("name");
  auto created = Call(V::post, std::string(kLoc) + "/jobs", body);
  ASSERT_EQ(created.status, 200) << created.body.dump();
  std::string name = created.body["name"];
  EXPECT_EQ(name.rfind(std::string(kLocName) + "/jobs/", 0), 0u) << name;
  EXPECT_EQ(Call(V::get, "/v1/" + name).status, 200);
}

TEST_F(SchedulerApi, Pagination) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(Call(V::post, std::string(kLoc) + "/jobs", HttpJob("job-" + std::to_string(i))).status, 200);
  }
  // Another location's jobs are not listed.
  json other = HttpJob("elsewhere");
  other["name"] = "projects/p/locations/europe-west1/jobs/elsewhere";
  ASSERT_EQ(Call(V::post, "/v1/projects/p/locations/europe-west1/jobs", other).status, 200);
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = Call(V::get, std::string(kLoc) + "/jobs?pageSize=3" + (token.empty() ? "" : "&pageToken=" + token));
    ASSERT_EQ(page.status, 200) << page.body.dump();
    ASSERT_LE(page.body["jobs"].size(), 3u);
    for (const auto& j : page.body["jobs"]) seen.push_back(j["name"]);
    token = page.body.value("nextPageToken", "");
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(seen[i], std::string(kLocName) + "/jobs/job-" + std::to_string(i));
  ExpectRpcError(Call(V::get, std::string(kLoc) + "/jobs?pageToken=garbage"), 400, "INVALID_ARGUMENT",
                 "Invalid page token.");
  ExpectRpcError(Call(V::get, std::string(kLoc) + "/jobs?pageSize=-1"), 400, "INVALID_ARGUMENT");
  ExpectRpcError(Call(V::get, std::string(kLoc) + "/jobs?pageSize=ten"), 400, "INVALID_ARGUMENT",
                 "Invalid value at 'page_size' (TYPE_INT32), \"ten\"");
}

TEST_F(SchedulerApi, PatchWithAMaskChangesOnlyThoseFields) {
  json body = HttpJob("renew");
  body["description"] = "old";
  body["httpTarget"]["headers"] = {{"X-Keep", "1"}};
  auto created = Call(V::post, std::string(kLoc) + "/jobs", body);
  ASSERT_EQ(created.status, 200) << created.body.dump();
  json patch = {{"schedule", "*/15 * * * *"},
                {"description", "ignored: not in the mask"},
                {"httpTarget", {{"uri", "https://example.com/renew"}}},
                {"retryConfig", {{"retryCount", 2}}}};
  auto patched = Call(
      V::patch, std::string(kLoc) + "/jobs/renew?updateMask=schedule,httpTarget.uri,retryConfig.retryCount", patch);
  ASSERT_EQ(patched.status, 200) << patched.body.dump();
  EXPECT_EQ(patched.body["schedule"], "*/15 * * * *");
  EXPECT_EQ(patched.body["description"], "old");
  EXPECT_EQ(patched.body["httpTarget"]["uri"], "https://example.com/renew");
  EXPECT_EQ(patched.body["httpTarget"]["headers"]["X-Keep"], "1");
  EXPECT_EQ(patched.body["retryConfig"]["retryCount"], 2);
  EXPECT_EQ(patched.body["retryConfig"]["minBackoffDuration"], "5s");
  EXPECT_GE(patched.body["userUpdateTime"].get<std::string>(), created.body["userUpdateTime"].get<std::string>());
  // The next tick follows the new schedule: a quarter hour.
  std::string next = patched.body["scheduleTime"];
  EXPECT_TRUE(next.find(":00:00Z") != std::string::npos || next.find(":15:00Z") != std::string::npos ||
              next.find(":30:00Z") != std::string::npos || next.find(":45:00Z") != std::string::npos)
      << next;
  EXPECT_EQ(Call(V::get, std::string(kLoc) + "/jobs/renew").body, patched.body);
}

TEST_F(SchedulerApi, PatchWithoutAMaskUpdatesTheFieldsSent) {
  json body = HttpJob("renew");
  body["description"] = "old";
  body["retryConfig"] = {{"retryCount", 3}};
  ASSERT_EQ(Call(V::post, std::string(kLoc) + "/jobs", body).status, 200);
  auto patched = Call(V::patch, std::string(kLoc) + "/jobs/renew", {{"description", "new"}});
  ASSERT_EQ(patched.status, 200) << patched.body.dump();
  EXPECT_EQ(patched.body["description"], "new");
  EXPECT_EQ(patched.body["schedule"], "0 3 * * *");
  EXPECT_EQ(patched.body["retryConfig"]["retryCount"], 3);
  EXPECT_EQ(patched.body["httpTarget"]["uri"], "http://127.0.0.1:9/hook");
}

TEST_F(SchedulerApi, PatchErrors) {
  ASSERT_EQ(Call(V::post, std::string(kLoc) + "/jobs", HttpJob("j")).status, 200);
  ExpectRpcError(Call(V::patch, std::string(kLoc) + "/jobs/missing?updateMask=description", {{"description", "d"}}),
                 404, "NOT_FOUND", "Job not found.");
  ExpectRpcError(Call(V::patch, std::string(kLoc) + "/jobs/j?updateMask=colour", {{"description", "d"}}), 400,
                 "INVALID_ARGUMENT",
                 "Invalid update_mask provided: the field path \"colour\" is not an updatable Job field.");
  ExpectRpcError(Call(V::patch, std::string(kLoc) + "/jobs/j?updateMask=retryConfig.retryCount",
                      {{"retryConfig", {{"retryCount", 9}}}}),
                 400, "INVALID_ARGUMENT", "RetryConfig.retryCount must be between 0 and 5.");
  ExpectRpcError(Call(V::patch, std::string(kLoc) + "/jobs/j", {{"name", std::string(kLocName) + "/jobs/other"}}), 400,
                 "INVALID_ARGUMENT", "The job name in the request body must match the job name in the URL.");
  // A refused patch changed nothing.
  EXPECT_EQ(Call(V::get, std::string(kLoc) + "/jobs/j").body.value("retryConfig", json()).value("retryCount", 0), 0);
}

TEST_F(SchedulerApi, PauseAndResume) {
  ASSERT_EQ(Call(V::post, std::string(kLoc) + "/jobs", HttpJob("j", "*/5 * * * *")).status, 200);
  auto paused = Call(V::post, std::string(kLoc) + "/jobs/j:pause");
  ASSERT_EQ(paused.status, 200) << paused.body.dump();
  EXPECT_EQ(paused.body["state"], "PAUSED");
  EXPECT_EQ(Call(V::get, std::string(kLoc) + "/jobs/j").body["state"], "PAUSED");
  EXPECT_EQ(Call(V::post, std::string(kLoc) + "/jobs/j:pause").body["state"], "PAUSED");  // again: unchanged
  auto resumed = Call(V::post, std::string(kLoc) + "/jobs/j:resume", json::object());
  ASSERT_EQ(resumed.status, 200) << resumed.body.dump();
  EXPECT_EQ(resumed.body["state"], "ENABLED");
  ASSERT_TRUE(resumed.body.contains("scheduleTime"));
  std::string next = resumed.body["scheduleTime"];
  EXPECT_TRUE(next.find("0:00Z") != std::string::npos || next.find("5:00Z") != std::string::npos) << next;
  ExpectRpcError(Call(V::post, std::string(kLoc) + "/jobs/missing:pause"), 404, "NOT_FOUND", "Job not found.");
  ExpectRpcError(Call(V::post, std::string(kLoc) + "/jobs/missing:resume"), 404, "NOT_FOUND", "Job not found.");
}

TEST_F(SchedulerApi, RunAnswersTheJob) {
  auto created = Call(V::post, std::string(kLoc) + "/jobs", HttpJob("j"));
  ASSERT_EQ(created.status, 200);
  auto run = Call(V::post, std::string(kLoc) + "/jobs/j:run", json::object());
  ASSERT_EQ(run.status, 200) << run.body.dump();
  EXPECT_EQ(run.body["name"], created.body["name"]);
  ExpectRpcError(Call(V::post, std::string(kLoc) + "/jobs/missing:run"), 404, "NOT_FOUND", "Job not found.");
  ExpectRpcError(Call(V::post, std::string(kLoc) + "/jobs/j:run", {{"bogus", 1}}), 400, "INVALID_ARGUMENT");
}

TEST_F(SchedulerApi, ValidationErrorsAreGoogleRpcStatus) {
  auto create = [&](json body) { return Call(V::post, std::string(kLoc) + "/jobs", body); };
  json bad = HttpJob("j");
  bad["name"] = "nightly";
  ExpectRpcError(create(bad), 400, "INVALID_ARGUMENT",
                 "Job name must be formatted: \"projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>\".");
  bad = HttpJob("j", "every tuesday");
  ExpectRpcError(create(bad), 400, "INVALID_ARGUMENT");
  bad = HttpJob("j");
  bad["timeZone"] = "Mars/Olympus_Mons";
  ExpectRpcError(create(bad), 400, "INVALID_ARGUMENT");
  bad = HttpJob("j");
  bad["attemptDeadline"] = "10s";
  ExpectRpcError(create(bad), 400, "INVALID_ARGUMENT",
                 "Job.attemptDeadline must be between 15s and 1800s (15 seconds to 30 minutes) for an HTTP target.");
  bad = HttpJob("j");
  bad["httpTarget"]["uri"] = "ftp://example.com";
  ExpectRpcError(create(bad), 400, "INVALID_ARGUMENT", "HttpTarget.uri must begin with \"http://\" or \"https://\".");
  bad = HttpJob("j");
  bad.erase("httpTarget");
  bad["pubsubTarget"] = {{"topicName", "projects/p/topics/t"}};
  ExpectRpcError(create(bad), 501, "UNIMPLEMENTED");
  bad = HttpJob("j");
  bad["colour"] = "red";
  ExpectRpcError(create(bad), 400, "INVALID_ARGUMENT");
  json other_parent = HttpJob("j");
  other_parent["name"] = "projects/p/locations/europe-west1/jobs/j";
  ExpectRpcError(create(other_parent), 400, "INVALID_ARGUMENT");
  // Nothing was created by any of them.
  EXPECT_EQ(Call(V::get, std::string(kLoc) + "/jobs").body, json::object());
}

TEST_F(SchedulerApi, LocationsAreServedAtV1) {
  auto list = Call(V::get, "/v1/projects/p/locations");
  ASSERT_EQ(list.status, 200) << list.body.dump();
  ASSERT_FALSE(list.body["locations"].empty());
  EXPECT_EQ(list.body["locations"][0]["name"], kLocName);
  auto one = Call(V::get, std::string(kLoc));
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["locationId"], "us-central1");
}

TEST(SchedulerDurability, JobsSurviveARestart) {
  char tmpl[] = "/tmp/stratus-sched-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  RestClient rest;
  json created;
  {
    StratusProcess proc;
    ASSERT_TRUE(proc.Start({"--redis-listen", "off"}, dir)) << proc.output();
    json body = HttpJob("kept", "30 4 * * 1");
    body["timeZone"] = "Europe/Berlin";
    body["httpTarget"]["body"] = "aGVsbG8=";
    body["httpTarget"]["headers"] = {{"Content-Type", "text/plain"}};
    created = rest.Call(V::post, proc.tasks_url() + kLoc + "/jobs", body).body;
    ASSERT_TRUE(created.contains("name")) << created.dump();
    ASSERT_EQ(rest.Call(V::post, proc.tasks_url() + kLoc + "/jobs", HttpJob("paused")).status, 200);
    ASSERT_EQ(rest.Call(V::post, proc.tasks_url() + kLoc + "/jobs/paused:pause").status, 200);
    proc.Stop();
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/scheduler.db"));
  {
    StratusProcess proc;
    ASSERT_TRUE(proc.Start({"--redis-listen", "off"}, dir)) << proc.output();
    auto got = rest.Call(V::get, proc.tasks_url() + kLoc + "/jobs/kept");
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.body, created);
    EXPECT_EQ(rest.Call(V::get, proc.tasks_url() + kLoc + "/jobs/paused").body["state"], "PAUSED");
    proc.Stop();
  }
  std::filesystem::remove_all(dir);
}

TEST(SchedulerAccess, TokensNeedCloudSchedulerPermissions) {
  char tmpl[] = "/tmp/stratus-sched-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    std::ofstream(dir + "/tokens") << "ops admin tok-ops\n"
                                      "graf read-only tok-graf\n"
                                      "web enqueue tok-web serviceAccounts=jobs@p.iam.gserviceaccount.com\n"
                                      "lim admin tok-lim serviceAccounts=jobs@p.iam.gserviceaccount.com\n";
  }
  StratusProcess proc;
  const std::string audit = dir + "/audit.log";
  ASSERT_TRUE(proc.Start({"--redis-listen", "off", "--api-token-file", dir + "/tokens", "--audit-log", audit}))
      << proc.output();
  RestClient rest;
  auto call = [&](V verb, const std::string& path, const std::string& token, const json& body = nullptr) {
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return rest.Call(verb, proc.tasks_url() + path, body, h);
  };
  const std::string jobs = std::string(kLoc) + "/jobs";
  ExpectRpcError(call(V::get, jobs, ""), 401, "UNAUTHENTICATED");
  ASSERT_EQ(call(V::post, jobs, "tok-ops", HttpJob("j")).status, 200);
  EXPECT_EQ(call(V::get, jobs, "tok-graf").status, 200);
  EXPECT_EQ(call(V::get, jobs + "/j", "tok-graf").status, 200);
  ExpectRpcError(call(V::post, jobs, "tok-graf", HttpJob("k")), 403, "PERMISSION_DENIED");
  ExpectRpcError(call(V::post, jobs + "/j:pause", "tok-graf"), 403, "PERMISSION_DENIED");
  ExpectRpcError(call(V::delete_, jobs + "/j", "tok-web"), 403, "PERMISSION_DENIED");
  auto denied = call(V::post, jobs + "/j:run", "tok-graf");
  ExpectRpcError(denied, 403, "PERMISSION_DENIED");
  EXPECT_EQ(denied.body["error"]["message"],
            "The principal (user or service account) lacks IAM permission \"cloudscheduler.jobs.run\" for the "
            "resource \"projects/p/locations/us-central1/jobs/j\" (or the resource may not exist).");
  // A limited token may not have a job sign as an account it may not act as.
  json signed_job = HttpJob("signed");
  signed_job["httpTarget"]["oidcToken"] = {{"serviceAccountEmail", "other@p.iam.gserviceaccount.com"}};
  ExpectRpcError(call(V::post, jobs, "tok-lim", signed_job), 403, "PERMISSION_DENIED",
                 "The principal (user or service account) lacks IAM permission \"iam.serviceAccounts.actAs\" for the "
                 "resource \"other@p.iam.gserviceaccount.com\" (or the resource may not exist).");
  signed_job["httpTarget"]["oidcToken"]["serviceAccountEmail"] = "jobs@p.iam.gserviceaccount.com";
  EXPECT_EQ(call(V::post, jobs, "tok-lim", signed_job).status, 200);
  ExpectRpcError(call(V::patch, jobs + "/signed?updateMask=httpTarget.oidcToken", "tok-lim",
                      {{"httpTarget", {{"oidcToken", {{"serviceAccountEmail", "other@p.iam.gserviceaccount.com"}}}}}}),
                 403, "PERMISSION_DENIED");
  proc.Stop();
  // Job changes are audited, reads are not.
  std::ifstream in(audit);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line, nullptr, false));
  bool create_seen = false;
  for (const json& l : lines) {
    ASSERT_TRUE(l.is_object());
    std::string text = l.dump();
    EXPECT_EQ(text.find("jobs.get"), std::string::npos) << text;
    EXPECT_EQ(text.find("jobs.list"), std::string::npos) << text;
    if (text.find("scheduler.jobs.create") != std::string::npos &&
        text.find("projects/p/locations/us-central1/jobs/j") != std::string::npos) {
      create_seen = true;
    }
  }
  EXPECT_TRUE(create_seen) << lines.size() << " audit lines";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stratus
