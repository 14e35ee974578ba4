// `stratus queues apply FILE`: creates or updates every queue of a queues.yaml on a server
// (Cloud Tasks PATCH with the file's fields as the update mask, plus the stratus config).
// --dry-run prints what would change and changes nothing; --prune also deletes the queues of
// the location that the file does not name.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stratus/status.h"

namespace stratus::cli {

// A queues.yaml as JSON: scalars that read as integers, reals or booleans become them.
StatusOr<nlohmann::json> LoadQueuesYaml(const std::string& path);

// The differences between the fields a file gives and a queue as the server has it (with
// its stratus config under "stratus"): one "path: old -> new" line per field that differs.
// Durations ("60s" and "60.000s") and numbers (10 and 10.0) compare by value.
std::vector<std::string> QueueDiff(const nlohmann::json& wanted, const nlohmann::json& current);

}  // namespace stratus::cli
