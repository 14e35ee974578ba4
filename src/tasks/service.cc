#include "tasks/service.h"

#include <algorithm>

#include "common/await.h"
#include "common/base64.h"
#include "common/ids.h"
#include "model/names.h"
#include "store/async.h"
#include "tasks/field_mask.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

constexpr int64_t kMaxQueuePage = 9800;
constexpr int64_t kMaxTaskPage = 1000;

// The service account an HTTP task's deliveries in `queue` sign as whatever the task says:
// the queue's httpTarget oidcToken, else its oauthToken (as engine/delivery.cc applies them).
std::optional<std::string> QueueSignsAs(const Queue& queue) {
  if (!queue.http_target) return std::nullopt;
  if (queue.http_target->oidc_token) return queue.http_target->oidc_token->service_account_email;
  if (queue.http_target->oauth_token) return queue.http_target->oauth_token->service_account_email;
  return std::nullopt;
}

// The URL a buffered task is stored with: everything comes from the queue's uriOverride
// (https unless it says http, "/" without a path). Delivery applies the override again.
StatusOr<std::string> BufferUrl(const Queue& queue) {
  if (!queue.http_target || !queue.http_target->uri_override || queue.http_target->uri_override->host.empty()) {
    return FailedPrecondition(msg::kBufferNeedsHttpTarget);
  }
  const UriOverride& o = *queue.http_target->uri_override;
  std::string url = o.scheme == UriOverride::Scheme::kHttp ? "http://" : "https://";
  url += o.host;
  if (o.port != 0) url += ":" + std::to_string(o.port);
  std::string path = o.path_override ? o.path_override->path.value_or("") : "";
  url += path.empty() || path.front() != '/' ? "/" + path : path;
  if (o.query_override && !o.query_override->query_params.value_or("").empty()) {
    url += "?" + *o.query_override->query_params;
  }
  return url;
}

// One row per updatable field: its mask path and how to copy it.
struct MaskField {
  std::string_view path;
  void (*copy)(const Queue& from, Queue* to);
};

const MaskField kMaskFields[] = {
    {"rateLimits.maxDispatchesPerSecond",
     [](const Queue& f, Queue* t) {
       t->rate_limits.max_dispatches_per_second = f.rate_limits.max_dispatches_per_second;
     }},
    {"rateLimits.maxBurstSize", [](const Queue&, Queue*) {}},  // output only: always derived
    {"rateLimits.maxConcurrentDispatches",
     [](const Queue& f, Queue* t) {
       t->rate_limits.max_concurrent_dispatches = f.rate_limits.max_concurrent_dispatches;
     }},
    {"retryConfig.maxAttempts",
     [](const Queue& f, Queue* t) { t->retry_config.max_attempts = f.retry_config.max_attempts; }},
    {"retryConfig.maxRetryDuration",
     [](const Queue& f, Queue* t) { t->retry_config.max_retry_duration = f.retry_config.max_retry_duration; }},
    {"retryConfig.minBackoff",
     [](const Queue& f, Queue* t) { t->retry_config.min_backoff = f.retry_config.min_backoff; }},
    {"retryConfig.maxBackoff",
     [](const Queue& f, Queue* t) { t->retry_config.max_backoff = f.retry_config.max_backoff; }},
    {"retryConfig.maxDoublings",
     [](const Queue& f, Queue* t) { t->retry_config.max_doublings = f.retry_config.max_doublings; }},
    {"stackdriverLoggingConfig.samplingRatio",
     [](const Queue& f, Queue* t) { t->logging_sampling_ratio = f.logging_sampling_ratio; }},
    {"httpTarget", [](const Queue& f, Queue* t) { t->http_target = f.http_target; }},
    {"appEngineRoutingOverride",
     [](const Queue& f, Queue* t) { t->app_engine_routing_override = f.app_engine_routing_override; }},
};

bool Covers(std::string_view mask_path, std::string_view field) {
  // gcloud sends sub-paths of httpTarget ("httpTarget.oidcToken.audience"): the whole target is copied.
  return MaskCovers(mask_path, field) ||
         (MaskPathInside(mask_path, field) && (field == "httpTarget" || field == "appEngineRoutingOverride"));
}

