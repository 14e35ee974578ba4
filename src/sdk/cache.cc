// Cache: JSON text under prefix+key with a TTL (SET ... EX), read back with GET.
#include "stratus/sdk/cache.h"

namespace stratus::sdk {

namespace {

// JSON text of a value; strings that are not UTF-8 cannot be written as JSON.
StatusOr<std::string> JsonText(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("the cached value holds a string that is not valid UTF-8");
  }
}

}  // namespace

std::string GlobEscape(std::string_view literal) {
  std::string out;
  out.reserve(literal.size());
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Cache::Cache(HttpRedis& redis, std::string prefix) : redis_(redis), prefix_(std::move(prefix)) {}

StatusOr<std::optional<nlohmann::json>> Cache::Get(const std::string& key) {
  STRATUS_ASSIGN_OR_RETURN(auto text, redis_.Get(prefix_ + key));
  if (!text.has_value()) return std::optional<nlohmann::json>();
  auto value = nlohmann::json::parse(*text, nullptr, false);
  if (value.is_discarded()) {
    // Someone else's value under our prefix: drop it so the next Set starts clean.
    STRATUS_RETURN_IF_ERROR(Delete(key));
    return std::optional<nlohmann::json>();
  }
  return std::optional<nlohmann::json>(std::move(value));
}

Status Cache::Set(const std::string& key, const nlohmann::json& value, std::chrono::seconds ttl) {
  STRATUS_ASSIGN_OR_RETURN(auto text, JsonText(value));
  return redis_.Command({"SET", prefix_ + key, text, "EX", std::to_string(ttl.count())}).status();
}

Status Cache::Delete(const std::string& key) {
  return redis_.Del({prefix_ + key}).status();
}

StatusOr<int64_t> Cache::DeletePattern(const std::string& pattern) {
  return redis_.DeletePattern(prefix_ + pattern);
}

StatusOr<nlohmann::json> Cache::GetOrCompute(const std::string& key, std::chrono::seconds ttl,
                                             const std::function<StatusOr<nlohmann::json>()>& compute) {
  STRATUS_ASSIGN_OR_RETURN(auto cached, Get(key));
  if (cached.has_value()) return std::move(*cached);
  STRATUS_ASSIGN_OR_RETURN(auto value, compute());
  // The value is right even when it could not be cached; the next call computes it again.
  Set(key, value, ttl).IgnoreError();
  return value;
}

}  // namespace stratus::sdk
