// cron::Schedule::NextAfter against two independent answers, for thousands of random
// expressions, tz database zones and start instants (many within hours of a daylight-saving
// change):
//   - a reference written from the documented rule alone: every matching wall-clock minute,
//     turned into the instants it names with date/tz's local_info (none when a forward change
//     skips it, two when a backward change repeats it), from the value sets the generator
//     chose (not from our parser). It must agree with NextAfter on every case.
//   - Debian's python3-croniter (with zoneinfo), run once for the whole batch. It must agree
//     too, except where croniter's daylight-saving handling is not Cloud Scheduler's: it fires a
//     skipped time at the old offset and fires a repeated time once (and, after a backward
//     change, sometimes an hour off). Those cases are counted, each checked against the rule
//     above, and the count is asserted.
// Most starts lie in 1990-2030; 500 lie in 2038-2090, past the last change tzdata lists, where
// the reference reads each zone's POSIX TZ rule (the end of its file) through date's ptz.h.
#include <date/date.h>
#include <date/tz.h>
// date 3.0.1's ptz.h defines one member out of line and not inline (contant_offset): each file
// that includes it renames it, so two copies never meet at link time. It also names hh_mm_ss
// unqualified once (time_zone::name), which C++20's std::chrono::hh_mm_ss makes ambiguous; the
// using-declaration below is found first.
namespace Posix {  // NOLINT(readability-identifier-naming): ptz.h's namespace
using date::hh_mm_ss;
}
#define contant_offset cron_differential_test_contant_offset
#include <date/ptz.h>
#undef contant_offset
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cron/cron.h"
#include "integration/paths.h"

namespace stratus::cron {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr int kCases = 3000;    // starts in 1990-2030
constexpr int kFarCases = 500;  // starts in 2038-2090
constexpr int kFires = 3;       // per case
constexpr uint32_t kSeed = 20261201;

// Southern-hemisphere, half- and quarter-hour, 30-minute-DST, negative-DST (Dublin), midnight
// changes (Havana, Santiago), a skipped day (Apia, 2011) and zones without DST.
const char* const kZones[] = {
    "Etc/UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "America/St_Johns",
    "America/Caracas",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Berlin",
    "Europe/Moscow",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Australia/Brisbane",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
};

// A zone as the reference reads it: date/tz's spans, or (the far view) the POSIX TZ rule at
// the end of the zone's TZif file.
struct Zone {
  const date::time_zone* tz = nullptr;
  std::optional<Posix::time_zone> rule;
  std::vector<sys_seconds> changes;  // offset changes in the years this view is used for

  date::sys_info Span(sys_seconds t) const { return rule ? rule->get_info(t) : tz->get_info(t); }
  date::local_info Local(date::local_seconds wall) const { return rule ? rule->get_info(wall) : tz->get_info(wall); }
  date::local_seconds ToLocal(sys_seconds t) const {
    return date::local_seconds{(t + Span(t).offset).time_since_epoch()};
  }
  // Whether the offset changes in (from, to].
  bool ChangesBetween(sys_seconds from, sys_seconds to) const { return Span(from).end <= to; }
};

// The zone's POSIX TZ rule when it has daylight saving (a ',' in it).
std::optional<std::string> FooterRule(const date::time_zone& tz) {
  std::ifstream in("/usr/share/zoneinfo/" + std::string(tz.name()), std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < 2 || file.back() != '\n') return std::nullopt;
  size_t open = file.rfind('\n', file.size() - 2);
  if (open == std::string::npos) return std::nullopt;
  std::string footer = file.substr(open + 1, file.size() - open - 2);
  if (footer.find(',') == std::string::npos) return std::nullopt;
  return footer;
}

struct Case {
  std::string expr;
  const Zone* zone = nullptr;
  sys_seconds start;
  std::set<int> minutes, hours, doms, months, dows;  // dows 0-6, Sunday 0
  bool dom_restricted = false, dow_restricted = false;
};

std::string Iso(sys_seconds t) {
  return date::format("%FT%TZ", t);
}

std::string Join(const std::vector<sys_seconds>& ts) {
  std::string out = "[";
  for (auto t : ts) out += (out.size() > 1 ? ", " : "") + Iso(t);
  return out + "]";
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(1, 100) <= percent; }

