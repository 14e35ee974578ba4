// IdempotencyManager: a claim is SET NX with a lease, a completion overwrites it with the
// result, a release deletes it (contract in idempotency.h).
#include "stratus/sdk/idempotency.h"

namespace stratus::sdk {

namespace {

constexpr std::string_view kProcessing = R"({"state":"processing"})";

// What a GET of an existing key tells Begin(); nullopt when the key has vanished.
StatusOr<std::optional<IdempotencyClaim>> ClaimFromStored(const std::optional<std::string>& stored) {
  if (!stored) return std::optional<IdempotencyClaim>();
  auto doc = nlohmann::json::parse(*stored, nullptr, false);
  std::string state = doc.is_object() ? doc.value("state", "") : "";
  IdempotencyClaim claim;
  if (state == "processing") {
    claim.state = IdempotencyClaim::State::kInProgress;
  } else if (state == "done") {
    claim.state = IdempotencyClaim::State::kCompleted;
    claim.result = doc.contains("result") ? doc["result"] : nlohmann::json();
  } else {
    return Internal("idempotency key holds a value this manager did not write");
  }
  return std::optional<IdempotencyClaim>(std::move(claim));
}

// One round of Begin(): our claim, what the holder left, or nullopt when the key vanished
// between the SET NX and the GET.
StatusOr<std::optional<IdempotencyClaim>> TryClaim(HttpRedis& redis, const std::string& full_key,
                                                   std::chrono::seconds lease) {
  auto set = redis.Command({"SET", full_key, std::string(kProcessing), "NX", "EX", std::to_string(lease.count())});
  if (!set.ok()) return set.status();
  if (!set->is_null()) return std::optional<IdempotencyClaim>(IdempotencyClaim{});
  auto stored = redis.Get(full_key);
  if (!stored.ok()) return stored.status();
  return ClaimFromStored(*stored);
}

// Redis unreachable: run the job anyway (fail-open) or refuse (fail-closed). Other errors
// (bad token, Redis error replies) are configuration faults and always returned.
StatusOr<IdempotencyClaim> OnRedisError(const Status& error, IdempotencyFailureMode mode) {
  if (error.code() == Code::kUnavailable && mode == IdempotencyFailureMode::kFailOpen) {
    return IdempotencyClaim{IdempotencyClaim::State::kClaimed, std::nullopt, true};
  }
  return error;
}

}  // namespace

IdempotencyManager::IdempotencyManager(HttpRedis& redis, IdempotencyOptions options)
    : redis_(redis), options_(std::move(options)) {}

StatusOr<IdempotencyClaim> IdempotencyManager::Begin(const std::string& key) {
  const std::string full_key = options_.prefix + key;
  // Two rounds: the key may expire or be released between our SET NX and our GET.
  for (int round = 0; round < 2; ++round) {
    auto claim = TryClaim(redis_, full_key, options_.lease);
    if (!claim.ok()) return OnRedisError(claim.status(), options_.on_redis_error);
    if (claim->has_value()) return std::move(**claim);
  }
  // The key keeps coming and going: someone else is working on it right now.
  return IdempotencyClaim{IdempotencyClaim::State::kInProgress, std::nullopt, false};
}

Status IdempotencyManager::Complete(const std::string& key, const nlohmann::json& result) {
  nlohmann::json record = {{"state", "done"}, {"result", result}};
  std::string text;
  try {
    text = record.dump();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("the job result holds a string that is not valid UTF-8");
  }
  return redis_.Command({"SET", options_.prefix + key, text, "EX", std::to_string(options_.ttl.count())}).status();
}

Status IdempotencyManager::Release(const std::string& key) {
  return redis_.Del({options_.prefix + key}).status();
}

}  // namespace stratus::sdk
