// `stratus queues apply FILE`: creates or updates every queue of a queues.yaml on a server,
// through the SDK's TaskQueue::ApplyQueue (Cloud Tasks PATCH, plus the stratus config).
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "stratus/status.h"

namespace stratus::cli {

struct QueuesApplyOptions {
  std::string file;
  std::string server = "http://127.0.0.1:8123";
  std::string project;   // overrides the file's
  std::string location;  // overrides the file's
  std::string api_token;
};

void AddQueuesApplyOptions(CLI::App& cmd, QueuesApplyOptions& o);
int RunQueuesApply(const QueuesApplyOptions& o);

// A queues.yaml as JSON: scalars that read as integers, reals or booleans become them.
StatusOr<nlohmann::json> LoadQueuesYaml(const std::string& path);

}  // namespace stratus::cli
