#include "stratus/sdk/job_server.h"

#include <algorithm>
#include <any>
#include <charconv>
#include <map>
#include <utility>

#include "common/await.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/time.h"
#include "http/event_loops.h"
#include "http/server.h"
#include "stratus/sdk/canonical_json.h"

namespace stratus::sdk {

// ---- JobResult and exception classification ----

JobResult JobResult::Ok(nlohmann::json result) {
  JobResult r;
  r.kind = Kind::kOk;
  r.result = std::move(result);
  return r;
}

JobResult JobResult::Retry(std::string error, std::optional<std::chrono::seconds> retry_after) {
  JobResult r;
  r.kind = Kind::kRetryable;
  r.error = std::move(error);
  r.retry_after = retry_after;
  return r;
}

JobResult JobResult::Permanent(std::string error) {
  JobResult r;
  r.kind = Kind::kPermanent;
  r.error = std::move(error);
  return r;
}

JobResult JobResult::FromHttpStatus(int status, std::string error, std::optional<std::chrono::seconds> retry_after) {
  if (status >= 200 && status < 300) return Ok();
  const bool permanent = status >= 400 && status < 500 && status != 408 && status != 429;
  if (permanent) return Permanent(std::move(error));
  return Retry(std::move(error), retry_after);
}

JobResult ClassifyException(const std::exception_ptr& error) {
  if (!error) return JobResult::Retry("the handler failed without an exception");
  try {
    std::rethrow_exception(error);
  } catch (const RetryableError& e) {
    return JobResult::Retry(e.what(), e.retry_after());
  } catch (const PermanentError& e) {
    return JobResult::Permanent(e.what());
  } catch (const DownstreamHttpError& e) {
    return JobResult::FromHttpStatus(e.status(), e.what(), e.retry_after());
  } catch (const NetworkError& e) {
    return JobResult::Retry(e.what());
  } catch (const std::exception& e) {
    return JobResult::Retry(e.what());
  } catch (...) {
    return JobResult::Retry("the handler threw a non-standard exception");
  }
}

// ---- Failed-task stores ----

namespace {

nlohmann::json FailedTaskJson(const FailedTask& f) {
  return {{"jobName", f.job_name},
          {"idempotencyKey", f.idempotency_key},
          {"task", f.task},
          {"queue", f.queue},
          {"error", f.error},
          {"data", f.data},
          {"retryCount", f.retry_count},
          {"failedAt", f.failed_at}};
}

}  // namespace

Status MemoryFailedTaskStore::Record(const FailedTask& failed) {
  std::lock_guard lock(mu_);
  failed_.push_back(failed);
  return Status::Ok();
}

std::vector<FailedTask> MemoryFailedTaskStore::All() const {
  std::lock_guard lock(mu_);
  return failed_;
}

RedisFailedTaskStore::RedisFailedTaskStore(HttpRedis& redis, std::string key, int64_t max_entries)
    : redis_(redis), key_(std::move(key)), max_entries_(std::max<int64_t>(1, max_entries)) {}

Status RedisFailedTaskStore::Record(const FailedTask& failed) {
  const std::string json = FailedTaskJson(failed).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Push and trim in one transaction, so the list never grows past max_entries.
  STRATUS_ASSIGN_OR_RETURN(
      auto replies, redis_.MultiExec({{"LPUSH", key_, json}, {"LTRIM", key_, "0", std::to_string(max_entries_ - 1)}}));
  for (const auto& reply : replies) STRATUS_RETURN_IF_ERROR(reply.status());
  return Status::Ok();
}

// ---- JobServer ----

namespace {

constexpr std::string_view kJson = "application/json";
// The whole body of every 401: nothing the caller sent, nothing about the issuer.
constexpr std::string_view kRefusedText = "missing or invalid OIDC token";
constexpr size_t kLoggedFieldBytes = 64;
constexpr size_t kLoggedReasonBytes = 160;
constexpr size_t kAuthThreads = 2;

// `text` for a log line: control and non-ASCII bytes become '?', at most `cap` bytes.
std::string Sanitized(std::string_view text, size_t cap = kLoggedFieldBytes) {
  std::string out;
  for (size_t i = 0; i < text.size() && out.size() < cap; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  if (text.size() > cap) out += "...";
  return out;
}

// What a request carried, copied off the connection so the blocking work owns it.
struct Delivery {
  std::string job;                             // from the path
  std::shared_ptr<const VerifiedToken> token;  // verified from the header, before the body was read
  std::string body;
  std::map<std::string, std::string> headers;  // the X-CloudTasks-* ones
};

// What the blocking work decided; turned into an HTTP response back on the event loop.
struct Answer {
  int status = 200;
  nlohmann::json body;
  std::optional<std::chrono::seconds> retry_after;
};

Answer ErrorAnswer(int status, std::string message) {
  return {status, {{"error", std::move(message)}}, {}};
}

// The request's fields for the log line; what the payload and headers said so far.
struct LogFields {
  nlohmann::json fields = nlohmann::json::object();
  std::string outcome;
  std::string error;
};

std::string HeaderOf(const http::Request& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  return it == req.end() ? "" : std::string(it->value().data(), it->value().size());
}

int IntOr0(const std::string& text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() ? v : 0;
}

// "1700000000.123456" (seconds since the epoch, any number of fraction digits).
std::optional<std::chrono::system_clock::time_point> ParseEta(const std::string& text) {
  size_t dot = text.find('.');
  std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  int64_t secs = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  if (whole.empty() || ec != std::errc() || p != whole.data() + whole.size()) return std::nullopt;
  int64_t micros = 0;
  for (size_t i = 0; i < 6; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    micros = micros * 10 + (c - '0');
  }
  return std::chrono::system_clock::time_point(std::chrono::seconds(secs) + std::chrono::microseconds(micros));
}

// The Redis time one delivery may still spend (IdempotencyOptions::redis_budget): each
// phase (the claim, then the completion or release) gets a deadline of now + what is left,
// and the time it took is taken off.
class RedisBudget {
 public:
  explicit RedisBudget(std::chrono::milliseconds total) : left_(total) {}
  template <typename F>
  auto Spend(F&& phase) {
    auto start = std::chrono::steady_clock::now();
    auto result = phase(start + left_);
    left_ -= std::max(std::chrono::steady_clock::duration::zero(), std::chrono::steady_clock::now() - start);
    return result;
  }

 private:
  std::chrono::steady_clock::duration left_;
};

// Names this delivery in its claim: queue, task and attempt from the X-CloudTasks-* headers
// (bounded); empty when there is no task name, so the manager draws a random one.
std::string OwnerOf(const std::map<std::string, std::string>& headers) {
  const std::string& task = headers.at("X-CloudTasks-TaskName");
  if (task.empty()) return "";
  auto bounded = [](const std::string& s) { return s.substr(0, 512); };
  return bounded(headers.at("X-CloudTasks-QueueName")) + "/" + bounded(task) + "#" +
         bounded(headers.at("X-CloudTasks-TaskRetryCount"));
}

// The sent key must be the one the server computes from the job and the data: a key taken
// as sent could be aimed at another task's (or job's) result.
Status CheckIdempotencyKey(const std::string& job, const nlohmann::json& data, const std::string& sent) {
  if (sent.size() > kMaxIdempotencyKeyBytes) {
    return InvalidArgument("\"idempotencyKey\" is longer than " + std::to_string(kMaxIdempotencyKeyBytes) + " bytes");
  }
  auto expected = IdempotencyKey(job, data);
  if (!expected.ok()) return InvalidArgument("\"data\" has no canonical form: " + expected.status().message());
  if (sent != *expected) {
    return InvalidArgument(
        "\"idempotencyKey\" does not match jobName and data: it must be the SHA-256 hex of jobName, a newline and "
        "the RFC 8785 canonical JSON of data");
  }
  return Status::Ok();
}

}  // namespace

struct JobServer::Impl {
  JobServerOptions options;
  std::map<std::string, JobHandler> handlers;
  http::Router router;
  std::unique_ptr<http::EventLoops> loops;
  std::unique_ptr<asio::thread_pool> pool;
  std::unique_ptr<asio::thread_pool> auth_pool;  // tokens waiting for their issuer's keys
  std::string job_prefix;                        // "/api/jobs/", normalised
  std::mutex refused_mu;                         // the refused-token log budget
  std::chrono::steady_clock::time_point refused_window{};
  int refused_in_window = 0;
  int64_t refused_suppressed = 0;
  std::unique_ptr<http::Server> server;
  std::mutex lifecycle_mu;  // Start and Stop
  bool started = false;
  uint16_t port = 0;

