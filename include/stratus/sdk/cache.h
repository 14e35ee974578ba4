// stratus/sdk/cache.h — a JSON cache on HttpRedis: values stored as JSON text under a key
// prefix, each with a TTL, and deleted one by one or by pattern.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stratus/sdk/redis.h"

namespace stratus::sdk {

// `literal` with the characters Redis glob patterns give a meaning (* ? [ ] \) escaped by a
// backslash, so a pattern built around outside text matches that text only:
//   cache.DeletePattern("suggestions:" + GlobEscape(user_id) + ":*")
// deletes one user's keys even when user_id is "*".
std::string GlobEscape(std::string_view literal);

class Cache {
 public:
  explicit Cache(HttpRedis& redis, std::string prefix = "cache:");

  // nullopt on a miss (or a value that is not JSON, which is deleted).
  StatusOr<std::optional<nlohmann::json>> Get(const std::string& key);
  Status Set(const std::string& key, const nlohmann::json& value, std::chrono::seconds ttl);
  Status Delete(const std::string& key);
  // `pattern` is matched under the prefix ("user:42:*"); returns how many keys went. Escape
  // any outside text in it with GlobEscape.
  StatusOr<int64_t> DeletePattern(const std::string& pattern);
  // The cached value, or compute(), stored with `ttl` when it succeeds. A failed read is
  // returned as an error; a failed store is not (the computed value is still right).
  StatusOr<nlohmann::json> GetOrCompute(const std::string& key, std::chrono::seconds ttl,
                                        const std::function<StatusOr<nlohmann::json>()>& compute);

 private:
  HttpRedis& redis_;
  std::string prefix_;
};

}  // namespace stratus::sdk
