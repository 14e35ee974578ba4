// catchup-worker: the CatchUp app's job endpoint. Runs a stratus::sdk::JobServer with the 11
// job handlers, verifying each task's OIDC token against the queue server's issuer, with
// idempotency, a cache and a per-user rate limit kept in Redis over REST.
#include <csignal>
#include <iostream>
#include <thread>

#include "flags.h"
#include "jobs.h"
#include "stratus/sdk/idempotency.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) {
  g_stop = 1;
}

int Fail(const stratus::Status& status) {
  std::cerr << "catchup-worker: " << status.ToString() << "\n";
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace stratus::sdk;
  catchup::WorkerFlags flags;
  if (auto exit_code = catchup::ParseWorkerFlags(argc, argv, flags, std::cout, std::cerr)) return *exit_code;

  auto redis = HttpRedis::Create({.url = flags.redis_url, .token = flags.redis_token});
  if (!redis.ok()) return Fail(redis.status());
  Cache cache(**redis);
  SlidingWindowRateLimiter quota(**redis, "quota:", 600, std::chrono::minutes(1));
  catchup::JobDeps deps;
  deps.cache = &cache;
  deps.google_quota = &quota;
  deps.simulation.latency = std::chrono::milliseconds(flags.latency_ms);
  deps.simulation.retryable_failure_rate = flags.failure_rate;
  deps.simulation.permanent_failure_rate = flags.permanent_failure_rate;

  const std::string self = "http://" + flags.host + ":" + std::to_string(flags.port);
  auto verifier =
      OidcVerifier::Create({.issuers = {flags.issuer}, .audiences = {flags.audience.empty() ? self : flags.audience}});
  if (!verifier.ok()) return Fail(verifier.status());
  JobServerOptions o;
  o.host = flags.host;
  o.port = flags.port;
  o.verifier = std::move(verifier).value();
  o.allowed_service_accounts = flags.allowed_service_accounts;
  o.idempotency = std::make_shared<IdempotencyManager>(**redis);
  o.failed_tasks = std::make_shared<RedisFailedTaskStore>(**redis);
  o.permanent_answer =
      flags.permanent_answer == "ack" ? PermanentFailureAnswer::kAcknowledge : PermanentFailureAnswer::kStatus;
  JobServer server(std::move(o));
  catchup::RegisterJobs(server, deps);
  if (auto s = server.Start(); !s.ok()) return Fail(s);
  std::cout << "catchup-worker: jobs on " << server.url() << "/api/jobs/{job}" << std::endl;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  std::cout << "catchup-worker: stopped after " << deps.stats->Total() << " executions" << std::endl;
  return 0;
}