// The target policy on a queue's httpTarget.uriOverride host.
Status CheckQueueTarget(const Queue& queue, const ServiceOptions& options) {
  if (!options.check_target_host || !queue.http_target || !queue.http_target->uri_override) return Status::Ok();
  const std::string& host = queue.http_target->uri_override->host;
  if (host.empty()) return Status::Ok();
  return options.check_target_host(host);
}

Status CheckParent(const std::string& parent) {
  // parent = projects/{p}/locations/{l}; the router guarantees the shape.
  size_t p1 = parent.find('/');
  size_t p2 = parent.find('/', p1 + 1);
  size_t p3 = parent.find('/', p2 + 1);
  std::string project = parent.substr(p1 + 1, p2 - p1 - 1);
  std::string location = parent.substr(p3 + 1);
  if (!ValidProjectId(project))
    return Status(Code::kPermissionDenied, "Permission denied on resource project " + project + ".");
  if (!ValidLocationId(location)) {
    return InvalidArgument("Location '" + location +
                           "' is not a valid location. Use ListLocations to list valid locations.");
  }
  return Status::Ok();
}

StatusOr<std::string> CheckTaskName(const std::string& name) {
  std::string queue = QueueOfTask(name);
  if (queue.empty()) return InvalidArgument(msg::kEntityMissing);
  STRATUS_RETURN_IF_ERROR(ParseQueueName(queue).status());
  STRATUS_RETURN_IF_ERROR(CheckTaskId(name.substr(queue.size() + 7)));
  return queue;
}

StatusOr<std::optional<QueueState>> ParseFilter(const std::string& filter) {
  std::string f;
  for (char c : filter) {
    if (c != ' ' && c != '"') f += c;
  }
  if (f.empty()) return std::optional<QueueState>();
  for (auto [text, state] : {std::pair{"RUNNING", QueueState::kRunning}, std::pair{"PAUSED", QueueState::kPaused},
                             std::pair{"DISABLED", QueueState::kDisabled}}) {
    if (f == std::string("state:") + text || f == std::string("state=") + text) return std::optional(state);
  }
  return InvalidArgument("Invalid filter \"" + filter + "\": stratus supports \"state: RUNNING|PAUSED|DISABLED\".");
}

StatusOr<int> PageSize(int64_t requested, int64_t max) {
  if (requested < 0) return InvalidArgument("page_size must not be negative.");
  return static_cast<int>(requested == 0 ? max : std::min(requested, max));
}

StatusOr<std::string> DecodePageToken(const std::string& token) {
  if (token.empty()) return std::string();
  auto raw = Base64Decode(token);
  if (!raw.ok() || raw->rfind("v1|", 0) != 0) return InvalidArgument("Invalid page token.");
  return raw->substr(3);
}

// A store's reason in Google's words, as Cloud Tasks answers; anything else as it is.
// `queue_as_entity`: queues.delete says "Requested entity was not found." of a missing queue.
Status Worded(const Status& st, bool queue_as_entity = false) {
  switch (ReasonOf(st)) {
    case StoreReason::kQueueMissing:
      return NotFound(queue_as_entity ? msg::kEntityMissing : msg::kQueueMissing);
    case StoreReason::kTaskMissing:
    case StoreReason::kDeadLetterMissing:
      return NotFound(msg::kEntityMissing);
    case StoreReason::kTaskRecentlyDeleted:
      return NotFound(msg::kTaskRecentlyDeleted);
    case StoreReason::kTaskExists:
    case StoreReason::kTaskNameTombstoned:
      return AlreadyExists(msg::kEntityExists);
    case StoreReason::kBadCursor:
      return InvalidArgument("Invalid page token.");
    case StoreReason::kTaskRescheduled:
    case StoreReason::kTaskReplaced:
    case StoreReason::kLeaseLost:
    case StoreReason::kNone:
      break;
  }
  return st;
}

template <typename T>
StatusOr<T> Worded(StatusOr<T> r) {
  if (r.ok()) return r;
  return Worded(r.status());
}