  // A field over [lo, hi] as text and as the set it selects. `allow_star`: "*" and "*/n";
  // names: the month or day names for lo.. (any case).
  std::string Field(int lo, int hi, bool allow_star, const char* const* names, std::set<int>& values) {
    values.clear();
    if (allow_star && Chance(35)) {
      if (Chance(50)) {
        for (int v = lo; v <= hi; ++v) values.insert(v);
        return "*";
      }
      int step = Uniform(2, std::max(2, (hi - lo + 1) / 2));
      for (int v = lo; v <= hi; v += step) values.insert(v);
      return "*/" + std::to_string(step);
    }
    std::string text;
    int items = Uniform(1, 3);
    for (int i = 0; i < items; ++i) {
      if (i) text += ",";
      int a = Uniform(lo, hi);
      int kind = Uniform(0, 9);
      if (kind < 5) {
        text += Value(a, lo, names);
        values.insert(a);
      } else {
        int b = Uniform(a, std::min(hi, a + (hi - lo) / 2));
        int step = kind < 8 ? 1 : Uniform(1, std::max(1, (b - a) / 2 + 1));
        text += Value(a, lo, names) + "-" + Value(b, lo, names, true);
        if (step > 1) text += "/" + std::to_string(step);
        for (int v = a; v <= b; v += step) values.insert(v);
      }
    }
    return text;
  }

