// TaskQueue: builds the Cloud Tasks HTTP task for a job and creates it over REST. Everything
// that can be checked locally (job name, data, schedule) is checked before any request.
#include "stratus/sdk/task_queue.h"

#include <atomic>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>

#include "common/base64.h"
#include "common/time.h"
#include "sdk/http_sync.h"

namespace stratus::sdk {

using Clock = std::chrono::system_clock;

std::string DefaultProject() {
  const char* project = std::getenv("STRATUS_PROJECT");
  return project ? project : "";
}

Status ValidateScheduleTime(Clock::time_point when, Clock::time_point now, std::chrono::milliseconds slack) {
  if (when < now - slack) return InvalidArgument("scheduleTime is in the past; use a delay of 0 to run now");
  if (when > now + std::chrono::hours(24 * 30) + slack) {
    return InvalidArgument("scheduleTime is more than 30 days ahead, beyond what Cloud Tasks accepts");
  }
  return Status::Ok();
}

namespace {

Micros ToMicros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The schedule time to send, or nullopt for "now".
StatusOr<std::optional<Clock::time_point>> ResolveSchedule(const AddOptions& o, Clock::time_point now) {
  if (o.delay && o.schedule_time) return InvalidArgument("give a delay or a scheduleTime, not both");
  if (o.delay) {
    if (o.delay->count() < 0) return InvalidArgument("delay must not be negative");
    if (o.delay->count() == 0) return std::optional<Clock::time_point>();
    auto when = now + *o.delay;
    STRATUS_RETURN_IF_ERROR(ValidateScheduleTime(when, now, std::chrono::milliseconds(0)));
    return std::optional<Clock::time_point>(when);
  }
  if (o.schedule_time) {
    STRATUS_RETURN_IF_ERROR(ValidateScheduleTime(*o.schedule_time, now));
    return std::optional<Clock::time_point>(*o.schedule_time);
  }
  return std::optional<Clock::time_point>();
}

// "NOT_FOUND" -> kNotFound, through the names status.h already has.
Code CodeFromName(const std::string& name) {
  for (int c = 0; c <= static_cast<int>(Code::kUnauthenticated); ++c) {
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return Code::kUnknown;
}

// The text of a caught exception.
std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// A google.rpc.Status answer as a Status; other error bodies keep the HTTP status.
Status StatusFromReply(const http::ClientResult& res) {
  auto doc = nlohmann::json::parse(res.body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const auto& e = doc["error"];
    Code code = CodeFromName(e.value("status", std::string()));
    if (code == Code::kUnknown && res.status == 401) code = Code::kUnauthenticated;
    return Status(code, e.value("message", std::string("HTTP ") + std::to_string(res.status)));
  }
  Code code = res.status == 401 ? Code::kUnauthenticated : res.status >= 500 ? Code::kUnavailable : Code::kUnknown;
  return Status(code, "HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 200));
}

}  // namespace

struct TaskQueue::Impl {
  TaskQueueOptions options;
  std::unique_ptr<internal::SyncHttp> http;

  // "/v2/projects/p/locations/l/queues/q", or under "/stratus/v1" for the stratus namespace.
  std::string QueuePath(const std::string& queue, std::string_view api = "/v2") const {
    return std::string(api) + "/projects/" + options.project + "/locations/" + options.location + "/queues/" + queue;
  }

  // The CreateTask request body, or the reason it cannot be built.
  StatusOr<nlohmann::json> BuildCreate(const std::string& job, const nlohmann::json& data, const AddOptions& o,
                                       std::string* queue, std::string* key) const {
    auto q = options.job_queues.find(job);
    if (q == options.job_queues.end()) return InvalidArgument("unknown job '" + job + "': it has no queue");
    if (!data.is_object()) return InvalidArgument("job data must be a JSON object");
    STRATUS_ASSIGN_OR_RETURN(auto when, ResolveSchedule(o, Clock::now()));
    *queue = q->second;
    STRATUS_ASSIGN_OR_RETURN(*key, IdempotencyKey(job, data));
    nlohmann::json payload = {{"data", data}, {"idempotencyKey", *key}, {"jobName", job}};
    STRATUS_ASSIGN_OR_RETURN(std::string body, CanonicalJson(payload));
    nlohmann::json req = {{"url", options.service_url + "/api/jobs/" + job},
                          {"httpMethod", "POST"},
                          {"headers", {{"Content-Type", "application/json"}}},
                          {"body", Base64Encode(body)}};
    if (!options.service_account.empty()) {
      req["oidcToken"] = {{"serviceAccountEmail", options.service_account},
                          {"audience", options.audience.empty() ? options.service_url : options.audience}};
    }
    nlohmann::json task = {{"httpRequest", req}};
    if (!o.task_id.empty())
      task["name"] = "projects/" + options.project + "/locations/" + options.location + "/queues/" + *queue +
                     "/tasks/" + o.task_id;
    if (when) task["scheduleTime"] = FormatTimestamp(ToMicros(*when));
    return nlohmann::json{{"task", task}};
  }

  StatusOr<std::string> Bearer() const {
    if (!options.token_source) return std::string();
    return options.token_source->Token();
  }

  // A request carrying the API's bearer token when there is one.
  static http::Request Authorized(http::Verb verb, std::string body, const std::string& bearer) {
    auto req = internal::MakeRequest(verb, std::move(body));
    if (!bearer.empty()) req.set(beast::http::field::authorization, "Bearer " + bearer);
    return req;
  }

  StatusOr<http::Url> UrlFor(const std::string& path) const { return http::Url::Parse(options.base_url + path); }

  // One call from a caller's thread: waits for it on the loop.
  StatusOr<nlohmann::json> CallBlocking(http::Verb verb, const std::string& path, std::string body,
                                        const std::string& bearer) {
    STRATUS_ASSIGN_OR_RETURN(http::Url u, UrlFor(path));
    http::Request req = Authorized(verb, std::move(body), bearer);
    StatusOr<nlohmann::json> reply = Status(Code::kAborted, "not sent");
    http->RunOnLoop([&]() -> asio::awaitable<void> { reply = co_await Call(u, std::move(req)); });
    return reply;
  }

  // Sends on the loop; a connection that was never made is tried twice more (nothing was sent).
  asio::awaitable<StatusOr<nlohmann::json>> Call(http::Url url, http::Request req) {
    http::ClientResult res;
    for (int attempt = 0; attempt < 3; ++attempt) {
      http::Request copy = req;
      res = co_await http->FetchAsync(url, std::move(copy), options.timeout);
      if (res.failure != http::ClientResult::Failure::kConnect) break;
    }
    if (res.failure != http::ClientResult::Failure::kNone) {
      co_return Status(Code::kUnavailable, "Cloud Tasks API at " + options.base_url + " unreachable: " + res.error);
    }
    if (res.status / 100 != 2) co_return StatusFromReply(res);
    auto doc = nlohmann::json::parse(res.body, nullptr, false);
    if (doc.is_discarded()) co_return Status(Code::kInternal, "Cloud Tasks API answered with invalid JSON");
    co_return doc;
  }

  asio::awaitable<StatusOr<EnqueuedTask>> AddAsync(const Job& job, const std::string& bearer) {
    EnqueuedTask out;
    STRATUS_ASSIGN_OR_RETURN_CO(auto body,
                                BuildCreate(job.name, job.data, job.options, &out.queue, &out.idempotency_key));
    STRATUS_ASSIGN_OR_RETURN_CO(http::Url u, UrlFor(QueuePath(out.queue) + "/tasks"));
    STRATUS_ASSIGN_OR_RETURN_CO(auto reply, co_await Call(u, Authorized(http::Verb::post, body.dump(), bearer)));
    out.name = reply.value("name", std::string());
    out.schedule_time = reply.value("scheduleTime", std::string());
    co_return out;
  }
};

StatusOr<std::unique_ptr<TaskQueue>> TaskQueue::Create(TaskQueueOptions options) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  while (!options.service_url.empty() && options.service_url.back() == '/') options.service_url.pop_back();
  if (options.service_url.empty()) return InvalidArgument("TaskQueue needs the service URL that tasks are sent to");
  if (options.project.empty()) return InvalidArgument("TaskQueue needs a project (set it, or STRATUS_PROJECT)");
  if (options.location.empty()) return InvalidArgument("TaskQueue needs a location");
  STRATUS_RETURN_IF_ERROR(http::Url::Parse(options.base_url).status());
  auto impl = std::make_unique<Impl>();
  STRATUS_ASSIGN_OR_RETURN(impl->http, internal::SyncHttp::Create(options.ca_file));
  impl->options = std::move(options);
  return std::unique_ptr<TaskQueue>(new TaskQueue(std::move(impl)));
}

TaskQueue::TaskQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TaskQueue::~TaskQueue() = default;

const TaskQueueOptions& TaskQueue::options() const {
  return impl_->options;
}

StatusOr<EnqueuedTask> TaskQueue::Add(const std::string& job_name, const nlohmann::json& data,
                                      const AddOptions& options) {
  auto results = AddBatch({Job{job_name, data, options}}, 1);
  return std::move(results.front());
}

std::vector<StatusOr<EnqueuedTask>> TaskQueue::AddBatch(const std::vector<Job>& jobs, size_t concurrency) {
  std::vector<StatusOr<EnqueuedTask>> results(jobs.size(), Status(Code::kAborted, "not attempted"));
  if (jobs.empty()) return results;
  auto bearer = impl_->Bearer();
  if (!bearer.ok()) {
    for (auto& r : results) r = bearer.status();
    return results;
  }
  std::atomic<size_t> next{0};
  concurrency = std::max<size_t>(1, std::min(concurrency, jobs.size()));
  Impl* impl = impl_.get();
  const std::string token = *bearer;
  impl_->http->RunOnLoop([&]() -> asio::awaitable<void> {
    // Wait for the last worker: it cancels the timer this coroutine sleeps on.
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    size_t running = concurrency;
    // `concurrency` workers share one cursor; the loop interleaves their requests. AddAsync
    // answers with a Status, but a throw inside it (nlohmann's dump refuses a task id that
    // is not UTF-8) would end its worker: the completion handler fails that job, says so in
    // the log, and starts a worker in its place, so every job gets a result and the caller
    // is never left waiting.
    std::function<void()> spawn_worker = [&] {
      auto current = std::make_shared<size_t>(jobs.size());
      asio::co_spawn(
          ex,
          [&, current]() -> asio::awaitable<void> {
            for (size_t i = next++; i < jobs.size(); i = next++) {
              *current = i;
              results[i] = co_await impl->AddAsync(jobs[i], token);
            }
          },
          [&, current](const std::exception_ptr& e) {
            if (e && *current < jobs.size()) {
              Status failed = Internal("TaskQueue: adding job '" + jobs[*current].name + "' threw: " + WhatOf(e));
              impl->options.logger.Error("task_queue.add_threw",
                                         {{"job", jobs[*current].name}, {"error", failed.message()}});
              results[*current] = std::move(failed);
              if (next < jobs.size()) {
                spawn_worker();  // takes this worker's place
                return;
              }
            }
            if (--running == 0) all_done.cancel();
          });
    };
    for (size_t w = 0; w < concurrency; ++w) spawn_worker();
    boost::system::error_code ec;
    if (running > 0) co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
  return results;
}

namespace {
// "rateLimits.maxDispatchesPerSecond,retryConfig.maxAttempts": the leaf fields given.
void MaskPaths(const nlohmann::json& obj, const std::string& prefix, std::vector<std::string>* out) {
  for (const auto& [k, v] : obj.items()) {
    if (k == "name" || k == "stratus") continue;
    if (v.is_object() && !v.empty() && (k == "rateLimits" || k == "retryConfig")) {
      MaskPaths(v, prefix + k + ".", out);
    } else {
      out->push_back(prefix + k);
    }
  }
}
}  // namespace

Status TaskQueue::ApplyQueue(const std::string& queue_id, const nlohmann::json& queue) {
  if (!queue.is_object()) return InvalidArgument("a queue must be a JSON object");
  nlohmann::json body = queue;
  body.erase("stratus");
  body["name"] = "projects/" + impl_->options.project + "/locations/" + impl_->options.location + "/queues/" + queue_id;
  std::vector<std::string> paths;
  MaskPaths(body, "", &paths);
  std::string mask;
  for (const auto& p : paths) mask += (mask.empty() ? "" : ",") + p;
  STRATUS_ASSIGN_OR_RETURN(auto bearer, impl_->Bearer());
  std::string path = impl_->QueuePath(queue_id) + (mask.empty() ? "" : "?updateMask=" + mask);
  STRATUS_RETURN_IF_ERROR(impl_->CallBlocking(http::Verb::patch, path, body.dump(), bearer).status());
  // The stratus-only part (permanent-failure statuses) goes to the stratus namespace.
  if (queue.contains("stratus")) {
    std::string config = impl_->QueuePath(queue_id, "/stratus/v1") + "/config";
    STRATUS_RETURN_IF_ERROR(impl_->CallBlocking(http::Verb::put, config, queue["stratus"].dump(), bearer).status());
  }
  return Status::Ok();
}

}  // namespace stratus::sdk