std::string EncodePageToken(const std::string& cursor) {
  if (cursor.empty()) return "";
  std::string t = Base64Encode("v1|" + cursor);
  for (char& c : t) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  while (!t.empty() && t.back() == '=') t.pop_back();
  return t;
}

}  // namespace

Status ApplyUpdateMask(const Queue& from, const std::string& mask, Queue* to) {
  if (mask.empty()) {
    for (const auto& f : kMaskFields) f.copy(from, to);
    return Status::Ok();
  }
  for (const std::string& path : MaskPaths(mask)) {
    STRATUS_RETURN_IF_ERROR(ApplyMaskPath(kMaskFields, path, from, to, Covers, "Queue"));
  }
  return Status::Ok();
}

TasksService::TasksService(Store& store, const Clock& clock, asio::thread_pool& blocking, ServiceOptions options)
    : store_(store), clock_(clock), blocking_(blocking), options_(std::move(options)) {}

asio::awaitable<StatusOr<WriteResult>> TasksService::Write(Mutation m) {
  const Micros now = clock_.Now();
  auto write = WriteAsync(store_, std::move(m), now);
  auto r = co_await std::move(write);
  co_return Worded(std::move(r));
}

asio::awaitable<StatusOr<std::vector<Location>>> TasksService::ListLocations(const std::string& project) {
  if (!ValidProjectId(project))
    co_return Status(Code::kPermissionDenied, "Permission denied on resource project " + project + ".");
  std::vector<Location> out;
  for (const auto& l : options_.locations) out.push_back({"projects/" + project + "/locations/" + l, l});
  co_return out;
}

asio::awaitable<StatusOr<Location>> TasksService::GetLocation(const std::string& project, const std::string& location) {
  std::string parent = "projects/" + project + "/locations/" + location;
  STRATUS_RETURN_IF_ERROR_CO(CheckParent(parent));
  co_return Location{parent, location};
}

asio::awaitable<StatusOr<Queue>> TasksService::CreateQueue(const std::string& parent, Queue queue) {
  STRATUS_RETURN_IF_ERROR_CO(CheckParent(parent));
  STRATUS_ASSIGN_OR_RETURN_CO(auto name, ParseQueueName(queue.name));
  if (name.Parent() != parent) co_return InvalidArgument(queue.name + " must begin with " + parent + ".");
  // Output-only fields in the request are ignored.
  queue.state = QueueState::kRunning;
  queue.purge_time.reset();
  ApplyQueueDefaults(&queue);
  STRATUS_RETURN_IF_ERROR_CO(ValidateQueueConfig(queue, options_.limits));
  STRATUS_RETURN_IF_ERROR_CO(CheckQueueTarget(queue, options_));
  Mutation mutation = QueueUpdate{queue.name, [queue](const Queue* current, bool recently_deleted) -> StatusOr<Queue> {
                                    if (current) return AlreadyExists(msg::kQueueExists);
                                    if (recently_deleted) return FailedPrecondition(msg::kQueueRecentlyDeleted);
                                    return queue;
                                  }};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->QueueChanged(*r.queue);
  co_return std::move(*r.queue);
}

asio::awaitable<StatusOr<Queue>> TasksService::GetQueue(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  auto read = [this, &name] { return Worded(store_.GetQueue(name)); };
  co_return co_await RunBlocking(blocking_, std::move(read));
}

asio::awaitable<StatusOr<QueueList>> TasksService::ListQueues(const std::string& parent, const std::string& filter,
                                                              int64_t page_size, const std::string& page_token) {
  STRATUS_RETURN_IF_ERROR_CO(CheckParent(parent));
  STRATUS_ASSIGN_OR_RETURN_CO(auto state, ParseFilter(filter));
  STRATUS_ASSIGN_OR_RETURN_CO(auto size, PageSize(page_size, kMaxQueuePage));
  STRATUS_ASSIGN_OR_RETURN_CO(auto cursor, DecodePageToken(page_token));
  STRATUS_ASSIGN_OR_RETURN_CO(auto page, co_await RunBlocking(blocking_, [&] {
                                return Worded(store_.ListQueues(parent, state, size, cursor));
                              }));
  co_return QueueList{std::move(page.items), EncodePageToken(page.next_cursor)};
}

