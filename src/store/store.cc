#include <future>

#include "stratus/store.h"

namespace stratus {

StatusOr<WriteResult> Store::WriteSync(Mutation mutation, Micros now) {
  std::promise<StatusOr<WriteResult>> promise;
  auto future = promise.get_future();
  Write(std::move(mutation), now, [&promise](StatusOr<WriteResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace stratus