  // A name for 7 (SUN) only ends a range: at its start, or alone, SUN is 0.
  std::string Value(int v, int lo, const char* const* names, bool range_end = false) {
    if (!names || Chance(50) || (v == 7 && !range_end)) return std::to_string(v);
    std::string name = names[v - lo];
    for (char& c : name) {
      if (Chance(30)) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
  }

  // Hours around a change, so that schedules often touch the skipped or repeated hour.
  std::string HourNear(int local_hour, std::set<int>& values) {
    values.clear();
    std::string text;
    int a = (local_hour + 23 + Uniform(0, 1)) % 24;
    values.insert(a);
    text = std::to_string(a);
    if (Chance(60)) {
      int b = (local_hour + Uniform(0, 2)) % 24;
      if (!values.count(b)) {
        values.insert(b);
        text += "," + std::to_string(b);
      }
    }
    return text;
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
};

const char* const kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

// The day fields: both "*", one restricted, or both restricted. croniter reads "*/n" and a
// range covering the whole field differently from crontab(5) in the OR rule (cron_test.cc
// covers ours), so an unrestricted day field here is exactly "*" and a restricted one names
// part of the field without '*'.
void DayFields(Generator& g, Case& c, std::string& dom_text, std::string& dow_text) {
  int mode = g.Uniform(0, 3);
  c.dom_restricted = mode == 1 || mode == 3;
  c.dow_restricted = mode == 2 || mode == 3;
  dom_text = "*";
  c.doms.clear();
  for (int d = 1; d <= 31; ++d) c.doms.insert(d);
  if (c.dom_restricted) {
    do dom_text = g.Field(1, 31, false, nullptr, c.doms);
    while (c.doms.size() == 31);
  }
  dow_text = "*";
  c.dows = {0, 1, 2, 3, 4, 5, 6};
  if (c.dow_restricted) {
    std::set<int> raw;
    do {
      dow_text = g.Field(0, 7, false, kDayNames, raw);
      c.dows.clear();
      for (int v : raw) c.dows.insert(v % 7);
    } while (c.dows.size() == 7);
  }
}

// Offset changes of `zone` in [from, to).
std::vector<sys_seconds> Changes(const Zone& zone, int from, int to) {
  std::vector<sys_seconds> out;
  sys_seconds t = date::sys_days{date::year{from} / 1 / 1};
  const sys_seconds end = date::sys_days{date::year{to} / 1 / 1};
  while (t < end) {
    auto info = zone.Span(t);
    if (info.end >= end) break;
    if (zone.Span(info.end - seconds{1}).offset != zone.Span(info.end).offset) out.push_back(info.end);
    t = info.end;
  }
  return out;
}

Case MakeCase(Generator& g, const std::vector<Zone>& zones, int first_year, int years) {
  Case c;
  c.zone = &zones[static_cast<size_t>(g.Uniform(0, static_cast<int>(zones.size()) - 1))];
  bool near_change = !c.zone->changes.empty() && g.Chance(60);
  std::string hour_text;
  if (near_change) {
    const auto& ts = c.zone->changes;
    sys_seconds change = ts[static_cast<size_t>(g.Uniform(0, static_cast<int>(ts.size()) - 1))];
    c.start = change + seconds{g.Uniform(-4 * 3600, 2 * 3600)};
    if (g.Chance(50)) c.start = date::floor<minutes>(c.start);
    int local_hour = static_cast<int>((date::floor<hours>(c.zone->ToLocal(change - seconds{1})) -
                                       date::floor<days>(c.zone->ToLocal(change - seconds{1})))
                                          .count());
    hour_text = g.Chance(75) ? g.HourNear(local_hour, c.hours) : g.Field(0, 23, true, nullptr, c.hours);
  } else {
    c.start = date::sys_days{date::year{first_year} / 1 / 1} +
              seconds{static_cast<int64_t>(g.Uniform(0, years * 365)) * 86400 + g.Uniform(0, 86399)};
    hour_text = g.Field(0, 23, true, nullptr, c.hours);
  }
  std::string minute_text = g.Field(0, 59, true, nullptr, c.minutes);
  std::string dom_text, dow_text;
  DayFields(g, c, dom_text, dow_text);
  std::string month_text = g.Chance(50) ? (c.months = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, std::string("*"))
                                        : g.Field(1, 12, true, kMonthNames, c.months);
  c.expr = minute_text + " " + hour_text + " " + dom_text + " " + month_text + " " + dow_text;
  return c;
}

// The documented rule, directly: each matching wall-clock minute names the instants date/tz
// gives it (one; none in a gap; two in a repeat). The first `n` after the start, or fewer
// when none comes within 30 years.
std::vector<sys_seconds> Reference(const Case& c, int n) {
  std::vector<sys_seconds> out;
  const auto first_day = date::floor<days>(c.zone->ToLocal(c.start)) - days{2};
  for (auto day = first_day; day < first_day + days{366 * 30}; day += days{1}) {
    if (static_cast<int>(out.size()) >= n && day > date::floor<days>(c.zone->ToLocal(out[n - 1])) + days{2}) break;
    date::year_month_day ymd{day};
    if (!c.months.count(static_cast<int>(static_cast<unsigned>(ymd.month())))) continue;
    bool dom = c.doms.count(static_cast<int>(static_cast<unsigned>(ymd.day()))) > 0;
    bool dow = c.dows.count(static_cast<int>(date::weekday{day}.c_encoding())) > 0;
    if (!(c.dom_restricted && c.dow_restricted ? dom || dow : dom && dow)) continue;
    for (int h : c.hours) {
      for (int m : c.minutes) {
        date::local_seconds wall = day + hours{h} + minutes{m};
        date::local_info info = c.zone->Local(wall);
        std::vector<sys_seconds> instants;
        if (info.result == date::local_info::unique) {
          instants = {sys_seconds{wall.time_since_epoch() - info.first.offset}};
        } else if (info.result == date::local_info::ambiguous) {
          instants = {sys_seconds{wall.time_since_epoch() - info.first.offset},
                      sys_seconds{wall.time_since_epoch() - info.second.offset}};
        }
        for (auto t : instants) {
          if (t > c.start) out.push_back(t);
        }
      }
    }
    std::sort(out.begin(), out.end());
  }
  if (static_cast<int>(out.size()) > n) out.resize(n);
  return out;
}

std::vector<sys_seconds> Ours(const Case& c, int n) {
  auto schedule = Schedule::Parse(c.expr);
  EXPECT_TRUE(schedule.ok()) << c.expr << ": " << Schedule::Explain(c.expr);
  std::vector<sys_seconds> out;
  if (!schedule.ok()) return out;
  sys_seconds t = c.start;
  for (int i = 0; i < n; ++i) {
    auto next = schedule->NextAfter(t, *c.zone->tz);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

// croniter's answers to `requests` ({"e", "z", "s", "n"}: croniter_next.py), from one
// /usr/bin/python3 run.
std::vector<nlohmann::json> Croniter(const std::vector<nlohmann::json>& requests) {
  std::string dir = ::testing::TempDir();
  std::string in_path = dir + "/cron_differential_" + std::to_string(::getpid()) + ".in";
  std::string out_path = dir + "/cron_differential_" + std::to_string(::getpid()) + ".out";
  {
    std::ofstream in(in_path);
    for (const nlohmann::json& request : requests) in << request.dump() << "\n";
  }
  std::string cmd = std::string("/usr/bin/python3 ") + STRATUS_SOURCE_DIR + "/tests/integration/croniter_next.py < " +
                    in_path + " > " + out_path;
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << " (python3-croniter is needed: scripts/install-deps.sh)";
  std::vector<nlohmann::json> out;
  std::ifstream lines(out_path);
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
  std::remove(in_path.c_str());
  std::remove(out_path.c_str());
  return out;
}

TEST(CronDifferential, AgreesWithTheRuleAndWithCroniter) {
  std::vector<Zone> present, far;
  for (const char* name : kZones) {
    auto tz = FindZone(name);
    ASSERT_TRUE(tz.ok()) << name;
    Zone now{*tz, std::nullopt, {}};
    now.changes = Changes(now, 1990, 2030);
    present.push_back(now);
    // Past 2037 a zone with daylight saving follows its file's rule; one without keeps its
    // last offset, which date/tz gives. Zones whose listed changes go on past 2038 are left out.
    Zone later{*tz, std::nullopt, {}};
    if (auto rule = FooterRule(**tz)) later.rule.emplace(*rule);
    bool listed_past_2038 =
        (*tz)->get_info(date::sys_days{date::year{2038} / 1 / 1}).end < date::sys_days{date::year{9000} / 1 / 1};
    if (later.rule && listed_past_2038) continue;
    later.changes = Changes(later, 2038, 2090);
    far.push_back(std::move(later));
  }
  ASSERT_GE(far.size(), 25u);
  Generator g(kSeed);
  std::vector<Case> cases;
  for (int i = 0; i < kCases; ++i) cases.push_back(MakeCase(g, present, 1990, 35));
  for (int i = 0; i < kFarCases; ++i) cases.push_back(MakeCase(g, far, 2038, 50));

  std::vector<nlohmann::json> requests;
  for (const Case& c : cases) {
    requests.push_back(
        {{"e", c.expr}, {"z", c.zone->tz->name()}, {"s", c.start.time_since_epoch().count()}, {"n", kFires}});
  }
  std::vector<nlohmann::json> theirs = Croniter(requests);
  ASSERT_EQ(theirs.size(), cases.size()) << "croniter answered " << theirs.size() << " of " << cases.size();

  int agree = 0, never = 0, dst_rule = 0, near_change = 0, mismatches = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::vector<sys_seconds> ours = Ours(c, kFires);
    std::vector<sys_seconds> rule = Reference(c, kFires);
    std::vector<sys_seconds> cron;
    if (theirs[i].contains("f")) {
      for (int64_t s : theirs[i]["f"]) cron.push_back(sys_seconds{seconds{s}});
    }
    auto describe = [&] {
      std::ostringstream o;
      o << "case " << i << ": \"" << c.expr << "\" in " << c.zone->tz->name() << " after " << Iso(c.start)
        << "\n  ours:     " << Join(ours) << "\n  rule:     " << Join(rule)
        << "\n  croniter: " << (theirs[i].contains("err") ? theirs[i]["err"].get<std::string>() : Join(cron));
      return o.str();
    };
    bool ends_near_change = !ours.empty() && c.zone->ChangesBetween(c.start, ours.back());
    near_change += ends_near_change;
    if (ours != rule) {
      ++mismatches;
      if (mismatches <= 20) ADD_FAILURE() << "differs from the documented rule\n" << describe();
      continue;
    }
    if (ours.empty()) {
      // Never fires: croniter gives up too.
      ++never;
      if (!theirs[i].contains("err")) {
        ++mismatches;
        if (mismatches <= 20) ADD_FAILURE() << "croniter fires a schedule that never fires\n" << describe();
      }
      continue;
    }
    if (ours == cron) {
      ++agree;
      continue;
    }
    // Where croniter differs, its first difference must lie within a day after an offset
    // change: its daylight-saving handling, not Cloud Scheduler's (ours matched the rule
    // above). croniter reads the start as wall-clock time too, so a start inside a repeated
    // hour counts.
    size_t k = 0;
    while (k < ours.size() && k < cron.size() && ours[k] == cron[k]) ++k;
    if (k < ours.size() && k < cron.size()) {
      sys_seconds lo = std::min({ours[k], cron[k], k ? ours[k - 1] : c.start});
      sys_seconds hi = std::max(ours[k], cron[k]);
      if (c.zone->ChangesBetween(lo - hours{26}, hi)) {
        ++dst_rule;
        continue;
      }
    }
    ++mismatches;
    if (mismatches <= 20) ADD_FAILURE() << "differs from croniter away from any offset change\n" << describe();
  }
  std::printf(
      "cron differential: %d cases, %d agree with croniter, %d never fire, %d differ from croniter only in "
      "its daylight-saving handling (checked against the rule), %d reach past an offset change, %d "
      "mismatches\n",
      kCases + kFarCases, agree, never, dst_rule, near_change, mismatches);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(agree + never + dst_rule, kCases + kFarCases);
  // What this seed generates, with Debian's tzdata 2025b (a tzdata release that rewrites past
  // offsets can move it a little: check the cases printed above, then update the number).
  EXPECT_GT(dst_rule, 0);
  EXPECT_EQ(dst_rule, 923);
}

// Every zone of the system's tzdata, 1971-2099: the next local noon after about 10:00 local
// time on the 15th of January, April, July and October (croniter's daylight-saving handling
// plays no part: no offset change lies between the two).
// This checks how zones are read: date/tz's listed changes up to 2037, each file's POSIX rule
// after (src/cron's FooterRule), against Python's zoneinfo under croniter.
TEST(CronDifferential, EveryZoneAgreesWithZoneinfo) {
  auto noon = Schedule::Parse("0 12 * * *");
  ASSERT_TRUE(noon.ok());
  std::vector<const date::time_zone*> zones;
  for (const date::time_zone& tz : date::get_tzdb().zones) {
    auto found = FindZone(tz.name());
    if (found.ok()) zones.push_back(*found);
  }
  ASSERT_GT(zones.size(), 500u);
  std::vector<nlohmann::json> requests;
  std::vector<std::pair<const date::time_zone*, sys_seconds>> starts;
  for (const date::time_zone* tz : zones) {
    for (int year = 1971; year < 2100; year += 10) {
      for (unsigned month : {1u, 4u, 7u, 10u}) {
        // About 10:00 local time on the 15th (by date/tz's offset, which after 2037 is the
        // last listed one), so no offset change falls between the start and noon.
        sys_seconds midday = date::sys_days{date::year{year} / month / 15} + hours{12};
        sys_seconds start = midday - tz->get_info(midday).offset - hours{2};
        starts.emplace_back(tz, start);
        requests.push_back({{"e", "0 12 * * *"}, {"z", tz->name()}, {"s", start.time_since_epoch().count()}, {"n", 1}});
      }
    }
  }
  std::vector<nlohmann::json> theirs = Croniter(requests);
  ASSERT_EQ(theirs.size(), requests.size());
  // Greenland's rule (<-02>2<-01>,M3.5.0/-1,M10.5.0/0) has a negative change time, which
  // ptz.h refuses: after 2037 those zones keep their winter offset (docs/scheduler.md).
  const std::set<std::string> known = {"America/Godthab", "America/Nuuk", "America/Scoresbysund"};
  std::set<std::string> differ;
  int shown = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    auto [tz, start] = starts[i];
    auto ours = noon->NextAfter(start, *tz);
    bool same = ours && theirs[i].contains("f") && theirs[i]["f"][0].get<int64_t>() == ours->time_since_epoch().count();
    if (same) continue;
    differ.insert(std::string(tz->name()));
    if (!known.count(std::string(tz->name())) && ++shown <= 10) {
      ADD_FAILURE() << tz->name() << " after " << Iso(start) << ": ours " << (ours ? Iso(*ours) : "none")
                    << ", croniter " << theirs[i].dump();
    }
  }
  std::printf("cron zones: %zu zones, %zu instants, %zu zones differ\n", zones.size(), starts.size(), differ.size());
  std::set<std::string> unexpected;
  std::set_difference(differ.begin(), differ.end(), known.begin(), known.end(),
                      std::inserter(unexpected, unexpected.end()));
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " zones differ, " << *unexpected.begin() << " first";
  EXPECT_EQ(differ.size(), known.size()) << "the Greenland zones now agree: drop them from `known` and the docs";
}

}  // namespace
}  // namespace stratus::cron
