#include "jobs.h"

#include <thread>

#include "stratus/sdk/task_queue.h"

namespace catchup {

using stratus::sdk::DownstreamHttpError;
using stratus::sdk::JobContext;
using stratus::sdk::JobResult;
using stratus::sdk::PermanentError;
using stratus::sdk::RetryableError;
using json = nlohmann::json;

void JobStats::Executed(const std::string& job, const std::string& key) {
  std::lock_guard lock(mu_);
  ++by_key_[key];
  ++by_job_[job];
  times_[key].push_back(std::chrono::steady_clock::now());
}
std::vector<std::chrono::steady_clock::time_point> JobStats::Times(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = times_.find(key);
  return it == times_.end() ? std::vector<std::chrono::steady_clock::time_point>() : it->second;
}
int JobStats::Executions(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second;
}
int JobStats::ExecutionsOf(const std::string& job) const {
  std::lock_guard lock(mu_);
  auto it = by_job_.find(job);
  return it == by_job_.end() ? 0 : it->second;
}
int JobStats::Total() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [k, v] : by_job_) n += v;
  return n;
}
std::map<std::string, int> JobStats::ByKey() const {
  std::lock_guard lock(mu_);
  return by_key_;
}

namespace {

// One job: the fields it needs and the work it does once the simulated API call succeeded.
struct JobSpec {
  const char* name;
  std::vector<const char*> required;
  json (*work)(const json& data, JobDeps& deps);
};

std::string UserOf(const json& d) {
  return d.value("userId", std::string());
}

json TokenRefresh(const json& d, JobDeps& deps) {
  json token = {{"userId", UserOf(d)}, {"expiresIn", 3600}};
  if (deps.cache) deps.cache->Set("token:" + UserOf(d), token, std::chrono::seconds(3300)).IgnoreError();
  return token;
}
json CalendarSync(const json& d, JobDeps& deps) {
  int events = static_cast<int>(std::hash<std::string>{}(UserOf(d)) % 40);
  if (deps.cache) {
    deps.cache->Set("calendar-sync-token:" + UserOf(d), json{{"events", events}}, std::chrono::hours(24)).IgnoreError();
  }
  return {{"calendarId", d.value("calendarId", "primary")}, {"eventsSynced", events}};
}
json ContactsSync(const json& d, JobDeps&) {
  return {{"contactsSynced", static_cast<int>(std::hash<std::string>{}(UserOf(d)) % 200)}};
}
json AdaptiveSync(const json& d, JobDeps&) {
  // Active users are synced more often.
  int activity = d.value("activityScore", 50);
  return {{"nextSyncInMinutes", activity > 70 ? 15 : activity > 30 ? 60 : 240}};
}
json WebhookRenewal(const json& d, JobDeps&) {
  return {{"channelId", d["channelId"]}, {"renewedForHours", 168}};
}
json SuggestionRegeneration(const json& d, JobDeps& deps) {
  if (deps.cache) deps.cache->DeletePattern("suggestions:" + UserOf(d) + ":*").status().IgnoreError();
  return {{"suggestions", 5}};
}
json BatchNotifications(const json& d, JobDeps&) {
  const json& users = d["userIds"];
  if (!users.is_array()) throw PermanentError("userIds must be a list");
  return {{"sent", users.size()}};
}
json SuggestionGeneration(const json& d, JobDeps& deps) {
  json s = {{"contactId", d["contactId"]}, {"suggestion", "catch up over coffee"}};
  if (deps.cache) {
    deps.cache->Set("suggestions:" + UserOf(d) + ":" + d["contactId"].dump(), s, std::chrono::hours(6)).IgnoreError();
  }
  return s;
}
json WebhookHealthCheck(const json& d, JobDeps&) {
  return {{"channelId", d["channelId"]}, {"healthy", true}};
}
json NotificationReminder(const json& d, JobDeps&) {
  return {{"reminderId", d["reminderId"]}, {"delivered", true}};
}
json TokenHealthReminder(const json& d, JobDeps&) {
  return {{"userId", UserOf(d)}, {"reminded", true}};
}

const std::vector<JobSpec>& Specs() {
  static const std::vector<JobSpec> kSpecs = {
      {"token-refresh", {"userId"}, TokenRefresh},
      {"calendar-sync", {"userId"}, CalendarSync},
      {"google-contacts-sync", {"userId"}, ContactsSync},
      {"adaptive-sync", {"userId"}, AdaptiveSync},
      {"webhook-renewal", {"channelId"}, WebhookRenewal},
      {"suggestion-regeneration", {"userId"}, SuggestionRegeneration},
      {"batch-notifications", {"userIds"}, BatchNotifications},
      {"suggestion-generation", {"userId", "contactId"}, SuggestionGeneration},
      {"webhook-health-check", {"channelId"}, WebhookHealthCheck},
      {"notification-reminder", {"userId", "reminderId"}, NotificationReminder},
      {"token-health-reminder", {"userId"}, TokenHealthReminder},
  };
  return kSpecs;
}

// The simulated Google API call: latency, then scripted or random failures.
void SimulateApiCall(const JobContext& ctx, const json& data, JobDeps& deps) {
  const json sim = data.value("simulate", json::object());
  auto latency =
      std::chrono::milliseconds(sim.value("latencyMs", static_cast<int64_t>(deps.simulation.latency.count())));
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  if (sim.contains("status")) {
    int status = sim.value("status", 503);
    int fail_attempts = sim.value("failAttempts", 1 << 30);
    if (ctx.retry_count < fail_attempts)
      throw DownstreamHttpError(status, "simulated Google API answered " + std::to_string(status));
  }
  thread_local std::mt19937_64 rng(deps.simulation.seed ^ std::hash<std::thread::id>{}(std::this_thread::get_id()));
  double roll = std::uniform_real_distribution<double>(0, 1)(rng);
  if (roll < deps.simulation.permanent_failure_rate)
    throw DownstreamHttpError(400, "simulated Google API: invalid_grant");
  if (roll < deps.simulation.permanent_failure_rate + deps.simulation.retryable_failure_rate) {
    throw DownstreamHttpError(503, "simulated Google API: backendError", std::chrono::seconds(1));
  }
}

JobResult Run(const JobSpec& spec, const JobContext& ctx, const json& data, JobDeps& deps) {
  deps.stats->Executed(spec.name, ctx.idempotency_key);
  for (const char* field : spec.required) {
    if (!data.contains(field)) throw PermanentError(std::string("missing ") + field);
  }
  const std::string user = UserOf(data);
  if (deps.google_quota && !user.empty()) {
    auto d = deps.google_quota->Check("google:" + user);
    if (d.ok() && !d->allowed)
      return JobResult::Retry("Google API quota for " + user + " used up", std::chrono::seconds(1));
  }
  SimulateApiCall(ctx, data, deps);
  json result = spec.work(data, deps);
  result["attempt"] = ctx.retry_count + 1;
  return JobResult::Ok(result);
}

}  // namespace

void RegisterJobs(stratus::sdk::JobServer& server, JobDeps& deps) {
  for (const auto& spec : Specs()) {
    server.Register(spec.name,
                    [&spec, &deps](const JobContext& ctx, const json& data) { return Run(spec, ctx, data, deps); });
  }
}

json SampleData(const std::string& job, int n) {
  const std::string user = "user-" + std::to_string(n);
  if (job == "webhook-renewal" || job == "webhook-health-check") return {{"channelId", "channel-" + std::to_string(n)}};
  if (job == "batch-notifications") return {{"userIds", {user, "user-" + std::to_string(n + 1)}}, {"batch", n}};
  if (job == "suggestion-generation") return {{"userId", user}, {"contactId", n * 7}};
  if (job == "notification-reminder") return {{"userId", user}, {"reminderId", "reminder-" + std::to_string(n)}};
  if (job == "adaptive-sync") return {{"userId", user}, {"activityScore", n % 100}};
  return {{"userId", user}, {"n", n}};
}

}  // namespace catchup