asio::awaitable<StatusOr<Queue>> TasksService::PatchQueue(const std::string& name, Queue request,
                                                          const std::string& update_mask) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  if (!request.name.empty() && request.name != name) {
    co_return InvalidArgument("The queue name in the request body must match the queue name in the URL.");
  }
  ApplyQueueDefaults(&request);
  // Validate the mask before touching the store, against a scratch copy.
  Queue scratch;
  STRATUS_RETURN_IF_ERROR_CO(ApplyUpdateMask(request, update_mask, &scratch));
  STRATUS_RETURN_IF_ERROR_CO(CheckQueueTarget(scratch, options_));
  Limits limits = options_.limits;
  Mutation mutation = QueueUpdate{
      name, [name, request, update_mask, limits](const Queue* current, bool recently_deleted) -> StatusOr<Queue> {
        Queue next;
        if (current) {
          next = *current;
        } else {
          if (recently_deleted) return FailedPrecondition(msg::kQueueRecentlyDeleted);
          next.name = name;  // patch creates a missing queue, from the defaults
        }
        STRATUS_RETURN_IF_ERROR(ApplyUpdateMask(request, update_mask, &next));
        ApplyQueueDefaults(&next);
        STRATUS_RETURN_IF_ERROR(ValidateQueueConfig(next, limits));
        return next;
      }};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->QueueChanged(*r.queue);
  co_return std::move(*r.queue);
}

asio::awaitable<Status> TasksService::DeleteQueue(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  Mutation mutation = QueueDelete{name};
  const Micros now = clock_.Now();
  auto write = WriteAsync(store_, std::move(mutation), now);
  auto r = co_await std::move(write);
  if (r.ok() && events_) events_->QueueDeleted(name);
  co_return Worded(r.status(), /*queue_as_entity=*/true);
}

asio::awaitable<StatusOr<Queue>> TasksService::PurgeQueue(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  Mutation mutation = QueuePurge{name, clock_.Now()};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->QueuePurged(*r.queue);
  co_return std::move(*r.queue);
}

asio::awaitable<StatusOr<Queue>> TasksService::SetQueueState(const std::string& name, QueueState state) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  Mutation mutation = QueueUpdate{name, [state](const Queue* current, bool) -> StatusOr<Queue> {
                                    if (!current) return NotFound(msg::kQueueMissing);
                                    Queue next = *current;
                                    next.state = state;
                                    return next;
                                  }};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->QueueChanged(*r.queue);
  co_return std::move(*r.queue);
}

