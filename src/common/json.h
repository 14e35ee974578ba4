// Reading protobuf-JSON request bodies the way Google's REST front end does: lowerCamelCase
// or original snake_case names, int64 as numbers or strings, unknown fields rejected, and
// its error texts ("Invalid JSON payload received. Unknown name ...", "Invalid value at ...").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "stratus/status.h"

namespace stratus {

using Json = nlohmann::json;

inline constexpr int kMaxJsonDepth = 100;

// True when no array or object in `body` nests deeper than `max_depth`; a scan of the bytes,
// so a hostile body is refused before a parser builds (or recurses into) any of it.
bool JsonNestingWithin(std::string_view body, int max_depth);

// Parses a request body; an empty body is an empty object. Never throws; nesting deeper than
// kMaxJsonDepth is refused.
StatusOr<Json> ParseJsonBody(std::string_view body);

// "maxBurstSize" -> "max_burst_size".
std::string CamelToSnake(std::string_view camel);

struct EnumName {
  std::string_view name;
  int value;
};

class JsonObject {
 public:
  // `path` names the object in error messages, in proto form ("queue.rate_limits").
  JsonObject(const Json* json, std::string path) : json_(json), path_(std::move(path)) {}

  // Builds a reader for a value that must be an object (null reads as an empty object).
  static StatusOr<JsonObject> Of(const Json& value, std::string path);
  // The same for a request's root message: Google's texts for a non-object root.
  static StatusOr<JsonObject> Root(const Json& value, std::string path);

  // Fails on any member not in `fields` (lowerCamel names; snake_case also accepted).
  Status CheckFields(std::initializer_list<std::string_view> fields) const;
  bool Has(std::string_view field) const { return Find(field) != nullptr; }
  // The raw member (camel or snake name), nullptr when absent or null.
  const Json* Raw(std::string_view field) const { return Find(field); }
  // "queue.rate_limits.max_burst_size" for messages.
  std::string FieldPath(std::string_view field) const;
  const std::string& path() const { return path_; }

  Status GetString(std::string_view field, std::optional<std::string>* out) const;
  Status GetInt(std::string_view field, std::optional<int64_t>* out) const;
  // An int32 field: out-of-range values are refused as Google does.
  Status GetInt32(std::string_view field, std::optional<int64_t>* out) const;
  Status GetDouble(std::string_view field, std::optional<double>* out) const;
  Status GetDuration(std::string_view field, std::optional<Micros>* out) const;
  Status GetTimestamp(std::string_view field, std::optional<Micros>* out) const;
  Status GetBytes(std::string_view field, std::optional<std::string>* out) const;
  Status GetEnum(std::string_view field, const std::vector<EnumName>& names, std::string_view type,
                 std::optional<int>* out) const;
  Status GetStringMap(std::string_view field, std::optional<std::map<std::string, std::string>>* out) const;
  // Unset (absent or null) gives nullopt.
  StatusOr<std::optional<JsonObject>> GetObject(std::string_view field) const;

 private:
  const Json* Find(std::string_view field) const;
  Status InvalidValue(std::string_view field, std::string_view type, const Json& value) const;

  const Json* json_;
  std::string path_;
};

}  // namespace stratus
