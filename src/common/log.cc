#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/clock.h"

namespace stratus {
namespace {
std::mutex g_mu;
std::atomic<bool> g_enabled{true};
}  // namespace

void SetLogEnabled(bool enabled) {
  g_enabled = enabled;
}

void LogJson(Json fields) {
  if (!g_enabled) return;
  fields["time"] = FormatTimestamp(SystemClock().Now());
  std::string line = fields.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace stratus