asio::awaitable<StatusOr<Task>> TasksService::CreateTask(const std::string& parent, Task task,
                                                         std::function<Status(const std::string& email)> act_as) {
  STRATUS_ASSIGN_OR_RETURN_CO(auto queue, ParseQueueName(parent));
  bool generated = task.name.empty();
  if (generated) {
    // NOLINTNEXTLINE(bugprone-use-after-move): task is moved only when may_retry is false, which broke out above.
    task.name = parent + "/tasks/" + GenerateTaskId();
  } else {
    std::string named_queue = QueueOfTask(task.name);
    if (named_queue != parent) {
      co_return InvalidArgument("The queue name from request ('" + parent +
                                "') must be the same as the queue name in the named task ('" + named_queue + "').");
    }
    STRATUS_RETURN_IF_ERROR_CO(CheckTaskId(task.name.substr(parent.size() + 7)));
  }
  STRATUS_RETURN_IF_ERROR_CO(PrepareNewTask(&task, clock_.Now(), options_.limits));
  if (options_.check_target_url && task.http_request) {
    STRATUS_RETURN_IF_ERROR_CO(options_.check_target_url(task.http_request->url));
  }
  if (act_as && task.http_request) {
    if (task.http_request->oidc_token)
      STRATUS_RETURN_IF_ERROR_CO(act_as(task.http_request->oidc_token->service_account_email));
    if (task.http_request->oauth_token)
      STRATUS_RETURN_IF_ERROR_CO(act_as(task.http_request->oauth_token->service_account_email));
    // A queue's httpTarget token replaces the task's at delivery (engine/delivery.cc). A
    // missing queue is left to the write, which refuses it in its own words.
    auto current = co_await RunBlocking(blocking_, [&] { return store_.GetQueue(parent); });
    if (!current.ok() && current.status().code() != Code::kNotFound) co_return current.status();
    if (current.ok()) {
      if (auto email = QueueSignsAs(*current)) STRATUS_RETURN_IF_ERROR_CO(act_as(*email));
    }
  }
  StatusOr<WriteResult> r = Internal("unreachable");
  for (int attempt = 0;; ++attempt) {
    // A generated id can meet one another node made in the same microsecond: make another.
    bool may_retry = generated && attempt < 2;
    Mutation mutation = TaskCreate{may_retry ? Task(task) : std::move(task)};
    r = co_await Write(std::move(mutation));
    if (!may_retry || r.ok() || r.status().code() != Code::kAlreadyExists) break;
    // NOLINTNEXTLINE(bugprone-use-after-move): task is moved only when may_retry is false, which broke out above.
    task.name = parent + "/tasks/" + GenerateTaskId();
  }
  STRATUS_ASSIGN_OR_RETURN_CO(WriteResult written, std::move(r));
  if (events_) events_->TaskCreated(written.task->name, written.task->schedule_time);
  co_return std::move(*written.task);
}

asio::awaitable<StatusOr<Task>> TasksService::BufferTask(const std::string& parent, const std::string& task_id,
                                                         HttpBody body,
                                                         std::function<Status(const std::string& email)> act_as) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(parent).status());
  if (!task_id.empty()) STRATUS_RETURN_IF_ERROR_CO(CheckTaskId(task_id));
  auto read = [this, &parent] { return Worded(store_.GetQueue(parent)); };
  STRATUS_ASSIGN_OR_RETURN_CO(Queue queue, co_await RunBlocking(blocking_, std::move(read)));
  STRATUS_ASSIGN_OR_RETURN_CO(std::string url, BufferUrl(queue));
  Task task;
  if (!task_id.empty()) task.name = parent + "/tasks/" + task_id;
  HttpRequest& r = task.http_request.emplace();
  r.url = std::move(url);
  if (queue.http_target->http_method != HttpMethod::kUnspecified) r.http_method = queue.http_target->http_method;
  if (!body.content_type.empty()) r.headers["Content-Type"] = body.content_type;
  r.body = std::move(body.data);
  auto created = CreateTask(parent, std::move(task), std::move(act_as));
  co_return co_await std::move(created);
}

asio::awaitable<StatusOr<Task>> TasksService::GetTask(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(CheckTaskName(name).status());
  Micros now = clock_.Now();
  auto read = [this, &name, now] { return Worded(store_.GetTask(name, now)); };
  co_return co_await RunBlocking(blocking_, std::move(read));
}

asio::awaitable<StatusOr<TaskList>> TasksService::ListTasks(const std::string& parent, int64_t page_size,
                                                            const std::string& page_token, bool with_body) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(parent).status());
  STRATUS_ASSIGN_OR_RETURN_CO(auto size, PageSize(page_size, kMaxTaskPage));
  STRATUS_ASSIGN_OR_RETURN_CO(auto cursor, DecodePageToken(page_token));
  auto exists = co_await RunBlocking(blocking_, [&] { return Worded(store_.GetQueue(parent)); });
  STRATUS_RETURN_IF_ERROR_CO(exists.status());
  STRATUS_ASSIGN_OR_RETURN_CO(auto page, co_await RunBlocking(blocking_, [&] {
                                return Worded(store_.ListTasks(parent, size, cursor, with_body));
                              }));
  co_return TaskList{std::move(page.items), EncodePageToken(page.next_cursor)};
}

asio::awaitable<Status> TasksService::DeleteTask(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(CheckTaskName(name).status());
  Mutation mutation = TaskDelete{name};
  auto r = co_await Write(std::move(mutation));
  if (r.ok() && events_) events_->TaskRemoved(name);
  co_return r.status();
}

