// The Cloud Tasks v2 service: every queue and task method, over the Store interface.
//
// Methods are coroutines that run on the caller's event loop; store reads run on the
// blocking pool and writes resume when the store has made them durable. Requests arrive
// already decoded (tasks/codec.h); this layer checks names and semantics and builds the
// mutations. Nothing here knows HTTP.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "common/clock.h"
#include "stratus/store.h"
#include "tasks/validation.h"

namespace stratus {

// What the service tells the dispatcher, after each change is durable.
class TaskEvents {
 public:
  virtual ~TaskEvents() = default;
  virtual void QueueChanged(const Queue& queue) = 0;  // created, patched, paused, resumed
  virtual void QueuePurged(const Queue& queue) = 0;
  virtual void QueueDeleted(const std::string& name) = 0;
  virtual void TaskCreated(const std::string& task_name, Micros due) = 0;
  virtual void TaskScheduled(const std::string& task_name, Micros due, bool run_now) = 0;
  virtual void TaskRemoved(const std::string& task_name) = 0;
};

struct ServiceOptions {
  Limits limits;
  // The target policy's create-time check of a task URL or a uriOverride host (INVALID_ARGUMENT
  // for a literal address it denies); unset: anything goes.
  std::function<Status(std::string_view url)> check_target_url;
  std::function<Status(std::string_view host)> check_target_host;
  std::vector<std::string> locations = {"us-central1"};  // listed by locations.list
};

struct Location {
  std::string name;  // projects/p/locations/l
  std::string location_id;
};

// google.api.HttpBody: what tasks:buffer carries (its `extensions` are not kept).
struct HttpBody {
  std::string content_type;
  std::string data;
};

struct QueueList {
  std::vector<Queue> queues;
  std::string next_page_token;
};

struct TaskList {
  std::vector<Task> tasks;
  std::string next_page_token;
};

class TasksService {
 public:
  TasksService(Store& store, const Clock& clock, asio::thread_pool& blocking, ServiceOptions options);

  // Receives queue and task changes (the dispatcher); may stay unset.
  void SetEvents(TaskEvents* events) { events_ = events; }

  asio::awaitable<StatusOr<std::vector<Location>>> ListLocations(const std::string& project);
  asio::awaitable<StatusOr<Location>> GetLocation(const std::string& project, const std::string& location);

  asio::awaitable<StatusOr<Queue>> CreateQueue(const std::string& parent, Queue queue);
  asio::awaitable<StatusOr<Queue>> GetQueue(const std::string& name);
  asio::awaitable<StatusOr<QueueList>> ListQueues(const std::string& parent, const std::string& filter,
                                                  int64_t page_size, const std::string& page_token);
  // An empty mask replaces the whole configuration; creates the queue when it is missing.
  asio::awaitable<StatusOr<Queue>> PatchQueue(const std::string& name, Queue queue, const std::string& update_mask);
  asio::awaitable<Status> DeleteQueue(const std::string& name);
  asio::awaitable<StatusOr<Queue>> PurgeQueue(const std::string& name);
  asio::awaitable<StatusOr<Queue>> SetQueueState(const std::string& name, QueueState state);

  // `act_as`, when set, must accept every service account the task's delivery will sign as
  // (its own oidcToken/oauthToken, or its queue's httpTarget one); its refusal is returned
  // and nothing is stored. Unset: any account.
  asio::awaitable<StatusOr<Task>> CreateTask(const std::string& parent, Task task,
                                             std::function<Status(const std::string& email)> act_as = {});
  // tasks:buffer (REST only): an HTTP task made of a body alone, sent where the queue's
  // httpTarget says (uriOverride, httpMethod, headerOverrides, token). The body's content
  // type becomes the task's Content-Type header. An empty `task_id` generates one. The task
  // is then created exactly as CreateTask does (same checks, same duplicate-name answer).
  // FAILED_PRECONDITION when the queue has no httpTarget.uriOverride host.
  asio::awaitable<StatusOr<Task>> BufferTask(const std::string& parent, const std::string& task_id, HttpBody body,
                                             std::function<Status(const std::string& email)> act_as = {});
  asio::awaitable<StatusOr<Task>> GetTask(const std::string& name);
  asio::awaitable<StatusOr<TaskList>> ListTasks(const std::string& parent, int64_t page_size,
                                                const std::string& page_token, bool with_body);
  asio::awaitable<Status> DeleteTask(const std::string& name);
  asio::awaitable<StatusOr<Task>> RunTask(const std::string& name);

  // stratus extensions (/stratus/v1): permanent-failure statuses and dead letters.
  asio::awaitable<StatusOr<Queue>> SetQueueExtensions(const std::string& name, QueueExtensions ext);
  asio::awaitable<StatusOr<Page<DeadLetter>>> ListDeadLetters(const std::string& queue, int64_t page_size,
                                                              const std::string& page_token);
  asio::awaitable<StatusOr<DeadLetter>> GetDeadLetter(const std::string& name);
  asio::awaitable<StatusOr<Task>> RetryDeadLetter(const std::string& name);
  // `name` is a task name (one) or a queue name (all of them); returns how many went.
  asio::awaitable<StatusOr<int64_t>> DeleteDeadLetters(const std::string& name);
  // Re-enqueues every dead letter of a queue; returns how many.
  asio::awaitable<StatusOr<int64_t>> RetryAllDeadLetters(const std::string& queue);

 private:
  asio::awaitable<StatusOr<WriteResult>> Write(Mutation m);

  Store& store_;
  const Clock& clock_;
  asio::thread_pool& blocking_;
  ServiceOptions options_;
  TaskEvents* events_ = nullptr;
};

// Applies an update mask ("rateLimits.maxDispatchesPerSecond,retryConfig") from `from` onto
// `to`; an empty mask copies every field. INVALID_ARGUMENT on an unknown path.
Status ApplyUpdateMask(const Queue& from, const std::string& mask, Queue* to);

}  // namespace stratus
