#include "jobs.h"

#include <limits>
#include <random>
#include <thread>

namespace catchup {

using stratus::sdk::DownstreamHttpError;
using stratus::sdk::GlobEscape;
using stratus::sdk::JobContext;
using stratus::sdk::JobResult;
using stratus::sdk::PermanentError;
using json = nlohmann::json;

const std::vector<std::string>& JobNames() {
  static const std::vector<std::string> kJobs = {
      "token-refresh",        "calendar-sync",           "google-contacts-sync", "adaptive-sync",
      "webhook-renewal",      "suggestion-regeneration", "batch-notifications",  "suggestion-generation",
      "webhook-health-check", "notification-reminder",   "token-health-reminder"};
  return kJobs;
}

std::map<std::string, std::string> JobQueues() {
  std::map<std::string, std::string> m;
  for (const auto& job : JobNames()) m[job] = job + "-queue";
  return m;
}

// ---- JobStats ----

void JobStats::Executed(const std::string& job, const std::string& key) {
  std::lock_guard lock(mu_);
  ++total_;
  ++by_job_[job];
  auto [it, added] = by_key_.try_emplace(key);
  if (added) {
    key_order_.push_back(key);
    if (key_order_.size() > max_keys_) {
      by_key_.erase(key_order_.front());
      key_order_.pop_front();
    }
  }
  ++it->second.executions;
  if (it->second.times.size() < max_times_) it->second.times.push_back(std::chrono::steady_clock::now());
}
std::vector<std::chrono::steady_clock::time_point> JobStats::Times(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? std::vector<std::chrono::steady_clock::time_point>() : it->second.times;
}
int JobStats::Executions(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second.executions;
}
int JobStats::ExecutionsOf(const std::string& job) const {
  std::lock_guard lock(mu_);
  auto it = by_job_.find(job);
  return it == by_job_.end() ? 0 : it->second;
}
int64_t JobStats::Total() const {
  std::lock_guard lock(mu_);
  return total_;
}
std::map<std::string, int> JobStats::ByKey() const {
  std::lock_guard lock(mu_);
  std::map<std::string, int> out;
  for (const auto& [key, per] : by_key_) out[key] = per.executions;
  return out;
}

namespace {

// ---- Payload checks: a payload that fails them fails the same way on every attempt ----

enum class Kind { kString, kArray, kId };  // kId: a string or an integer

struct Field {
  const char* name;
  Kind kind;
};

void CheckFields(const json& data, const std::vector<Field>& fields) {
  for (const auto& f : fields) {
    auto it = data.find(f.name);
    if (it == data.end()) throw PermanentError(std::string("missing ") + f.name);
    bool ok = f.kind == Kind::kString  ? it->is_string()
              : f.kind == Kind::kArray ? it->is_array()
                                       : it->is_string() || it->is_number_integer();
    if (!ok) throw PermanentError(std::string(f.name) + " has the wrong type");
  }
}

// An optional integer field within [lo, hi], or `fallback` when absent.
int64_t BoundedInt(const json& object, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = object.find(name);
  if (it == object.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    throw PermanentError(std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                         std::to_string(hi));
  }
  return it->get<int64_t>();
}

std::string UserOf(const json& d) {
  auto it = d.find("userId");
  return it != d.end() && it->is_string() ? it->get<std::string>() : "";
}

// ---- The jobs: the work each does once the simulated API call succeeded ----

struct JobSpec {
  const char* name;
  std::vector<Field> required;
  json (*work)(const json& data, JobDeps& deps);
};

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
  auto calendar = d.find("calendarId");
  return {{"calendarId", calendar != d.end() && calendar->is_string() ? *calendar : json("primary")},
          {"eventsSynced", events}};
}
json ContactsSync(const json& d, JobDeps&) {
  return {{"contactsSynced", static_cast<int>(std::hash<std::string>{}(UserOf(d)) % 200)}};
}
json AdaptiveSync(const json& d, JobDeps&) {
  // Active users are synced more often.
  int64_t activity = BoundedInt(d, "activityScore", 50, 0, 100);
  return {{"nextSyncInMinutes", activity > 70 ? 15 : activity > 30 ? 60 : 240}};
}
json WebhookRenewal(const json& d, JobDeps&) {
  return {{"channelId", d["channelId"]}, {"renewedForHours", 168}};
}
json SuggestionRegeneration(const json& d, JobDeps& deps) {
  // The user id is data, not a pattern: "*" must not match every user's suggestions.
  if (deps.cache) deps.cache->DeletePattern("suggestions:" + GlobEscape(UserOf(d)) + ":*").status().IgnoreError();
  return {{"suggestions", 5}};
}
json BatchNotifications(const json& d, JobDeps&) {
  return {{"sent", d["userIds"].size()}};
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
      {"token-refresh", {{"userId", Kind::kString}}, TokenRefresh},
      {"calendar-sync", {{"userId", Kind::kString}}, CalendarSync},
      {"google-contacts-sync", {{"userId", Kind::kString}}, ContactsSync},
      {"adaptive-sync", {{"userId", Kind::kString}}, AdaptiveSync},
      {"webhook-renewal", {{"channelId", Kind::kString}}, WebhookRenewal},
      {"suggestion-regeneration", {{"userId", Kind::kString}}, SuggestionRegeneration},
      {"batch-notifications", {{"userIds", Kind::kArray}}, BatchNotifications},
      {"suggestion-generation", {{"userId", Kind::kString}, {"contactId", Kind::kId}}, SuggestionGeneration},
      {"webhook-health-check", {{"channelId", Kind::kString}}, WebhookHealthCheck},
      {"notification-reminder", {{"userId", Kind::kString}, {"reminderId", Kind::kId}}, NotificationReminder},
      {"token-health-reminder", {{"userId", Kind::kString}}, TokenHealthReminder},
  };
  return kSpecs;
}

// The simulated Google API call: latency (bounded), then scripted or random failures.
void SimulateApiCall(const JobContext& ctx, const json& data, JobDeps& deps) {
  json sim = json::object();
  if (auto it = data.find("simulate"); it != data.end()) {
    if (!it->is_object()) throw PermanentError("simulate must be an object");
    sim = *it;
  }
  const int64_t latency_ms =
      BoundedInt(sim, "latencyMs", deps.simulation.latency.count(), 0, kMaxSimulatedLatency.count());
  if (latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
  if (sim.contains("status")) {
    const int64_t status = BoundedInt(sim, "status", 503, 100, 599);
    const int64_t fail_attempts =
        BoundedInt(sim, "failAttempts", std::numeric_limits<int64_t>::max(), 0, std::numeric_limits<int64_t>::max());
    if (ctx.retry_count < fail_attempts) {
      throw DownstreamHttpError(static_cast<int>(status), "simulated Google API answered " + std::to_string(status));
    }
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
  CheckFields(data, spec.required);
  const std::string user = UserOf(data);
  if (deps.google_quota && !user.empty()) {
    auto d = deps.google_quota->Check("google:" + user);
    if (d.ok() && !d->allowed) return JobResult::Retry("Google API quota used up", std::chrono::seconds(1));
  }
  SimulateApiCall(ctx, data, deps);
  json result;
  try {
    result = spec.work(data, deps);
  } catch (const json::exception& e) {
    // Data of an unexpected shape: the same data fails the same way on every attempt.
    throw PermanentError(std::string("unexpected data: ") + e.what());
  }
  result["attempt"] = int64_t{ctx.retry_count} + 1;  // 64 bits: 2147483647 + 1 stays positive
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
