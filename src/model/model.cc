#include <algorithm>
#include <cmath>

#include "stratus/model.h"

namespace stratus {

int32_t MaxBurstSizeFor(double rate) {
  // !(burst >= 10) also catches NaN, which a gRPC double can carry and validation refuses later.
  double burst = std::ceil(rate / 5.0);
  if (!(burst >= 10.0)) return 10;
  return static_cast<int32_t>(std::min(burst, 500.0));
}

std::string QueueOfTask(const std::string& task_name) {
  size_t pos = task_name.rfind("/tasks/");
  return pos == std::string::npos ? std::string() : task_name.substr(0, pos);
}

}  // namespace stratus
