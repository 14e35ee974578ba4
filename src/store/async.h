// Store writes from coroutines: suspends until the mutation is durable.
#pragma once

#include "common/await.h"
#include "stratus/store.h"

namespace stratus {

inline asio::awaitable<StatusOr<WriteResult>> WriteAsync(Store& store, Mutation m, Micros now) {
  return AwaitCallback<StatusOr<WriteResult>>(
      [&store, m = std::move(m), now](std::function<void(StatusOr<WriteResult>)> done) mutable {
        store.Write(std::move(m), now, std::move(done));
      });
}

}  // namespace stratus
