// Fuzzes the cron schedule parser (src/cron/cron.cc) and the next-fire search behind it. The
// input is a schedule text (and, the same bytes, a time zone name). Any answer is fine; a crash,
// a sanitizer report, a hang, Parse and Explain disagreeing, or a fire time that is not
// strictly later than the one before is not.
#include <date/tz.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cron/cron.h"

namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

// Starts near offset changes (New York 2026-03-08 and 2026-11-01, Lord Howe 2026-04-05), the
// end of the supported range and the epoch.
constexpr int64_t kStarts[] = {1772953200, 1793512800, 1775314800, 253402300000, 0};
constexpr const char* kZones[] = {"America/New_York", "Australia/Lord_Howe", "Etc/UTC"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto zone = stratus::cron::FindZone(text);
  if (zone.ok() && *zone == nullptr) __builtin_trap();
  auto schedule = stratus::cron::Schedule::Parse(text);
  if (schedule.ok() != stratus::cron::Schedule::Explain(text).empty()) __builtin_trap();
  if (!schedule.ok()) return 0;
  for (const char* name : kZones) {
    const date::time_zone* tz = *stratus::cron::FindZone(name);
    for (int64_t start : kStarts) {
      sys_seconds t{seconds{start}};
      for (int i = 0; i < 3; ++i) {
        auto next = schedule->NextAfter(t, *tz);
        if (!next) break;
        if (*next <= t) __builtin_trap();
        t = *next;
      }
    }
  }
  return 0;
}
