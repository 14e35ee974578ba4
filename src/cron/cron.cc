#include "cron/cron.h"

#include <date/date.h>
#include <date/tz.h>

// date 3.0.1's ptz.h defines one member out of line and not inline (contant_offset): each file
// that includes it renames it, so two copies never meet at link time. It also names hh_mm_ss
// unqualified once (time_zone::name), which C++20's std::chrono::hh_mm_ss makes ambiguous; the
// using-declaration below is found first.
namespace Posix {  // NOLINT(readability-identifier-naming): ptz.h's namespace
using date::hh_mm_ss;
}
#define contant_offset stratus_cron_contant_offset
#include <date/ptz.h>
#undef contant_offset

#include <algorithm>
#include <charconv>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stratus::cron {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr std::string_view kInvalid = "Schedule or time zone is invalid.";

// The Gregorian calendar, weekdays included, repeats every 400 years (146,097 days, exactly
// 20,871 weeks): a schedule that does not fire within that span of wall-clock time never fires.
constexpr days kCycle{146097};
// Instants NextAfter accepts: years 1 to 9999, so calendar arithmetic never overflows.
constexpr sys_seconds kEarliest{seconds{-62135596800}};  // 0001-01-01T00:00:00Z
constexpr sys_seconds kLatest{seconds{253402300799}};    // 9999-12-31T23:59:59Z

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  // Three-letter names for values min, min+1, ... (month and day-of-week fields).
  const std::string_view* names = nullptr;
  int name_count = 0;
};

constexpr std::string_view kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::string_view kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// Day of week accepts 0-7 (7 is Sunday again); bit 7 folds onto bit 0 after parsing.
constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day of the month", 1, 31},
    {"month", 1, 12, kMonthNames, 12},
    {"day of the week", 0, 7, kDayNames, 7},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Parses one value of a field: a decimal number or (month, day of week) a three-letter name.
// Returns the reason on failure.
std::string ParseValue(std::string_view text, const FieldSpec& spec, int& value) {
  if (text.empty()) return std::string(spec.name) + ": a value is missing";
  if (text[0] >= '0' && text[0] <= '9') {
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return std::string(spec.name) + ": " + Quote(text) + " is out of range " + std::to_string(spec.min) + "-" +
             std::to_string(spec.max);
    }
    if (ec != std::errc() || end != text.data() + text.size()) {
      return std::string(spec.name) + ": " + Quote(text) + " is not a number";
    }
    if (v < spec.min || v > spec.max) {
      return std::string(spec.name) + ": " + std::to_string(v) + " is out of range " + std::to_string(spec.min) + "-" +
             std::to_string(spec.max);
    }
    value = v;
    return {};
  }
  for (int i = 0; i < spec.name_count; ++i) {
    if (EqualsIgnoreCase(text, spec.names[i])) {
      value = spec.min + i;
      return {};
    }
  }
  if (spec.name_count > 0) {
    return std::string(spec.name) + ": " + Quote(text) + " is neither a number nor a name (" +
           std::string(spec.names[0]) + "-" + std::string(spec.names[spec.name_count - 1]) + ")";
  }
  return std::string(spec.name) + ": " + Quote(text) + " is not a number";
}

// Parses one comma-separated item ("*", "5", "1-5", "*/15", "10-40/5") into `bits`.
std::string ParseItem(std::string_view item, const FieldSpec& spec, std::vector<bool>& bits) {
  if (item.empty()) return std::string(spec.name) + ": an empty list item";
  std::string_view base = item;
  int step = 1;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    std::string_view step_text = item.substr(slash + 1);
    if (step_text.empty()) return std::string(spec.name) + ": " + Quote(item) + " has no step after '/'";
    auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
    int width = spec.max - spec.min + 1;
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc() && end == step_text.data() + step_text.size() && (step < 1 || step > width))) {
      return std::string(spec.name) + ": the step in " + Quote(item) + " must be 1-" + std::to_string(width);
    }
    if (ec != std::errc() || end != step_text.data() + step_text.size()) {
      return std::string(spec.name) + ": the step in " + Quote(item) + " is not a number";
    }
  }
  int lo = spec.min;
  int hi = spec.max;
  if (base == "*") {
    // "*" stands for first-last; for day of week that is 0-6 (7 only repeats Sunday).
    if (spec.max == 7) hi = 6;
  } else {
    size_t dash = base.find('-');
    if (dash == std::string_view::npos) {
      if (base.size() != item.size()) {
        return std::string(spec.name) + ": a step needs a range or '*' before it (" + Quote(item) + ")";
      }
      if (std::string why = ParseValue(base, spec, lo); !why.empty()) return why;
      hi = lo;
    } else {
      if (std::string why = ParseValue(base.substr(0, dash), spec, lo); !why.empty()) return why;
      std::string_view end = base.substr(dash + 1);
      if (std::string why = ParseValue(end, spec, hi); !why.empty()) return why;
      // SUN ends a range as 7 does ("FRI-SUN"); the number 0 does not.
      if (spec.max == 7 && hi == 0 && lo > 0 && !(end[0] >= '0' && end[0] <= '9')) hi = 7;
      if (lo > hi) return std::string(spec.name) + ": the range " + Quote(base) + " runs backwards";
    }
  }
  for (int v = lo; v <= hi; v += step) bits[v - spec.min] = true;
  return {};
}

