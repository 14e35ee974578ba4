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
// steps, month and day names; day-of-month and day-of-week combine as crontab(5) combines them
// (either matches when both are restricted, that is neither contains '*').
class Schedule {
 public:
  // INVALID_ARGUMENT with the text Cloud Scheduler answers for a bad schedule ("Schedule or
  // time zone is invalid."). Never crashes, whatever the bytes; longer than kMaxLength is bad.
  static StatusOr<Schedule> Parse(std::string_view text);

  // Why `text` is not a valid schedule, naming the field and value ("minute: 61 is out of
  // range 0-59"); empty when it is valid. For logs: Google's answer does not say why.
  static std::string Explain(std::string_view text);

  static constexpr size_t kMaxLength = 500;

  // The first fire time strictly after `after`, with the fields read as wall-clock time in
  // `zone`: the first instant at which the zone's clock shows a matching minute, so a time a
  // forward change skips never fires and one a backward change repeats fires at each
  // occurrence (docs/scheduler.md). nullopt when the schedule never fires (for example
  // "0 0 30 2 *") and for `after` outside years 1-9999. Thread-safe; microseconds per call.
  std::optional<std::chrono::sys_seconds> NextAfter(std::chrono::sys_seconds after, const date::time_zone& zone) const;

  const std::string& text() const { return text_; }

 private:
  // Fills the fields from `text`; the reason it is invalid, or empty.
  std::string ParseInto(std::string_view text);
  bool DayMatches(int day_of_month, unsigned weekday) const;
  // The first matching wall-clock minute in [from, until) (seconds since 1970-01-01 00:00 local
  // time; `from` on a minute), if any.
  std::optional<std::chrono::seconds> NextLocal(std::chrono::seconds from, std::chrono::seconds until) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 0 unused
  std::bitset<13> months_;         // bit 0 unused
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_restricted_ = false;
  bool day_of_week_restricted_ = false;
  // False for a default-constructed Schedule and when no selected month has a selected day
  // ("0 0 30 2 *").
  bool ever_fires_ = false;
};

// A tz database zone by name ("Europe/Berlin") from the system's tzdata; "" and "utc" (any
// case) are Etc/UTC. INVALID_ARGUMENT with Cloud Scheduler's text when unknown.
StatusOr<const date::time_zone*> FindZone(std::string_view name);

}  // namespace stratus::cron
