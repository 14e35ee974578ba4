// catchup-worker: the CatchUp app's job endpoint. Runs a stratus::sdk::JobServer with the 11
// job handlers, verifying each task's OIDC token against the queue server's issuer, with
// idempotency, a cache and a per-user rate limit kept in Redis over REST.
#include <csignal>
#include <iostream>
#include <thread>

#include "args.h"
#include "jobs.h"
#include "stratus/sdk/idempotency.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace stratus::sdk;
  catchup::Args args(argc, argv,
                     {{"host", "127.0.0.1"},
                      {"port", "8080"},
                      {"issuer", "http://127.0.0.1:8123"},
                      {"audience", ""},
                      {"redis-url", "http://127.0.0.1:8079"},
                      {"redis-token", ""},
                      {"permanent-answer", "status"},
                      {"latency-ms", "5"},
                      {"failure-rate", "0"},
                      {"permanent-failure-rate", "0"}});
  auto redis = HttpRedis::Create({.url = args.Get("redis-url"), .token = args.Get("redis-token")});
  if (!redis.ok()) {
    std::cerr << "catchup-worker: " << redis.status().ToString() << "\n";
    return 2;
  }
  Cache cache(**redis);
  SlidingWindowRateLimiter quota(**redis, "quota:", 600, std::chrono::minutes(1));
  catchup::JobDeps deps;
  deps.cache = &cache;
  deps.google_quota = &quota;
  deps.simulation.latency = std::chrono::milliseconds(static_cast<int64_t>(args.Number("latency-ms")));
  deps.simulation.retryable_failure_rate = args.Number("failure-rate");
  deps.simulation.permanent_failure_rate = args.Number("permanent-failure-rate");

  const std::string self = "http://" + args.Get("host") + ":" + args.Get("port");
  auto verifier = OidcVerifier::Create(
      {.issuers = {args.Get("issuer")}, .audiences = {args.Get("audience").empty() ? self : args.Get("audience")}});
  if (!verifier.ok()) {
    std::cerr << "catchup-worker: " << verifier.status().ToString() << "\n";
    return 2;
  }
  JobServerOptions o;
  o.host = args.Get("host");
  o.port = static_cast<uint16_t>(args.Number("port"));
  o.verifier = std::move(verifier).value();
  o.allowed_service_accounts = {"catchup-worker@catchup-local.iam.gserviceaccount.com"};  // demo.cc's tasks
  o.idempotency = std::make_shared<IdempotencyManager>(**redis);
  o.failed_tasks = std::make_shared<RedisFailedTaskStore>(**redis);
  o.permanent_answer =
      args.Get("permanent-answer") == "ack" ? PermanentFailureAnswer::kAcknowledge : PermanentFailureAnswer::kStatus;
  JobServer server(std::move(o));
  catchup::RegisterJobs(server, deps);
  if (auto s = server.Start(); !s.ok()) {
    std::cerr << "catchup-worker: " << s.ToString() << "\n";
    return 1;
  }
  std::cout << "catchup-worker: jobs on " << server.url() << "/api/jobs/{job}" << std::endl;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  std::cout << "catchup-worker: stopped after " << deps.stats->Total() << " executions" << std::endl;
  return 0;
}