std::string ParseField(std::string_view text, const FieldSpec& spec, std::vector<bool>& bits) {
  bits.assign(spec.max - spec.min + 1, false);
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (std::string why = ParseItem(item, spec, bits); !why.empty()) return why;
    if (comma == std::string_view::npos) return {};
    start = comma + 1;
  }
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t';
}

// After the last transition a TZif file lists (2037 in Debian's tzdata), the file's footer, a
// POSIX TZ rule such as "EST5EDT,M3.2.0,M11.1.0", says how the zone goes on; date/tz reading the
// OS database keeps the last offset forever instead. The rule of each zone with daylight saving
// is read once, from the file, and evaluated by date's ptz.h.
const Posix::time_zone* FooterRule(const date::time_zone& zone) {
  static std::mutex mu;
  static std::map<const date::time_zone*, std::optional<Posix::time_zone>> rules;
  std::lock_guard lock(mu);
  auto [it, inserted] = rules.try_emplace(&zone);
  if (inserted) {
    std::ifstream in("/usr/share/zoneinfo/" + std::string(zone.name()), std::ios::binary);
    std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // TZif version 2 or later; the footer is the text between the last two newlines.
    bool v2 = file.size() > 44 && file.compare(0, 4, "TZif") == 0 && file[4] >= '2' && file.back() == '\n';
    size_t open = v2 ? file.rfind('\n', file.size() - 2) : std::string::npos;
    if (open != std::string::npos) {
      std::string footer = file.substr(open + 1, file.size() - open - 2);
      if (footer.find(',') != std::string::npos) {  // without a rule the last offset is right
        try {
          it->second.emplace(footer);
        } catch (const std::exception&) {
          // A rule ptz.h cannot read: keep date/tz's answer.
        }
      }
    }
  }
  return it->second ? &*it->second : nullptr;
}

// The span of constant offset around `t`: date/tz's, or past the zone's last listed
// transition, its footer rule's.
date::sys_info SpanAt(const date::time_zone& zone, sys_seconds t) {
  date::sys_info span = zone.get_info(t);
  if (span.end <= kLatest) return span;
  const Posix::time_zone* rule = FooterRule(zone);
  if (rule == nullptr) return span;
  date::sys_info next = rule->get_info(t);
  next.begin = std::max(next.begin, span.begin);
  return next;
}

}  // namespace

std::string Schedule::Explain(std::string_view text) {
  Schedule unused;
  return unused.ParseInto(text);
}

StatusOr<Schedule> Schedule::Parse(std::string_view text) {
  Schedule schedule;
  if (!schedule.ParseInto(text).empty()) return InvalidArgument(std::string(kInvalid));
  return schedule;
}

