#include "kv/backend.h"

#include "common/await.h"

#include <cstring>

namespace stratus::kv {

// Never blocks the event loop: a batch with a script runs on the engine's script thread, and a
// batch that arrives while a script runs waits on a timer until the script ends or reaches
// the busy threshold (then it is answered BUSY).
asio::awaitable<StatusOr<BatchResult>> EmbeddedBackend::Run(std::vector<Argv> commands, BatchMode mode, bool readonly) {
  bool atomic = mode == BatchMode::kMulti;
  BatchResult result;
  auto ex = co_await asio::this_coro::executor;
  // The timer exists only once a script was found running: the first attempt, which nearly
  // always runs the batch, allocates nothing for it. An attempt with no `wake` that finds a
  // script registers nothing; the next one (with the timer) does, or runs the batch.
  std::shared_ptr<asio::steady_timer> timer;
  std::function<void()> wake;
  for (;;) {
    Engine::Attempt attempt = engine_.TryExecute(commands, atomic, readonly, &result, wake);
    if (attempt.route == Engine::Route::kDone) break;
    if (attempt.route == Engine::Route::kWait && !timer) {
      timer = std::make_shared<asio::steady_timer>(ex);
      wake = [timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); };
      continue;
    }
    if (attempt.route == Engine::Route::kScriptThread) {
      Engine* engine = &engine_;
      std::vector<Argv>* cmds = &commands;
      auto start = [engine, cmds, atomic, readonly](std::function<void(BatchResult)> done) {
        engine->RunOnScriptThread(std::move(*cmds), atomic, readonly, std::move(done));
      };
      result = co_await AwaitCallback<BatchResult>(start);
      break;
    }
    // The loop runs one thread: `wake` cannot cancel the timer before this wait begins.
    timer->expires_at(attempt.retry_at);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  AppendLog* log = engine_.log();
  if (result.log_seq != 0 && log && log->policy() == FsyncPolicy::kAlways) {
    uint64_t seq = result.log_seq;
    auto start = [log, seq](std::function<void(bool)> done) { log->WhenDurable(seq, std::move(done)); };
    bool synced = co_await AwaitCallback<bool>(start);
    if (!synced) {
      // Written but not known to be on disk: not acknowledged (it may or may not survive a crash).
      std::string why = std::string("MISCONF Errors writing to the append-only log: fsync failed: ") +
                        std::strerror(log->sync_errno());
      for (auto& r : result.replies) r = Reply::Error(why);
      if (result.abort) result.abort = Reply::Error(why);
    }
  }
  co_return result;
}

}  // namespace stratus::kv
