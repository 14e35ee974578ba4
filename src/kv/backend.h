// What the Upstash front end runs commands on: the embedded engine or a real Redis.
// A backend takes a batch of commands in one of three modes and answers one reply per
// command (or one abort for a refused transaction); an unreachable backend is a Status.
#pragma once

#include <optional>
#include <vector>

#include "common/asio.h"
#include "kv/command.h"
#include "kv/engine.h"
#include "kv/reply.h"

namespace stratus::kv {

enum class BatchMode { kSingle, kPipeline, kMulti };

class Backend {
 public:
  virtual ~Backend() = default;
  // `readonly`: the caller holds the read-only token; write commands are refused.
  virtual asio::awaitable<StatusOr<BatchResult>> Run(std::vector<Argv> commands, BatchMode mode, bool readonly) = 0;
  // For /readyz, cheap and non-blocking: UNAVAILABLE when writes cannot be taken now.
  virtual Status Health() const { return Status::Ok(); }
};

// Runs on the in-process engine; with `--redis-fsync always` answers after the fsync.
class EmbeddedBackend final : public Backend {
 public:
  explicit EmbeddedBackend(Engine& engine) : engine_(engine) {}
  asio::awaitable<StatusOr<BatchResult>> Run(std::vector<Argv> commands, BatchMode mode, bool readonly) override;
  // MISCONF once the append-only log could not be written.
  Status Health() const override {
    if (!engine_.log_failed()) return Status::Ok();
    return Unavailable("MISCONF Errors writing to the append-only log; writes are refused until restart");
  }

 private:
  Engine& engine_;
};

}  // namespace stratus::kv