asio::awaitable<StatusOr<Task>> TasksService::RunTask(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(CheckTaskName(name).status());
  Mutation mutation = TaskRun{name};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->TaskScheduled(name, r.task->schedule_time, true);
  co_return std::move(*r.task);
}

asio::awaitable<StatusOr<Queue>> TasksService::SetQueueExtensions(const std::string& name, QueueExtensions ext) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  for (int code : ext.permanent_failure_statuses) {
    if (code < 100 || code > 599) {
      co_return InvalidArgument("permanentFailureStatuses: " + std::to_string(code) + " is not an HTTP status.");
    }
    if (code >= 200 && code < 300)
      co_return InvalidArgument("permanentFailureStatuses: a 2xx is a success, not a failure.");
  }
  Mutation mutation = QueueUpdate{name, [ext](const Queue* current, bool) -> StatusOr<Queue> {
                                    if (!current) return NotFound(msg::kQueueMissing);
                                    Queue next = *current;
                                    next.stratus = ext;
                                    return next;
                                  }};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->QueueChanged(*r.queue);
  co_return std::move(*r.queue);
}

asio::awaitable<StatusOr<Page<DeadLetter>>> TasksService::ListDeadLetters(const std::string& queue, int64_t page_size,
                                                                          const std::string& page_token) {
  STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(queue).status());
  STRATUS_ASSIGN_OR_RETURN_CO(auto size, PageSize(page_size, kMaxTaskPage));
  STRATUS_ASSIGN_OR_RETURN_CO(auto cursor, DecodePageToken(page_token));
  auto exists = co_await RunBlocking(blocking_, [&] { return Worded(store_.GetQueue(queue)); });
  STRATUS_RETURN_IF_ERROR_CO(exists.status());
  STRATUS_ASSIGN_OR_RETURN_CO(
      auto page, co_await RunBlocking(blocking_, [&] { return Worded(store_.ListDeadLetters(queue, size, cursor)); }));
  page.next_cursor = EncodePageToken(page.next_cursor);
  co_return std::move(page);
}

asio::awaitable<StatusOr<DeadLetter>> TasksService::GetDeadLetter(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(CheckTaskName(name).status());
  co_return co_await RunBlocking(blocking_, [&] { return Worded(store_.GetDeadLetter(name)); });
}

asio::awaitable<StatusOr<Task>> TasksService::RetryDeadLetter(const std::string& name) {
  STRATUS_RETURN_IF_ERROR_CO(CheckTaskName(name).status());
  Mutation mutation = DeadLetterRetry{name};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  if (events_) events_->TaskScheduled(name, r.task->schedule_time, false);
  co_return std::move(*r.task);
}

asio::awaitable<StatusOr<int64_t>> TasksService::DeleteDeadLetters(const std::string& name) {
  if (name.find("/tasks/") != std::string::npos) {
    STRATUS_RETURN_IF_ERROR_CO(CheckTaskName(name).status());
  } else {
    STRATUS_RETURN_IF_ERROR_CO(ParseQueueName(name).status());
  }
  Mutation mutation = DeadLetterDelete{name};
  STRATUS_ASSIGN_OR_RETURN_CO(auto r, co_await Write(std::move(mutation)));
  co_return r.count;
}

asio::awaitable<StatusOr<int64_t>> TasksService::RetryAllDeadLetters(const std::string& queue) {
  int64_t retried = 0;
  std::string token;
  for (;;) {
    STRATUS_ASSIGN_OR_RETURN_CO(auto page, co_await ListDeadLetters(queue, kMaxTaskPage, token));
    for (const auto& d : page.items) {
      const std::string& name = d.task.name;
      auto t = co_await RetryDeadLetter(name);
      if (t.ok())
        ++retried;
      else if (t.status().code() != Code::kAlreadyExists)
        co_return t.status();
    }
    if (page.next_cursor.empty()) break;
    token = page.next_cursor;
  }
  co_return retried;
}

}  // namespace stratus
