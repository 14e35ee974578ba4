// stratus/sdk/redis.h — an Upstash REST client: Redis commands over plain HTTP, so a
// serverless app keeps no TCP connection to Redis that a frozen container could lose.
//
// Works against stratus's Redis REST listener (embedded engine or proxy) and against
// Upstash itself. Every call blocks the calling thread until the reply; a client may be
// shared by threads. Network errors (connect, timeout, a cut connection) are retried with
// exponential backoff; Redis errors and HTTP errors are not.
//
// Deadlines: without one a call makes at most 1 + max_retries exchanges of up to `timeout`
// each. With a deadline (Command, Pipeline, MultiExec) the call ends by it, whatever
// max_retries says: each exchange gets at most the time left, no backoff sleeps past it, and
// a call whose deadline has passed fails at once without sending. A retried exchange may
// repeat a command the server had applied (SET NX included), so callers that must know
// whether their write happened store something that names them (IdempotencyManager does).
//
// Errors: a Redis error reply ("WRONGTYPE ...", "ERR ...") is kInvalidArgument with Redis's
// text; a rejected token kUnauthenticated; anything unreachable kUnavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stratus/status.h"

namespace stratus::sdk {

struct RedisOptions {
  std::string url = "http://127.0.0.1:8079";  // the REST endpoint (UPSTASH_REDIS_REST_URL)
  std::string token;                          // UPSTASH_REDIS_REST_TOKEN
  bool base64 = false;                        // ask for `Upstash-Encoding: base64` replies
  int max_retries = 3;                        // network errors only, and never past a deadline
  std::chrono::milliseconds retry_base{50};   // doubled per retry
  std::chrono::milliseconds timeout{5000};    // per HTTP exchange
  std::string ca_file;                        // extra CA for https endpoints
};

using RedisCommand = std::vector<std::string>;

// When a call, retries included, must be over.
using RedisDeadline = std::chrono::steady_clock::time_point;
inline constexpr RedisDeadline kNoRedisDeadline = RedisDeadline::max();

class HttpRedis {
 public:
  static StatusOr<std::unique_ptr<HttpRedis>> Create(RedisOptions options);
  ~HttpRedis();
  HttpRedis(const HttpRedis&) = delete;
  HttpRedis& operator=(const HttpRedis&) = delete;

  // Any command: the reply's `result` (null, string, integer, array), strings decoded when
  // base64 is on.
  // Past the deadline: kUnavailable.
  StatusOr<nlohmann::json> Command(const RedisCommand& args, RedisDeadline deadline = kNoRedisDeadline);
  // POST /pipeline: one reply per command, in order; one failed command does not fail others.
  StatusOr<std::vector<StatusOr<nlohmann::json>>> Pipeline(const std::vector<RedisCommand>& commands,
                                                           RedisDeadline deadline = kNoRedisDeadline);
  // POST /multi-exec: the commands run atomically.
  StatusOr<std::vector<StatusOr<nlohmann::json>>> MultiExec(const std::vector<RedisCommand>& commands,
                                                            RedisDeadline deadline = kNoRedisDeadline);

  StatusOr<std::optional<std::string>> Get(std::string_view key);
  // SET key value [PX ttl].
  Status Set(std::string_view key, std::string_view value, std::optional<std::chrono::milliseconds> ttl = {});
  // SET key value NX [PX ttl]: true when the key was set.
  StatusOr<bool> SetNx(std::string_view key, std::string_view value, std::optional<std::chrono::milliseconds> ttl = {});
  StatusOr<int64_t> Del(const std::vector<std::string>& keys);
  StatusOr<int64_t> Exists(const std::vector<std::string>& keys);
  // SCAN MATCH pattern over the whole key space, deleting what matches; returns the count.
  StatusOr<int64_t> DeletePattern(std::string_view pattern);
  StatusOr<int64_t> ZAdd(std::string_view key, double score, std::string_view member);
  StatusOr<int64_t> ZCard(std::string_view key);
  // Bounds in Redis syntax: "-inf", "(5", "100".
  StatusOr<int64_t> ZRemRangeByScore(std::string_view key, std::string_view min, std::string_view max);
  StatusOr<bool> Expire(std::string_view key, std::chrono::seconds ttl);
  StatusOr<int64_t> Incr(std::string_view key);

 private:
  struct Impl;
  explicit HttpRedis(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::sdk
