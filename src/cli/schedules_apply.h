// `stratus schedules apply FILE`: creates or updates every Cloud Scheduler job of a schedules
// file on a server, through its Cloud Scheduler v1 REST API (GET, then POST to create or PATCH
// with an updateMask of the fields the file gives). Applying the same file twice changes
// nothing the second time.
//
// The file (examples/catchup/schedules.yaml):
//   project: P            # --project overrides it; neither: $STRATUS_PROJECT, else "local"
//   location: L           # default: us-central1
//   jobs:
//     JOB_ID:             # Job fields as the REST API spells them, and:
//       stratusQueue: Q   #   a queue id here is the queue of this project and location
//       httpTarget:
//         bodyText: ...   #   the body as text (the API's `body` is base64)
//         bodyJson: {...} #   the body as JSON (Content-Type application/json unless set)
//         stratusJob: {jobName: J, data: {...}}  # a stratus JobServer's payload, as bodyJson,
//                         #   with its idempotencyKey computed
// String values may name environment variables: ${NAME} or ${NAME:-default}.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "stratus/status.h"

namespace stratus::cli {

struct SchedulesApplyOptions {
  std::string file;
  std::string server = "http://127.0.0.1:8123";
  std::string project;   // overrides the file's
  std::string location;  // overrides the file's
  std::string api_token;
};

void AddSchedulesApplyOptions(CLI::App& cmd, SchedulesApplyOptions& o);
int RunSchedulesApply(const SchedulesApplyOptions& o);

// A schedules file's jobs as the REST Job bodies to apply, keyed by job id: environment
// variables expanded, bodyText/bodyJson encoded, a short stratusQueue made a queue name.
StatusOr<std::map<std::string, nlohmann::json>> LoadSchedules(const std::string& path, const std::string& project,
                                                              const std::string& location);

// ${NAME} and ${NAME:-default} replaced from the environment; INVALID_ARGUMENT for an unset
// variable without a default, or an unclosed ${.
StatusOr<std::string> ExpandEnv(const std::string& text);

}  // namespace stratus::cli
