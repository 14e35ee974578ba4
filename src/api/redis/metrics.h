// Redis REST command metrics for /metrics: stratus_redis_commands_total{command} and
// stratus_redis_command_errors_total{command}. `command` is the lower-case name when the
// embedded engine's command table knows it and "other" otherwise, so a client sending
// made-up names cannot grow the label set.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kv/backend.h"

namespace stratus::api::redis {

class RedisMetrics {
 public:
  RedisMetrics();

  // Lock-free: a case-folded binary search over the known names and a relaxed increment.
  void Count(std::string_view command, bool error) { CountAt(IndexOf(command), error); }
  // The same in two steps: the slot of a name (taken before the command moves on), then the count.
  size_t IndexOf(std::string_view command) const;
  void CountAt(size_t index, bool error);
  void AppendMetrics(std::string* out) const;

  // The label value `command` is counted under ("get", or "other").
  std::string_view LabelOf(std::string_view command) const;

 private:
  std::vector<std::string> names_;  // sorted; index names_.size() is "other"
  std::unique_ptr<std::atomic<uint64_t>[]> calls_;
  std::unique_ptr<std::atomic<uint64_t>[]> errors_;
};

// A Backend that counts each command of a batch and whether its reply was an error (a
// refused transaction or an unreachable backend counts every command as one).
class MeteredBackend final : public kv::Backend {
 public:
  MeteredBackend(kv::Backend& inner, std::shared_ptr<RedisMetrics> metrics)
      : inner_(inner), metrics_(std::move(metrics)) {}
  asio::awaitable<StatusOr<kv::BatchResult>> Run(std::vector<kv::Argv> commands, kv::BatchMode mode,
                                                 bool readonly) override;
  Status Health() const override { return inner_.Health(); }

 private:
  kv::Backend& inner_;
  std::shared_ptr<RedisMetrics> metrics_;
};

}  // namespace stratus::api::redis
