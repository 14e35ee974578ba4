// IdempotencyManager: a claim is SET NX with a lease and the claimant's owner token, a
// completion overwrites it with a versioned outcome, a release deletes our own claim
// (contract and stored forms in idempotency.h).
#include "stratus/sdk/idempotency.h"

#include "common/ids.h"

namespace stratus::sdk {

namespace {

using Json = nlohmann::json;

constexpr int kVersion = 1;

// Dumps that never throw: an owner built from request headers may hold bytes that are not
// UTF-8. The same owner always gives the same text, which is what Begin() compares.
std::string Text(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string ClaimText(const std::string& owner) {
  return Text(Json{{"v", kVersion}, {"state", "processing"}, {"owner", owner}});
}

// A completed record from before version 1: {"state":"done","result":…}, where a permanent
// failure was stored as the result {"failed": error}.
IdempotencyClaim LegacyDone(const Json& doc) {
  IdempotencyClaim claim{IdempotencyClaim::State::kCompleted, std::nullopt, std::nullopt, false};
  Json result = doc.contains("result") ? doc["result"] : Json();
  if (result.is_object() && result.size() == 1 && result.contains("failed") && result["failed"].is_string()) {
    claim.permanent_error = result["failed"].get<std::string>();
  } else {
    claim.result = std::move(result);
  }
  return claim;
}

// What a GET of an existing key that is not our claim tells Begin().
StatusOr<IdempotencyClaim> ClaimFromStored(const std::string& stored) {
  auto doc = Json::parse(stored, nullptr, false);
  if (!doc.is_object() || !doc.contains("state") || !doc["state"].is_string()) {
    return Internal("idempotency key holds a value this manager did not write");
  }
  const std::string state = doc["state"].get<std::string>();
  if (state == "processing") return IdempotencyClaim{IdempotencyClaim::State::kInProgress, {}, {}, false};
  if (state == "done" && !doc.contains("v")) return LegacyDone(doc);
  if (state == "done" && doc["v"] == kVersion) {
    std::string outcome = doc.value("outcome", "");
    IdempotencyClaim claim{IdempotencyClaim::State::kCompleted, std::nullopt, std::nullopt, false};
    if (outcome == "ok") {
      claim.result = doc.contains("result") ? doc["result"] : Json();
      return claim;
    }
    if (outcome == "permanent_failure" && doc.contains("error") && doc["error"].is_string()) {
      claim.permanent_error = doc["error"].get<std::string>();
      return claim;
    }
  }
  return Internal("idempotency key holds a value this manager did not write");
}

// Redis unreachable: run the job anyway (fail-open) or refuse (fail-closed). Other errors
// (bad token, Redis error replies) are configuration faults and always returned.
StatusOr<IdempotencyClaim> OnRedisError(const Status& error, IdempotencyFailureMode mode) {
  if (error.code() == Code::kUnavailable && mode == IdempotencyFailureMode::kFailOpen) {
    return IdempotencyClaim{IdempotencyClaim::State::kClaimed, std::nullopt, std::nullopt, true};
  }
  return error;
}

Status CheckKey(const std::string& key) {
  if (key.empty()) return InvalidArgument("an idempotency key must not be empty");
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return InvalidArgument("an idempotency key is at most " + std::to_string(kMaxIdempotencyKeyBytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

IdempotencyManager::IdempotencyManager(HttpRedis& redis, IdempotencyOptions options)
    : redis_(redis), options_(std::move(options)) {}

StatusOr<IdempotencyClaim> IdempotencyManager::Begin(const std::string& key, const std::string& owner,
                                                     RedisDeadline deadline) {
  STRATUS_RETURN_IF_ERROR(CheckKey(key));
  const std::string full_key = options_.prefix + key;
  const std::string claim = ClaimText(owner.empty() ? "random:" + RandomHex(16) : owner);
  const std::string lease = std::to_string(options_.lease.count());
  // Two rounds: the key may expire or be released between our SET NX and our GET.
  for (int round = 0; round < 2; ++round) {
    auto set = redis_.Command({"SET", full_key, claim, "NX", "EX", lease}, deadline);
    if (!set.ok()) return OnRedisError(set.status(), options_.on_redis_error);
    if (!set->is_null()) return IdempotencyClaim{};
    auto stored = redis_.Command({"GET", full_key}, deadline);
    if (!stored.ok()) return OnRedisError(stored.status(), options_.on_redis_error);
    if (stored->is_null()) continue;
    if (!stored->is_string())
      return Internal("GET of an idempotency key answered a " + std::string(stored->type_name()));
    // Our own claim: an earlier SET NX of this call was applied and its reply lost.
    if (stored->get_ref<const std::string&>() == claim) return IdempotencyClaim{};
    return ClaimFromStored(stored->get<std::string>());
  }
  // The key keeps coming and going: someone else is working on it right now.
  return IdempotencyClaim{IdempotencyClaim::State::kInProgress, std::nullopt, std::nullopt, false};
}

Status IdempotencyManager::Store(const std::string& key, const Json& record, RedisDeadline deadline) {
  STRATUS_RETURN_IF_ERROR(CheckKey(key));
  std::string text;
  try {
    text = record.dump();
  } catch (const Json::exception&) {
    return InvalidArgument("the job outcome holds a string that is not valid UTF-8");
  }
  return redis_.Command({"SET", options_.prefix + key, text, "EX", std::to_string(options_.ttl.count())}, deadline)
      .status();
}

Status IdempotencyManager::Complete(const std::string& key, const Json& result, RedisDeadline deadline) {
  return Store(key, {{"v", kVersion}, {"state", "done"}, {"outcome", "ok"}, {"result", result}}, deadline);
}

Status IdempotencyManager::CompletePermanentFailure(const std::string& key, const std::string& error,
                                                    RedisDeadline deadline) {
  return Store(key, {{"v", kVersion}, {"state", "done"}, {"outcome", "permanent_failure"}, {"error", error}}, deadline);
}

Status IdempotencyManager::Release(const std::string& key, const std::string& owner, RedisDeadline deadline) {
  STRATUS_RETURN_IF_ERROR(CheckKey(key));
  const std::string full_key = options_.prefix + key;
  if (!owner.empty()) {
    STRATUS_ASSIGN_OR_RETURN(Json stored, redis_.Command({"GET", full_key}, deadline));
    if (!stored.is_string() || stored.get_ref<const std::string&>() != ClaimText(owner)) return Status::Ok();
  }
  return redis_.Command({"DEL", full_key}, deadline).status();
}

}  // namespace stratus::sdk
