#include "flags.h"

#include <CLI/CLI.hpp>

namespace catchup {

namespace {

std::optional<int> Parse(CLI::App& app, int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  app.failure_message(CLI::FailureMessage::help);  // a bad flag shows the usage with the error
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> ParseWorkerFlags(int argc, const char* const* argv, WorkerFlags& f, std::ostream& out,
                                    std::ostream& err) {
  CLI::App app{"catchup-worker: the CatchUp app's job endpoint (POST /api/jobs/{job})"};
  // clang-format off
  app.add_option("--host", f.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", f.port, "Port to listen on (0 picks a free one)")->capture_default_str();
  app.add_option("--issuer", f.issuer, "OIDC issuer whose tokens are trusted (the queue server)")->capture_default_str();
  app.add_option("--audience", f.audience, "Audience the tokens must carry (default: this worker's URL)");
  app.add_option("--allowed-service-account", f.allowed_service_accounts,
                 "Service account (email or sub) whose tokens may run jobs; repeat for several")
      ->capture_default_str();
  app.add_option("--redis-url", f.redis_url, "Upstash REST endpoint for idempotency, cache and quota")->capture_default_str();
  app.add_option("--redis-token", f.redis_token, "Bearer token of the Redis REST endpoint");
  app.add_option("--permanent-answer", f.permanent_answer, "A permanent failure answers 422 (status: stratus dead-letters it) or 200 (ack: for Google)")->capture_default_str()->check(CLI::IsMember({"status", "ack"}));
  app.add_option("--latency-ms", f.latency_ms, "Simulated Google API latency")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{60000}));
  app.add_option("--failure-rate", f.failure_rate, "Share of simulated calls that fail with a retryable 503")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--permanent-failure-rate", f.permanent_failure_rate, "Share that fail with a permanent 400")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  // clang-format on
  return Parse(app, argc, argv, out, err);
}

std::optional<int> ParseDemoFlags(int argc, const char* const* argv, DemoFlags& f, std::ostream& out,
                                  std::ostream& err) {
  CLI::App app{"catchup-demo: enqueues every CatchUp job type and reports what happened to each"};
  // clang-format off
  app.add_option("--server", f.server, "Cloud Tasks API base URL")->capture_default_str();
  app.add_option("--service-url", f.service_url, "The worker's base URL, where tasks are sent")->capture_default_str();
  app.add_option("--redis-url", f.redis_url, "Upstash REST endpoint the worker records outcomes in")->capture_default_str();
  app.add_option("--redis-token", f.redis_token, "Bearer token of the Redis REST endpoint");
  app.add_option("--timeout-s", f.timeout_s, "How long to wait for every job")->capture_default_str()->check(CLI::Range(1, 3600));
  // clang-format on
  return Parse(app, argc, argv, out, err);
}

}  // namespace catchup
