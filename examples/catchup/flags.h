// The example programs' flags, parsed with CLI11 as the stratus binary parses its own.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace catchup {

struct WorkerFlags {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string issuer = "http://127.0.0.1:8123";
  std::string audience;  // empty: the worker's own URL
  // Callers allowed to run jobs (the service account of the queues' oidcToken); demo.cc's by default.
  std::vector<std::string> allowed_service_accounts = {"catchup-worker@catchup-local.iam.gserviceaccount.com"};
  std::string redis_url = "http://127.0.0.1:8079";
  std::string redis_token;
  std::string permanent_answer = "status";  // "status" (422, stratus dead-letters) or "ack" (200, for Google)
  int64_t latency_ms = 5;
  double failure_rate = 0;
  double permanent_failure_rate = 0;
};

struct DemoFlags {
  std::string server = "http://127.0.0.1:8123";
  std::string service_url = "http://127.0.0.1:8080";
  std::string redis_url = "http://127.0.0.1:8079";
  std::string redis_token;
  int timeout_s = 120;
};

// Fills `flags` from argv. nullopt: go on. Otherwise the program exits with that code, its
// message written: --help prints the usage to `out` (0); a bad flag prints the error and
// the usage to `err` (non-zero).
std::optional<int> ParseWorkerFlags(int argc, const char* const* argv, WorkerFlags& flags, std::ostream& out,
                                    std::ostream& err);
std::optional<int> ParseDemoFlags(int argc, const char* const* argv, DemoFlags& flags, std::ostream& out,
                                  std::ostream& err);

}  // namespace catchup
