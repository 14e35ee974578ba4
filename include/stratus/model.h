// stratus/model.h — queues and tasks as Cloud Tasks v2 defines them.
//
// Field names and defaults follow google/cloud/tasks/v2 (queue.proto, task.proto,
// target.proto). Times are microseconds since the epoch, durations microseconds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stratus/status.h"

namespace stratus {

using Micros = int64_t;

enum class QueueState : int { kUnspecified = 0, kRunning = 1, kPaused = 2, kDisabled = 3 };
enum class HttpMethod : int {
  kUnspecified = 0,
  kPost = 1,
  kGet = 2,
  kHead = 3,
  kPut = 4,
  kDelete = 5,
  kPatch = 6,
  kOptions = 7
};
enum class TaskView : int { kUnspecified = 0, kBasic = 1, kFull = 2 };

struct RateLimits {
  double max_dispatches_per_second = 500;
  int32_t max_burst_size = 100;  // output only: derived from the rate (MaxBurstSizeFor)
  int32_t max_concurrent_dispatches = 1000;
};

struct RetryConfig {
  int32_t max_attempts = 100;     // -1: unlimited
  Micros max_retry_duration = 0;  // 0: unlimited
  Micros min_backoff = 100'000;   // 0.1 s
  Micros max_backoff = 3'600'000'000;
  int32_t max_doublings = 16;
};

// stratus-only queue settings, outside the Cloud Tasks API (set through /stratus/v1).
struct QueueExtensions {
  // HTTP statuses that send a task to the dead letters at once instead of retrying
  // (the CatchUp app expected Cloud Tasks to stop on 4xx; Google retries every non-2xx).
  std::vector<int> permanent_failure_statuses;
  bool operator==(const QueueExtensions&) const = default;
};

// App Engine routing (target.proto AppEngineRouting); empty strings are unset.
struct AppEngineRouting {
  std::string service;
  std::string version;
  std::string instance;
  std::string host;
  bool operator==(const AppEngineRouting&) const = default;
};

struct OidcToken {
  std::string service_account_email;
  std::string audience;
  bool operator==(const OidcToken&) const = default;
};

struct OAuthToken {
  std::string service_account_email;
  std::string scope;
  bool operator==(const OAuthToken&) const = default;
};

// target.proto UriOverride: which parts of an HTTP task's URL its queue replaces.
struct UriOverride {
  enum class Scheme : int { kUnspecified = 0, kHttp = 1, kHttps = 2 };
  // ALWAYS (the default when unspecified) replaces every part named here; IF_NOT_EXISTS fills
  // only parts the task's URL leaves out.
  enum class EnforceMode : int { kUnspecified = 0, kIfNotExists = 1, kAlways = 2 };
  Scheme scheme = Scheme::kUnspecified;
  std::string host;  // empty: unset
  int64_t port = 0;  // 0: unset
  // PathOverride / QueryOverride messages: set (possibly to an empty text) or not.
  struct PathOverride {
    std::optional<std::string> path;
    bool operator==(const PathOverride&) const = default;
  };
  struct QueryOverride {
    std::optional<std::string> query_params;
    bool operator==(const QueryOverride&) const = default;
  };
  std::optional<PathOverride> path_override;
  std::optional<QueryOverride> query_override;
  EnforceMode enforce_mode = EnforceMode::kUnspecified;
  bool operator==(const UriOverride&) const = default;
};

// target.proto HttpTarget: a queue's overrides for every HTTP task it delivers.
struct HttpTarget {
  struct Header {
    std::string key;
    std::string value;
    bool operator==(const Header&) const = default;
  };
  std::optional<UriOverride> uri_override;
  HttpMethod http_method = HttpMethod::kUnspecified;  // unspecified: the task's own method
  std::vector<Header> header_overrides;               // set (or replace) these headers
  // Replace the task's token at delivery; oidcToken wins when both are set.
  std::optional<OAuthToken> oauth_token;
  std::optional<OidcToken> oidc_token;
  bool operator==(const HttpTarget&) const = default;
};

struct Queue {
  std::string name;  // projects/{p}/locations/{l}/queues/{q}
  RateLimits rate_limits;
  RetryConfig retry_config;
  QueueState state = QueueState::kRunning;
  std::optional<Micros> purge_time;
  std::optional<double> logging_sampling_ratio;  // stackdriverLoggingConfig.samplingRatio
  std::optional<HttpTarget> http_target;         // applied to HTTP tasks at dispatch time
  std::optional<AppEngineRouting> app_engine_routing_override;
  QueueExtensions stratus;
};

struct HttpRequest {
  std::string url;
  HttpMethod http_method = HttpMethod::kPost;
  std::map<std::string, std::string> headers;
  std::string body;  // raw bytes (base64 only on the wire)
  std::optional<OidcToken> oidc_token;
  std::optional<OAuthToken> oauth_token;
};

struct AppEngineHttpRequest {
  HttpMethod http_method = HttpMethod::kPost;
  std::optional<AppEngineRouting> app_engine_routing;
  std::string relative_uri = "/";
  std::map<std::string, std::string> headers;
  std::string body;
};

struct Attempt {
  Micros schedule_time = 0;
  Micros dispatch_time = 0;
  Micros response_time = 0;
  std::optional<Status> response_status;  // set once a response (or failure) is known
};

struct Task {
  std::string name;  // projects/{p}/locations/{l}/queues/{q}/tasks/{t}
  std::optional<HttpRequest> http_request;
  std::optional<AppEngineHttpRequest> app_engine_http_request;
  Micros schedule_time = 0;
  Micros create_time = 0;
  Micros dispatch_deadline = 0;  // 0: the default for the target type
  int32_t dispatch_count = 0;
  int32_t response_count = 0;
  std::optional<Attempt> first_attempt;
  std::optional<Attempt> last_attempt;
  // Dispatch bookkeeping behind the X-CloudTasks-* headers; not part of the API's Task.
  int32_t execution_count = 0;    // responses other than 5xx
  int32_t previous_response = 0;  // HTTP status of the last attempt (504 after a timeout, 0 for none)
};

// A task whose retries ran out, or that got a permanent-failure status, kept with its last
// attempt instead of vanishing.
struct DeadLetter {
  Task task;
  Micros dead_time = 0;
  std::string reason;       // "max attempts reached", "permanent failure status 404", ...
  int response_status = 0;  // last HTTP status, 0 when there was no response
  std::map<std::string, std::string> response_headers;
  std::string response_body;  // the first KB
};

// The token-bucket size Cloud Tasks picks for a rate. Google publishes no formula; stratus
// uses max(10, ceil(rate / 5)) capped at 500, which gives Google's observed pairs
// (0.25/s -> 10, 1/s -> 10, 500/s -> 100) and lets a self-hosted queue above 500/s burst more.
int32_t MaxBurstSizeFor(double max_dispatches_per_second);

// The queue part of a task name ("projects/p/locations/l/queues/q/tasks/t" -> ".../queues/q").
std::string QueueOfTask(const std::string& task_name);

}  // namespace stratus
