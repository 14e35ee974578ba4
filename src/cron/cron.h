// Unix-cron schedules as Cloud Scheduler accepts them, and their fire times in a tz database
// time zone. Builds on common alone (and the system's tzdata through Howard Hinnant's date/tz).
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "stratus/status.h"

namespace date {
class time_zone;
}

namespace stratus::cron {

// A parsed five-field schedule: minute hour day-of-month month day-of-week. Lists, ranges,
// steps, month and day names; day-of-month and day-of-week combine as cron combines them
// (either matches when both are restricted).
class Schedule {
 public:
  // INVALID_ARGUMENT with the text Cloud Scheduler answers for a bad schedule.
  static StatusOr<Schedule> Parse(std::string_view text);

  // The first fire time strictly after `after`, with the fields read as wall-clock time in
  // `zone`. Daylight-saving gaps and repeats follow docs/scheduler.md. nullopt when the
  // schedule never fires (for example "0 0 30 2 *").
  std::optional<std::chrono::sys_seconds> NextAfter(std::chrono::sys_seconds after, const date::time_zone& zone) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 0 unused
  std::bitset<13> months_;         // bit 0 unused
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_restricted_ = false;
  bool day_of_week_restricted_ = false;
};

// A tz database zone by name ("UTC", "Europe/Berlin"); INVALID_ARGUMENT when unknown.
StatusOr<const date::time_zone*> FindZone(std::string_view name);

}  // namespace stratus::cron
