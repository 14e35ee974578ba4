// Time in stratus is int64 microseconds since the Unix epoch (UTC); durations are int64
// microseconds. These helpers read and write the google.protobuf Timestamp and Duration JSON
// forms that the Cloud Tasks REST API uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stratus/status.h"

namespace stratus {

using Micros = int64_t;
constexpr Micros kMicrosPerSecond = 1'000'000;

// RFC 3339 with any offset ("2026-11-22T04:35:21.250Z", "...+01:00"), 0-9 fraction digits.
// Sub-microsecond digits are truncated.
StatusOr<Micros> ParseTimestamp(std::string_view text);
// Always UTC with a trailing Z; 0, 3 or 6 fraction digits, the fewest that are exact.
std::string FormatTimestamp(Micros t);

// "30s", "0.100s", "10.5s", "-1.5s" (the protobuf JSON Duration form).
StatusOr<Micros> ParseDuration(std::string_view text);
// "30s", "0.100s", "10.500s": 0, 3 or 6 fraction digits, the fewest that are exact.
std::string FormatDuration(Micros d);

// Human flags: "1h", "30m", "10s", "500ms", "7d", or a bare number of seconds.
StatusOr<Micros> ParseHumanDuration(std::string_view text);

}  // namespace stratus
