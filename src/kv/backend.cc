#include "kv/backend.h"

#include "common/await.h"

namespace stratus::kv {

asio::awaitable<StatusOr<BatchResult>> EmbeddedBackend::Run(std::vector<Argv> commands, BatchMode mode, bool readonly) {
  BatchResult result = engine_.Execute(commands, mode == BatchMode::kMulti, readonly);
  AppendLog* log = engine_.log();
  if (result.log_seq != 0 && log && log->policy() == FsyncPolicy::kAlways) {
    uint64_t seq = result.log_seq;
    auto start = [log, seq](std::function<void(bool)> done) { log->WhenDurable(seq, [done] { done(true); }); };
    bool synced = co_await AwaitCallback<bool>(start);
    (void)synced;
  }
  co_return result;
}

}  // namespace stratus::kv
