#include "scheduler/service.h"

#include <algorithm>

#include "common/await.h"
#include "common/base64.h"
#include "common/ids.h"
#include "common/time.h"
#include "model/names.h"
#include "scheduler/messages.h"
#include "tasks/field_mask.h"

namespace stratus::scheduler {
namespace {

constexpr int64_t kMaxPage = 500;

// One row per updatable field: its mask path and how to copy it.
struct MaskField {
  std::string_view path;
  void (*copy)(const Job& from, Job* to);
};

void CopyOidc(const Job& f, Job* t) {
  t->http_target.oidc_token = f.http_target.oidc_token;
  if (f.http_target.oidc_token) t->http_target.oauth_token.reset();  // a oneof
}
void CopyOauth(const Job& f, Job* t) {
  t->http_target.oauth_token = f.http_target.oauth_token;
  if (f.http_target.oauth_token) t->http_target.oidc_token.reset();
}

const MaskField kMaskFields[] = {
    {"description", [](const Job& f, Job* t) { t->description = f.description; }},
    {"schedule", [](const Job& f, Job* t) { t->schedule = f.schedule; }},
    {"timeZone", [](const Job& f, Job* t) { t->time_zone = f.time_zone; }},
    {"attemptDeadline", [](const Job& f, Job* t) { t->attempt_deadline = f.attempt_deadline; }},
    {"stratusQueue", [](const Job& f, Job* t) { t->queue = f.queue; }},
    {"httpTarget.uri", [](const Job& f, Job* t) { t->http_target.uri = f.http_target.uri; }},
    {"httpTarget.httpMethod", [](const Job& f, Job* t) { t->http_target.http_method = f.http_target.http_method; }},
    {"httpTarget.headers", [](const Job& f, Job* t) { t->http_target.headers = f.http_target.headers; }},
    {"httpTarget.body", [](const Job& f, Job* t) { t->http_target.body = f.http_target.body; }},
    {"httpTarget.oidcToken", CopyOidc},
    {"httpTarget.oauthToken", CopyOauth},
    {"retryConfig.retryCount", [](const Job& f, Job* t) { t->retry_config.retry_count = f.retry_config.retry_count; }},
    {"retryConfig.maxRetryDuration",
     [](const Job& f, Job* t) { t->retry_config.max_retry_duration = f.retry_config.max_retry_duration; }},
    {"retryConfig.minBackoffDuration",
     [](const Job& f, Job* t) { t->retry_config.min_backoff = f.retry_config.min_backoff; }},
    {"retryConfig.maxBackoffDuration",
     [](const Job& f, Job* t) { t->retry_config.max_backoff = f.retry_config.max_backoff; }},
    {"retryConfig.maxDoublings",
     [](const Job& f, Job* t) { t->retry_config.max_doublings = f.retry_config.max_doublings; }},
};

// Output only (or fixed once created): named in a mask, they are ignored as Google ignores them.
constexpr std::string_view kIgnoredPaths[] = {"name",   "userUpdateTime", "state",
                                              "status", "scheduleTime",   "lastAttemptTime"};

// A mask path covers a field when it names it, a message around it ("retryConfig"), or a
// path inside it ("httpTarget.oidcToken.audience" copies the whole token).
bool Covers(std::string_view path, std::string_view field) {
  return MaskCovers(path, field) || MaskPathInside(path, field);
}

Status CheckParent(const std::string& parent) {
  // projects/{p}/locations/{l}; the router guarantees the shape.
  size_t p1 = parent.find('/');
  size_t p2 = parent.find('/', p1 + 1);
  size_t p3 = parent.find('/', p2 + 1);
  std::string project = parent.substr(p1 + 1, p2 - p1 - 1);
  std::string location = parent.substr(p3 + 1);
  if (!ValidProjectId(project)) {
    return Status(Code::kPermissionDenied, "Permission denied on resource project " + project + ".");
  }
  if (!ValidLocationId(location)) {
    return InvalidArgument("Location '" + location +
                           "' is not a valid location. Use ListLocations to list valid locations.");
  }
  return Status::Ok();
}

// The store's codes in Google's words.
Status Worded(const Status& st, const std::string& name) {
  if (st.code() == Code::kNotFound) return NotFound(msg::kJobNotFound);
  if (st.code() == Code::kAlreadyExists) return AlreadyExists("Job " + name + " already exists.");
  return st;
}

Status CheckActAs(const Job& job, const ActAs& act_as) {
  if (!act_as) return Status::Ok();
  if (job.http_target.oidc_token) STRATUS_RETURN_IF_ERROR(act_as(job.http_target.oidc_token->service_account_email));
  if (job.http_target.oauth_token) {
    STRATUS_RETURN_IF_ERROR(act_as(job.http_target.oauth_token->service_account_email));
  }
  return Status::Ok();
}

std::string EncodePageToken(const std::string& last_name) {
  std::string t = Base64Encode("v1|" + last_name);
  for (char& c : t) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  while (!t.empty() && t.back() == '=') t.pop_back();
  return t;
}

StatusOr<std::string> DecodePageToken(const std::string& token) {
  if (token.empty()) return std::string();
  std::string t = token;
  for (char& c : t) c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (t.size() % 4) t += '=';
  auto raw = Base64Decode(t);
  if (!raw.ok() || raw->rfind("v1|", 0) != 0) return InvalidArgument(msg::kInvalidPageToken);
  return raw->substr(3);
}

// Cloud Scheduler reports userUpdateTime in whole seconds.
Micros WholeSeconds(Micros t) {
  return t - t % kMicrosPerSecond;
}

// The next tick of an enabled job from `now`; a paused job keeps no next tick.
StatusOr<Micros> Scheduled(const Job& job, Micros now) {
  if (job.state != JobState::kEnabled) return Micros{0};
  return NextTick(job, now);
}

}  // namespace

Status ApplyJobMask(const Job& from, const std::string& mask, Job* to) {
  for (const std::string& path : MaskPaths(mask)) {
    if (std::find(std::begin(kIgnoredPaths), std::end(kIgnoredPaths), path) != std::end(kIgnoredPaths)) continue;
    if (path == "pubsubTarget" || path == "appEngineHttpTarget" || MaskPathInside(path, "pubsubTarget") ||
        MaskPathInside(path, "appEngineHttpTarget")) {
      return Unimplemented("Job." + path.substr(0, path.find('.')) + " is not supported by stratus: use httpTarget.");
    }
    STRATUS_RETURN_IF_ERROR(ApplyMaskPath(kMaskFields, path, from, to, Covers, "Job"));
  }
  return Status::Ok();
}

SchedulerService::SchedulerService(JobStore& store, const Clock& clock, asio::thread_pool& blocking,
                                   SchedulerOptions options)
    : store_(store), clock_(clock), blocking_(blocking), options_(std::move(options)) {}

template <typename F>
asio::awaitable<std::invoke_result_t<F>> SchedulerService::Mutate(F work) {
  auto locked = [this, work = std::move(work)]() mutable {
    std::lock_guard lock(write_mu_);
    return work();
  };
  co_return co_await RunBlocking(blocking_, std::move(locked));
}

asio::awaitable<StatusOr<JobList>> SchedulerService::ListJobs(const std::string& parent, int64_t page_size,
                                                              const std::string& page_token) {
  STRATUS_RETURN_IF_ERROR_CO(CheckParent(parent));
  if (page_size < 0) co_return InvalidArgument(msg::kPageSize);
  const size_t size = static_cast<size_t>(page_size == 0 ? kMaxPage : std::min(page_size, kMaxPage));
  auto after = DecodePageToken(page_token);
  if (!after.ok()) co_return after.status();
  auto all = co_await RunBlocking(blocking_, [this, &parent] { return store_.List(parent); });
  if (!all.ok()) co_return all.status();
  JobList out;
  for (Job& job : *all) {
    if (!after->empty() && job.name <= *after) continue;
    if (out.jobs.size() == size) {
      out.next_page_token = EncodePageToken(out.jobs.back().name);
      break;
    }
    out.jobs.push_back(std::move(job));
  }
  co_return out;
}

asio::awaitable<StatusOr<Job>> SchedulerService::GetJob(const std::string& name) {
  auto parsed = ParseJobName(name);
  if (!parsed.ok()) co_return parsed.status();
  auto job = co_await RunBlocking(blocking_, [this, &name] { return store_.Get(name); });
  if (!job.ok()) co_return Worded(job.status(), name);
  co_return job;
}

asio::awaitable<StatusOr<Job>> SchedulerService::CreateJob(const std::string& parent, Job job, ActAs act_as) {
  STRATUS_RETURN_IF_ERROR_CO(CheckParent(parent));
  if (job.name.empty()) job.name = parent + "/jobs/" + GenerateTaskId();
  auto parsed = ParseJobName(job.name);
  if (!parsed.ok()) co_return parsed.status();
  if (parsed->Parent() != parent) co_return InvalidArgument(job.name + " must begin with " + parent + ".");
  // Output-only fields in the request are ignored.
  job.state = JobState::kEnabled;
  job.status.reset();
  job.last_attempt_time = 0;
  ApplyJobDefaults(&job);
  STRATUS_RETURN_IF_ERROR_CO(ValidateJob(&job, options_.checks));
  STRATUS_RETURN_IF_ERROR_CO(CheckActAs(job, act_as));
  const Micros now = clock_.Now();
  job.user_update_time = WholeSeconds(now);
  auto next = Scheduled(job, now);
  if (!next.ok()) co_return next.status();
  job.schedule_time = *next;
  auto created = co_await Mutate([this, &job] { return store_.Create(job); });
  if (!created.ok()) co_return Worded(created.status(), job.name);
  if (events_) events_->Changed(*created);
  co_return created;
}

asio::awaitable<StatusOr<Job>> SchedulerService::UpdateJob(const std::string& name, JobInput input,
                                                           const std::string& update_mask, ActAs act_as) {
  auto parsed = ParseJobName(name);
  if (!parsed.ok()) co_return parsed.status();
  if (!input.job.name.empty() && input.job.name != name) co_return InvalidArgument(msg::kNameMismatch);
  // No mask: the fields the request named (AIP-134).
  std::string mask = update_mask;
  if (mask.empty()) {
    for (const std::string& p : input.present) mask += (mask.empty() ? "" : ",") + p;
  }
  Job scratch;
  STRATUS_RETURN_IF_ERROR_CO(ApplyJobMask(input.job, mask, &scratch));
  const Micros now = clock_.Now();
  const JobChecks checks = options_.checks;
  auto work = [this, &name, &input, &mask, &act_as, &checks, now]() -> StatusOr<Job> {
    auto current = store_.Get(name);
    if (!current.ok()) return Worded(current.status(), name);
    Job next = *current;
    STRATUS_RETURN_IF_ERROR(ApplyJobMask(input.job, mask, &next));
    ApplyJobDefaults(&next);
    STRATUS_RETURN_IF_ERROR(ValidateJob(&next, checks));
    STRATUS_RETURN_IF_ERROR(CheckActAs(next, act_as));
    next.user_update_time = WholeSeconds(now);
    STRATUS_ASSIGN_OR_RETURN(next.schedule_time, Scheduled(next, now));
    auto stored = store_.Update(next);
    if (!stored.ok()) return Worded(stored.status(), name);
    return stored;
  };
  auto updated = co_await Mutate(std::move(work));
  if (!updated.ok()) co_return updated.status();
  if (events_) events_->Changed(*updated);
  co_return updated;
}

asio::awaitable<Status> SchedulerService::DeleteJob(const std::string& name) {
  auto parsed = ParseJobName(name);
  if (!parsed.ok()) co_return parsed.status();
  Status st = co_await Mutate([this, &name] { return store_.Delete(name); });
  if (!st.ok()) co_return Worded(st, name);
  if (events_) events_->Deleted(name);
  co_return Status::Ok();
}

asio::awaitable<StatusOr<Job>> SchedulerService::PauseJob(const std::string& name) {
  auto parsed = ParseJobName(name);
  if (!parsed.ok()) co_return parsed.status();
  auto work = [this, &name]() -> StatusOr<Job> {
    auto current = store_.Get(name);
    if (!current.ok()) return Worded(current.status(), name);
    if (current->state == JobState::kPaused) return current;  // already paused: nothing to do
    if (current->state != JobState::kEnabled) {
      return FailedPrecondition("Job must be in state ENABLED to be paused; it is " +
                                std::string(JobStateName(current->state)) + ".");
    }
    Job next = *current;
    next.state = JobState::kPaused;
    next.schedule_time = 0;
    auto stored = store_.Update(next);
    if (!stored.ok()) return Worded(stored.status(), name);
    return stored;
  };
  auto paused = co_await Mutate(std::move(work));
  if (!paused.ok()) co_return paused.status();
  if (events_) events_->Changed(*paused);
  co_return paused;
}

asio::awaitable<StatusOr<Job>> SchedulerService::ResumeJob(const std::string& name) {
  auto parsed = ParseJobName(name);
  if (!parsed.ok()) co_return parsed.status();
  const Micros now = clock_.Now();
  auto work = [this, &name, now]() -> StatusOr<Job> {
    auto current = store_.Get(name);
    if (!current.ok()) return Worded(current.status(), name);
    Job next = *current;
    next.state = JobState::kEnabled;
    // Ticks missed while paused are not made up: the next one is computed from now.
    STRATUS_ASSIGN_OR_RETURN(next.schedule_time, Scheduled(next, now));
    auto stored = store_.Update(next);
    if (!stored.ok()) return Worded(stored.status(), name);
    return stored;
  };
  auto resumed = co_await Mutate(std::move(work));
  if (!resumed.ok()) co_return resumed.status();
  if (events_) events_->Changed(*resumed);
  co_return resumed;
}

asio::awaitable<StatusOr<Job>> SchedulerService::RunJob(const std::string& name) {
  auto job = co_await GetJob(name);
  if (!job.ok()) co_return job.status();
  // In a cluster the request is recorded in the job's row before the call answers, so the
  // executor runs it even when none holds the executor lease right now.
  Status asked = co_await Mutate([this, &name] { return store_.RequestRun(name); });
  if (!asked.ok()) co_return Worded(asked, name);
  if (events_) events_->RunNow(*job);
  co_return job;
}

}  // namespace stratus::scheduler
