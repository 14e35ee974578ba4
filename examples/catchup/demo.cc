// catchup-demo: enqueues every CatchUp job type through stratus::sdk::TaskQueue (plus one
// job whose first attempt fails and one with a bad payload), then follows each through the
// worker's idempotency records in Redis and prints what happened to it.
#include <iostream>
#include <thread>

#include "flags.h"
#include "jobs.h"
#include "stratus/sdk/task_queue.h"

namespace {

struct Tracked {
  std::string label;
  stratus::sdk::EnqueuedTask task;
};

// A completed idempotency record (stratus/sdk/idempotency.h has the stored forms).
std::string Describe(const nlohmann::json& record) {
  if (record.value("outcome", "") == "permanent_failure") return "FAILED permanently (" + record["error"].dump() + ")";
  const auto& result = record["result"];
  return "done on attempt " + result.value("attempt", nlohmann::json(1)).dump() + ": " + result.dump();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stratus::sdk;
  catchup::DemoFlags flags;
  if (auto exit_code = catchup::ParseDemoFlags(argc, argv, flags, std::cout, std::cerr)) return *exit_code;
  auto queue = TaskQueue::Create({.base_url = flags.server,
                                  .project = catchup::kProject,
                                  .service_url = flags.service_url,
                                  .service_account = "catchup-worker@catchup-local.iam.gserviceaccount.com",
                                  .job_queues = catchup::JobQueues()});
  auto redis = HttpRedis::Create({.url = flags.redis_url, .token = flags.redis_token});
  if (!queue.ok() || !redis.ok()) {
    std::cerr << "catchup-demo: " << (!queue.ok() ? queue.status() : redis.status()).ToString() << "\n";
    return 2;
  }
  const int run = static_cast<int>(std::time(nullptr) % 100000);  // fresh payloads per run
  std::vector<Job> jobs;
  std::vector<std::string> labels;
  for (const auto& name : catchup::JobNames()) {
    jobs.push_back({name, catchup::SampleData(name, run), {}});
    labels.push_back(name);
  }
  auto flaky = catchup::SampleData("adaptive-sync", run + 1);
  flaky["simulate"] = {{"failAttempts", 1}, {"status", 503}};
  jobs.push_back({"adaptive-sync", flaky, {}});
  labels.push_back("adaptive-sync (first attempt gets a 503)");
  jobs.push_back({"calendar-sync", {{"calendarId", "primary"}, {"n", run}}, {}});
  labels.push_back("calendar-sync (no userId)");

  std::vector<Tracked> tracked;
  auto results = (*queue)->AddBatch(jobs, 8);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      std::cout << labels[i] << ": enqueue failed: " << results[i].status().ToString() << "\n";
      continue;
    }
    std::cout << "enqueued " << labels[i] << " -> " << results[i]->name << "\n";
    tracked.push_back({labels[i], *results[i]});
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(flags.timeout_s);
  std::map<std::string, std::string> outcome;
  while (outcome.size() < tracked.size() && std::chrono::steady_clock::now() < deadline) {
    for (const auto& t : tracked) {
      if (outcome.count(t.label)) continue;
      auto v = (*redis)->Get("idempotency:" + t.task.idempotency_key);
      if (!v.ok() || !*v) continue;
      auto record = nlohmann::json::parse(**v, nullptr, false);
      if (record.is_object() && record.value("state", "") == "done") outcome[t.label] = Describe(record);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cout << "\nwhat happened:\n";
  for (const auto& t : tracked) {
    auto it = outcome.find(t.label);
    std::cout << "  " << t.label << " [" << t.task.queue
              << "]: " << (it == outcome.end() ? "still pending" : it->second) << "\n";
  }
  return outcome.size() == tracked.size() ? 0 : 1;
}
