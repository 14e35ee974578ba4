// Redis's own number and pattern rules, reproduced exactly: which strings are integers
// (string2ll), which are floats (strtod with Redis's checks), how doubles print, and glob
// matching for KEYS/SCAN MATCH.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stratus::kv {

// Strict decimal int64: no sign other than '-', no leading zeros, no spaces.
std::optional<int64_t> ParseInt(std::string_view s);
// A float as Redis reads scores and increments: strtod over the whole string, no leading
// space, no NaN; "inf"/"-inf" allowed.
std::optional<double> ParseDouble(std::string_view s);
// As Redis 7.0 replies a double: "%.17g", "inf", "-inf".
std::string FormatDouble(double d);

// Redis's stringmatchlen: '*', '?', '[a-z]', '[^x]', '\\' escapes.
bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);

std::string ToLower(std::string_view s);
bool IEquals(std::string_view a, std::string_view b);

}  // namespace stratus::kv
