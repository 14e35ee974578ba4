// Bridges callback APIs and blocking work into coroutines: the caller suspends, the work
// runs elsewhere, and the coroutine resumes on its own event loop with the result.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>

#include "common/asio.h"

namespace stratus {

// `start` receives a callback that may be called once, from any thread.
template <typename R, typename Start>
asio::awaitable<R> AwaitCallback(Start start) {
  return asio::async_initiate<const asio::use_awaitable_t<>, void(R)>(
      [start = std::move(start)](auto handler) mutable {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start(std::function<void(R)>([h](R result) mutable {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, r = std::move(result)]() mutable { (*h)(std::move(r)); });
        }));
      },
      asio::use_awaitable);
}

// Runs blocking `work` (a store read, a file write) on `pool`, off the event loops.
template <typename F>
asio::awaitable<std::invoke_result_t<F>> RunBlocking(asio::thread_pool& pool, F work) {
  using R = std::invoke_result_t<F>;
  return AwaitCallback<R>([&pool, work = std::move(work)](std::function<void(R)> done) mutable {
    asio::post(pool, [work = std::move(work), done = std::move(done)]() mutable { done(work()); });
  });
}

}  // namespace stratus