  Status AddRoutes();
  asio::awaitable<http::Response> Serve(http::RequestContext& ctx);
  Answer Process(const Delivery& d, LogFields* log);
  Status Authenticate(const Delivery& d);
  // The header hook: verifies the bearer token before the body is read.
  asio::awaitable<std::optional<http::Response>> CheckCaller(const http::Request& req, std::any* early);
  StatusOr<VerifiedToken> VerifyBearer(const std::string& authorization,
                                       std::chrono::steady_clock::time_point deadline);
  bool Allowed(const VerifiedToken& token) const;
  void LogRefused(const http::Request& req, const Status& why);
  Answer RunJob(const JobHandler& handler, const JobContext& ctx, const nlohmann::json& data, const std::string& owner,
                RedisBudget& budget, LogFields* log);
  Answer Duplicate(const IdempotencyClaim& claim, LogFields* log);
  Answer PermanentAnswer(const std::string& error, bool duplicate);
  void RecordFailure(const JobContext& ctx, const nlohmann::json& data, const std::string& error);
  void Log(const LogFields& log, int status, double ms) const;
};

namespace {

http::Response ToResponse(const http::Request& req, const Answer& a) {
  auto res = http::MakeResponse(req, static_cast<beast::http::status>(a.status),
                                a.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
  if (a.retry_after)
    res.set(beast::http::field::retry_after, std::to_string(std::max<int64_t>(0, a.retry_after->count())));
  if (a.status == 401) res.set(beast::http::field::www_authenticate, "Bearer");
  return res;
}

Delivery Capture(const http::RequestContext& ctx) {
  Delivery d;
  d.job = ctx.Param("job");
  if (auto token = std::any_cast<std::shared_ptr<const VerifiedToken>>(&ctx.early)) d.token = *token;
  d.body = ctx.request.body();
  for (const char* name :
       {"X-CloudTasks-QueueName", "X-CloudTasks-TaskName", "X-CloudTasks-TaskRetryCount",
        "X-CloudTasks-TaskExecutionCount", "X-CloudTasks-TaskETA", "X-CloudTasks-TaskPreviousResponse",
        "X-CloudTasks-TaskRetryReason", "X-CloudScheduler-ScheduleTime"}) {
    d.headers[name] = HeaderOf(ctx.request, name);
  }
  return d;
}

JobContext ContextOf(const Delivery& d, const std::string& idempotency_key) {
  JobContext c;
  c.job_name = d.job;
  c.idempotency_key = idempotency_key;
  c.queue = d.headers.at("X-CloudTasks-QueueName");
  c.task = d.headers.at("X-CloudTasks-TaskName");
  c.retry_count = IntOr0(d.headers.at("X-CloudTasks-TaskRetryCount"));
  c.execution_count = IntOr0(d.headers.at("X-CloudTasks-TaskExecutionCount"));
  c.eta = ParseEta(d.headers.at("X-CloudTasks-TaskETA"));
  c.previous_response = IntOr0(d.headers.at("X-CloudTasks-TaskPreviousResponse"));
  c.retry_reason = d.headers.at("X-CloudTasks-TaskRetryReason");
  if (d.token) c.token = *d.token;
  return c;
}

// A Cloud Scheduler tick's run has its own claim: the payload's key and the tick's time (as
// stratus formats it, so one tick's retries agree). Without the header the key is unchanged.
StatusOr<std::string> ClaimKeyOf(const Delivery& d, const std::string& payload_key, JobContext* ctx) {
  const std::string& tick = d.headers.at("X-CloudScheduler-ScheduleTime");
  if (tick.empty()) return payload_key;
  auto t = ParseTimestamp(tick);
  if (!t.ok()) return InvalidArgument("X-CloudScheduler-ScheduleTime is not an RFC 3339 time");
  ctx->schedule_time = std::chrono::system_clock::time_point(std::chrono::microseconds(*t));
  return payload_key + "@" + FormatTimestamp(*t);
}

struct Payload {
  nlohmann::json data;
  std::string idempotency_key;
};

// {data: object, idempotencyKey: string, jobName: string naming the job in the path}.
StatusOr<Payload> ParsePayload(const Delivery& d) {
  auto body = ParseJsonBody(d.body);
  if (!body.ok()) return InvalidArgument("the body is not JSON: " + body.status().message());
  if (!body->is_object() || d.body.empty()) return InvalidArgument("the body must be a JSON object");
  auto data = body->find("data");
  if (data == body->end() || !data->is_object()) return InvalidArgument("\"data\" must be an object");
  auto key = body->find("idempotencyKey");
  if (key == body->end() || !key->is_string() || key->get<std::string>().empty()) {
    return InvalidArgument("\"idempotencyKey\" must be a non-empty string");
  }
  auto job = body->find("jobName");
  if (job == body->end() || !job->is_string()) return InvalidArgument("\"jobName\" must be a string");
  if (*job != d.job) {
    return InvalidArgument("\"jobName\" " + job->dump() + " does not match the job in the path (" + d.job + ")");
  }
  return Payload{std::move(*data), key->get<std::string>()};
}

bool StartsWithBearer(const std::string& header) {
  if (header.size() < 7) return false;
  std::string scheme = header.substr(0, 7);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "bearer ";
}

}  // namespace

// The token was verified by CheckCaller before the body was read; this only makes sure.
Status JobServer::Impl::Authenticate(const Delivery& d) {
  if (!options.verifier) return Status::Ok();  // allow_unauthenticated, checked at Start
  return d.token ? Status::Ok() : Unauthenticated(std::string(kRefusedText));
}

bool JobServer::Impl::Allowed(const VerifiedToken& token) const {
  const auto& allowed = options.allowed_service_accounts;
  if (allowed.empty()) return true;  // kLocal only (Start)
  auto listed = [&](const std::string& id) {
    return !id.empty() && std::find(allowed.begin(), allowed.end(), id) != allowed.end();
  };
  return (token.email_verified && listed(token.email)) || listed(token.subject);
}

StatusOr<VerifiedToken> JobServer::Impl::VerifyBearer(const std::string& authorization,
                                                      std::chrono::steady_clock::time_point deadline) {
  if (authorization.empty()) return Unauthenticated("missing Authorization: Bearer token");
  if (!StartsWithBearer(authorization)) return Unauthenticated("the Authorization header is not a Bearer token");
  std::string_view token(authorization);
  token.remove_prefix(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  // A kid the verifier holds verifies at once, on the loop; only a token waiting for a key
  // fetch goes to auth_pool, so a flood of unknown kids never holds up the handlers' pool.
  return options.verifier->Verify(token, deadline);
}

asio::awaitable<std::optional<http::Response>> JobServer::Impl::CheckCaller(const http::Request& req, std::any* early) {
  std::string_view target(req.target().data(), req.target().size());
  if (!options.verifier || req.method() != http::Verb::post || target.substr(0, job_prefix.size()) != job_prefix) {
    co_return std::nullopt;
  }
  const auto arrived = std::chrono::steady_clock::now();
  auto authorization = std::make_shared<const std::string>(HeaderOf(req, "Authorization"));
  StatusOr<VerifiedToken> verified = VerifyBearer(*authorization, arrived);
  if (!verified.ok() && verified.status().code() == Code::kUnavailable) {
    const auto deadline = arrived + options.auth_wait;
    auto wait = [this, authorization, deadline] { return VerifyBearer(*authorization, deadline); };
    StatusOr<VerifiedToken> waited = co_await RunBlocking(*auth_pool, std::move(wait));
    verified = std::move(waited);
  }
  if (verified.ok() && !Allowed(*verified)) {
    verified = Unauthenticated("the token's service account is not allowed (email " + verified->email + ", sub " +
                               verified->subject + ")");
  }
  if (!verified.ok()) {
    LogRefused(req, verified.status());
    co_return ToResponse(req, ErrorAnswer(401, std::string(kRefusedText)));
  }
  *early = std::make_shared<const VerifiedToken>(std::move(*verified));
  co_return std::nullopt;
}

void JobServer::Impl::LogRefused(const http::Request& req, const Status& why) {
  int64_t suppressed = 0;
  {
    std::lock_guard lock(refused_mu);
    const auto now = std::chrono::steady_clock::now();
    if (now - refused_window >= std::chrono::seconds(1)) {
      refused_window = now;
      refused_in_window = 0;
    }
    if (refused_in_window >= options.refused_log_per_second) {
      ++refused_suppressed;
      return;
    }
    ++refused_in_window;
    suppressed = std::exchange(refused_suppressed, 0);
  }
  // Every field comes from the caller: printable ASCII only, and short.
  nlohmann::json fields = {{"job_path", Sanitized(std::string_view(req.target().data(), req.target().size()))},
                           {"task", Sanitized(HeaderOf(req, "X-CloudTasks-TaskName"))},
                           {"queue", Sanitized(HeaderOf(req, "X-CloudTasks-QueueName"))},
                           {"outcome", "unauthenticated"},
                           {"status", 401},
                           {"error", Sanitized(why.message(), kLoggedReasonBytes)}};
  if (suppressed > 0) fields["suppressed"] = suppressed;
  options.logger.Warn("job request refused", fields);
}

Answer JobServer::Impl::PermanentAnswer(const std::string& error, bool duplicate) {
  nlohmann::json body = {{"ok", false}, {"permanent", true}, {"error", error}};
  if (duplicate) body["duplicate"] = true;
  int status = options.permanent_answer == PermanentFailureAnswer::kStatus ? options.permanent_status : 200;
  return {status, std::move(body), {}};
}

Answer JobServer::Impl::Duplicate(const IdempotencyClaim& claim, LogFields* log) {
  if (claim.permanent_error) {
    log->outcome = "duplicate_permanent";
    log->error = *claim.permanent_error;
    return PermanentAnswer(log->error, true);
  }
  log->outcome = "duplicate";
  return {200, {{"ok", true}, {"duplicate", true}, {"result", claim.result.value_or(nullptr)}}, {}};
}

void JobServer::Impl::RecordFailure(const JobContext& ctx, const nlohmann::json& data, const std::string& error) {
  if (!options.failed_tasks) return;
  FailedTask f{ctx.job_name,    ctx.idempotency_key,
               ctx.task,        ctx.queue,
               error,           data,
               ctx.retry_count, FormatTimestamp(SystemClock().Now())};
  Status st = options.failed_tasks->Record(f);
  if (!st.ok()) {
    options.logger.Error("cannot record a failed task",
                         {{"job", ctx.job_name}, {"task", ctx.task}, {"error", st.message()}});
  }
}

Answer JobServer::Impl::RunJob(const JobHandler& handler, const JobContext& ctx, const nlohmann::json& data,
                               const std::string& owner, RedisBudget& budget, LogFields* log) {
  JobResult result;
  try {
    result = handler(ctx, data);
  } catch (...) {
    result = ClassifyException(std::current_exception());
  }
  IdempotencyManager* idem = options.idempotency.get();
  const std::string& key = ctx.idempotency_key;
  auto warn_on = [&](const Status& st, const char* what) {
    if (!st.ok()) options.logger.Warn(what, {{"job", ctx.job_name}, {"task", ctx.task}, {"error", st.message()}});
  };
  switch (result.kind) {
    case JobResult::Kind::kOk:
      if (idem) {
        warn_on(budget.Spend([&](RedisDeadline d) { return idem->Complete(key, result.result, d); }),
                "cannot mark the idempotency key done");
      }
      log->outcome = "ok";
      return {200, {{"ok", true}, {"result", result.result}}, {}};
    case JobResult::Kind::kRetryable:
      if (idem) {
        warn_on(budget.Spend([&](RedisDeadline d) { return idem->Release(key, owner, d); }),
                "cannot release the idempotency key");
      }
      log->outcome = "retry";
      log->error = result.error;
      return {503, {{"ok", false}, {"retryable", true}, {"error", result.error}}, result.retry_after};
    case JobResult::Kind::kPermanent:
      // Remembered as done, so a redelivery (Google retries any non-2xx) does not run it again.
      if (idem) {
        warn_on(budget.Spend([&](RedisDeadline d) { return idem->CompletePermanentFailure(key, result.error, d); }),
                "cannot mark the idempotency key failed");
      }
      RecordFailure(ctx, data, result.error);
      log->outcome = "permanent";
      log->error = result.error;
      return PermanentAnswer(result.error, false);
  }
  return ErrorAnswer(500, "unknown job result");
}

Answer JobServer::Impl::Process(const Delivery& d, LogFields* log) {
  log->fields = {{"job", d.job},
                 {"task", d.headers.at("X-CloudTasks-TaskName")},
                 {"queue", d.headers.at("X-CloudTasks-QueueName")},
                 {"retry_count", IntOr0(d.headers.at("X-CloudTasks-TaskRetryCount"))}};
  if (Status auth = Authenticate(d); !auth.ok()) {
    log->outcome = "unauthenticated";
    log->error = auth.message();
    return ErrorAnswer(401, auth.message());
  }
  auto payload = ParsePayload(d);
  if (!payload.ok()) {
    log->outcome = "bad_request";
    log->error = payload.status().message();
    return ErrorAnswer(400, payload.status().message());
  }
  auto handler = handlers.find(d.job);
  if (handler == handlers.end()) {
    log->outcome = "unknown_job";
    return ErrorAnswer(404, "no job named " + d.job);
  }
  if (Status key = CheckIdempotencyKey(d.job, payload->data, payload->idempotency_key); !key.ok()) {
    log->outcome = "bad_request";
    log->error = key.message();
    return ErrorAnswer(400, key.message());
  }
  JobContext ctx = ContextOf(d, payload->idempotency_key);
  auto claim_key = ClaimKeyOf(d, payload->idempotency_key, &ctx);
  if (!claim_key.ok()) {
    log->outcome = "bad_request";
    log->error = claim_key.status().message();
    return ErrorAnswer(400, claim_key.status().message());
  }
  ctx.idempotency_key = std::move(*claim_key);
  log->fields["idempotency_key"] = ctx.idempotency_key;
  const std::string owner = OwnerOf(d.headers);
  RedisBudget budget(options.idempotency ? options.idempotency->options().redis_budget : std::chrono::milliseconds(0));
  if (options.idempotency) {
    auto claim =
        budget.Spend([&](RedisDeadline dl) { return options.idempotency->Begin(ctx.idempotency_key, owner, dl); });
    if (!claim.ok()) {
      // The details (the Redis URL, its error) go to the log only.
      log->outcome = "idempotency_unavailable";
      log->error = claim.status().message();
      return {503, {{"error", "the idempotency store is unavailable; retry later"}}, options.in_progress_retry_after};
    }
    if (claim->state == IdempotencyClaim::State::kCompleted) return Duplicate(*claim, log);
    if (claim->state == IdempotencyClaim::State::kInProgress) {
      log->outcome = "in_progress";
      return {503, {{"error", "this job is already running"}}, options.in_progress_retry_after};
    }
  }
  return RunJob(handler->second, ctx, payload->data, owner, budget, log);
}

void JobServer::Impl::Log(const LogFields& log, int status, double ms) const {
  nlohmann::json fields = log.fields;
  fields["outcome"] = log.outcome;
  fields["status"] = status;
  fields["duration_ms"] = ms;
  if (!log.error.empty()) fields["error"] = log.error;
  if (log.outcome == "ok" || log.outcome == "duplicate") {
    options.logger.Info("job request", fields);
  } else if (log.outcome == "permanent") {
    options.logger.Error("job request", fields);
  } else {
    options.logger.Warn("job request", fields);
  }
}

asio::awaitable<http::Response> JobServer::Impl::Serve(http::RequestContext& ctx) {
  auto start = std::chrono::steady_clock::now();
  // Verification, Redis and the handler all block: they run on the worker pool.
  // Captures are pointers only: GCC 12 may destroy the moved-from argument twice.
  auto delivery = std::make_shared<const Delivery>(Capture(ctx));
  auto work = [this, delivery, start]() {
    LogFields log;
    Answer a = Process(*delivery, &log);
    Log(log, a.status, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    return a;
  };
  Answer answer = co_await RunBlocking(*pool, std::move(work));
  co_return ToResponse(ctx.request, answer);
}

Status JobServer::Impl::AddRoutes() {
  std::string prefix = options.path_prefix;
  if (prefix.empty() || prefix.front() != '/') prefix.insert(prefix.begin(), '/');
  if (prefix.back() != '/') prefix += '/';
  job_prefix = prefix;
  STRATUS_RETURN_IF_ERROR(router.Add(http::Route{http::Verb::post, prefix + "{job}", http::Scope::kPublic, "jobs.run",
                                                 [this](http::RequestContext& ctx) { return Serve(ctx); }}));
  return router.Add(http::Route{http::Verb::get, "/healthz", http::Scope::kPublic, "healthz",
                                [](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                                  co_return http::MakeResponse(ctx.request, beast::http::status::ok, R"({"ok":true})",
                                                               kJson);
                                }});
}

namespace {

Status CheckOptions(const JobServerOptions& o) {
  if (o.mode == JobServerMode::kProduction) {
    if (o.allow_unauthenticated) {
      return InvalidArgument("allow_unauthenticated is for local development only: set mode = JobServerMode::kLocal");
    }
    if (!o.verifier) return InvalidArgument("a JobServer needs an OidcVerifier");
    if (o.allowed_service_accounts.empty()) {
      return InvalidArgument(
          "a production JobServer needs allowed_service_accounts: the service-account email(s) your queues' "
          "oidcToken uses (or mode = JobServerMode::kLocal for local development)");
    }
  } else if (!o.verifier && !o.allow_unauthenticated) {
    return InvalidArgument("a JobServer needs an OidcVerifier (or allow_unauthenticated for local development)");
  }
  if (o.refused_log_per_second < 0) return InvalidArgument("refused_log_per_second must not be negative");
  return Status::Ok();
}

}  // namespace

JobServer::JobServer(JobServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

JobServer::~JobServer() {
  Stop();
}

void JobServer::Register(const std::string& job_name, JobHandler handler) {
  std::lock_guard lock(impl_->lifecycle_mu);
  assert(!impl_->started && "JobServer::Register after Start");
  if (!impl_->started) impl_->handlers[job_name] = std::move(handler);
}

Status JobServer::Start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mu);
  if (s.started || s.server) return FailedPrecondition("the JobServer was already started");
  STRATUS_RETURN_IF_ERROR(CheckOptions(s.options));
  if (s.router.routes().empty()) STRATUS_RETURN_IF_ERROR(s.AddRoutes());  // kept if a bind failed
  s.loops = std::make_unique<http::EventLoops>(std::max<size_t>(1, s.options.io_threads));
  s.pool = std::make_unique<asio::thread_pool>(std::max<size_t>(1, s.options.worker_threads));
  s.auth_pool = std::make_unique<asio::thread_pool>(kAuthThreads);
  http::ServerHooks hooks;
  hooks.error = [](const http::Request& req, int status, std::string message) {
    return ToResponse(req, ErrorAnswer(status, std::move(message)));
  };
  hooks.header = [&s](const http::Request& req, std::any* early) { return s.CheckCaller(req, early); };
  http::ServerOptions server_options;
  server_options.host = s.options.host;
  server_options.port = s.options.port;
  server_options.max_body_bytes = s.options.max_body_bytes;
  server_options.max_buffered_body_bytes = s.options.max_buffered_body_bytes;
  s.server = std::make_unique<http::Server>(*s.loops, s.router, std::move(hooks), server_options);
  Status listening = s.server->Start();
  if (!listening.ok()) {
    s.server.reset();
    s.pool.reset();
    s.auth_pool.reset();
    s.loops.reset();
    return listening;
  }
  s.port = s.server->port();
  s.loops->Start();
  s.started = true;
  return Status::Ok();
}

void JobServer::Stop() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mu);
  if (!s.server) return;
  // Stop accepting and stop the loops first, so nothing new reaches the pool; then let the
  // handlers already running finish (their answers go nowhere: the queue retries those
  // tasks) and drop the queued ones, which have not claimed anything yet. The loops are
  // destroyed last: pending completions and connections still refer to them.
  s.server->Stop();
  s.loops->Stop();
  s.pool->stop();
  s.pool->join();
  s.auth_pool->stop();
  s.auth_pool->join();
  s.server.reset();
  s.pool.reset();
  s.auth_pool.reset();
  s.loops.reset();
}

uint16_t JobServer::port() const {
  return impl_->port;
}

std::string JobServer::url() const {
  const std::string& host = impl_->options.host;
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "http://" + shown + ":" + std::to_string(impl_->port);
}

}  // namespace stratus::sdk