std::string Schedule::ParseInto(std::string_view text) {
  if (text.size() > kMaxLength) return "longer than " + std::to_string(kMaxLength) + " characters";
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    if (IsSpace(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !IsSpace(text[j])) ++j;
    fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return "a unix-cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has " +
           std::to_string(fields.size());
  }
  std::vector<bool> bits[5];
  for (int f = 0; f < 5; ++f) {
    if (std::string why = ParseField(fields[f], kFields[f], bits[f]); !why.empty()) return why;
  }
  text_ = std::string(text);
  for (int v = 0; v < 60; ++v) minutes_[v] = bits[0][v];
  for (int v = 0; v < 24; ++v) hours_[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v) days_of_month_[v] = bits[2][v - 1];
  for (int v = 1; v <= 12; ++v) months_[v] = bits[3][v - 1];
  for (int v = 0; v < 7; ++v) days_of_week_[v] = bits[4][v];
  if (bits[4][7]) days_of_week_[0] = true;
  // As crontab(5): a day field containing '*' leaves the day unrestricted for the OR rule.
  day_of_month_restricted_ = fields[2].find('*') == std::string_view::npos;
  day_of_week_restricted_ = fields[4].find('*') == std::string_view::npos;
  // Every weekday falls on every valid date somewhere in the 400-year cycle, and with both
  // day fields restricted every month has each weekday: only a day of the month that no
  // selected month has (30 February, 31 April) makes a schedule that never fires.
  ever_fires_ = day_of_month_restricted_ && day_of_week_restricted_;
  static constexpr int kMonthLength[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12 && !ever_fires_; ++m) {
    for (int d = 1; d <= kMonthLength[m] && months_[m]; ++d) ever_fires_ = ever_fires_ || days_of_month_[d];
  }
  return {};
}

bool Schedule::DayMatches(int day_of_month, unsigned weekday) const {
  bool dom = days_of_month_[day_of_month];
  bool dow = days_of_week_[weekday];
  if (day_of_month_restricted_ && day_of_week_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<seconds> Schedule::NextLocal(seconds from, seconds until) const {
  using date::local_days;
  const date::local_seconds end{until};
  auto day = date::floor<days>(date::local_seconds{from});
  auto minute_of_day = static_cast<int>(date::floor<minutes>(date::local_seconds{from} - day).count());
  while (day < end) {
    date::year_month_day ymd{day};
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      auto next = date::year_month{ymd.year(), ymd.month()} + date::months{1};
      day = local_days{next / 1};
      minute_of_day = 0;
      continue;
    }
    if (DayMatches(static_cast<int>(static_cast<unsigned>(ymd.day())), date::weekday{day}.c_encoding())) {
      for (int h = minute_of_day / 60; h < 24; ++h) {
        if (!hours_[h]) continue;
        int first = h == minute_of_day / 60 ? minute_of_day % 60 : 0;
        for (int m = first; m < 60; ++m) {
          if (!minutes_[m]) continue;
          date::local_seconds at = day + hours{h} + minutes{m};
          if (at >= end) return std::nullopt;
          return at.time_since_epoch();
        }
      }
    }
    day += days{1};
    minute_of_day = 0;
  }
  return std::nullopt;
}

std::optional<sys_seconds> Schedule::NextAfter(sys_seconds after, const date::time_zone& zone) const {
  if (!ever_fires_ || after < kEarliest || after >= kLatest) return std::nullopt;
  // The zone's history as spans of constant UTC offset, walked in order: within a span local
  // time runs with UTC, so its first matching wall-clock minute is its first fire time. A
  // wall-clock time skipped by a forward change lies in no span and never fires; a time
  // repeated by a backward change lies in two spans and fires in each (docs/scheduler.md).
  const sys_seconds horizon = std::min(after + kCycle + days{2}, kLatest);
  sys_seconds t = after + seconds{1};
  while (t < horizon) {
    date::sys_info span = SpanAt(zone, t);
    sys_seconds end = std::min(span.end, horizon);
    auto from = date::ceil<minutes>(t.time_since_epoch() + span.offset);
    auto until = end.time_since_epoch() + span.offset;
    if (auto at = NextLocal(from, until)) return sys_seconds{*at - span.offset};
    if (span.end <= t) break;  // defensive: a zone whose spans do not advance
    t = span.end;
  }
  return std::nullopt;
}

StatusOr<const date::time_zone*> FindZone(std::string_view name) {
  if (name.empty() || EqualsIgnoreCase(name, "utc")) name = "Etc/UTC";
  bool plain = name.size() <= 64 && name.front() != '/' && name.find("..") == std::string_view::npos &&
               std::all_of(name.begin(), name.end(), [](char c) {
                 return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                        c == '_' || c == '-' || c == '+';
               });
  // posix/ and right/ are copies of the database in other layouts; localtime and posixrules
  // describe the host, not a zone.
  if (!plain || name.starts_with("posix/") || name.starts_with("right/") || name == "localtime" ||
      name == "posixrules") {
    return InvalidArgument(std::string(kInvalid));
  }
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return InvalidArgument(std::string(kInvalid));
  }
}

}  // namespace stratus::cron
