#include "cron/cron.h"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace stratus::cron {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

// "2026-03-08T07:00:00Z" (date::parse trips GCC 12's maybe-uninitialized warning).
sys_seconds Utc(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  EXPECT_EQ(std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s), 6) << text;
  auto day = date::sys_days{date::year{y} / mo / d};
  return day + std::chrono::hours{h} + std::chrono::minutes{mi} + seconds{s};
}

std::string Iso(sys_seconds t) {
  return date::format("%FT%TZ", t);
}

// The first `n` fire times of `expr` in `zone` after `start`, as UTC instants.
std::vector<std::string> Fires(const std::string& expr, const std::string& zone, const std::string& start, int n) {
  auto schedule = Schedule::Parse(expr);
  EXPECT_TRUE(schedule.ok()) << expr << ": " << Schedule::Explain(expr);
  auto tz = FindZone(zone);
  EXPECT_TRUE(tz.ok()) << zone;
  std::vector<std::string> out;
  if (!schedule.ok() || !tz.ok()) return out;
  sys_seconds t = Utc(start);
  for (int i = 0; i < n; ++i) {
    auto next = schedule->NextAfter(t, **tz);
    if (!next) break;
    out.push_back(Iso(*next));
    t = *next;
  }
  return out;
}

using V = std::vector<std::string>;

// --- parsing ---------------------------------------------------------------------------------

TEST(CronParse, AcceptsTheDocumentedForms) {
  for (const char* good :
       {"* * * * *", "0 9 * * 1", "45 23 * * 6", "*/5 * * * *", "0 0-23/2 * * *", "1,2,5,6 * * * *", "0 0 1,15 * 1-5",
        "10-40/5 8-18 * JAN-MAR,oct mon-fri", "59 23 31 12 7", "0 0 * * 0-7", "  0   0\t* * *  ", "00 09 01 01 00"}) {
    EXPECT_TRUE(Schedule::Parse(good).ok()) << good << ": " << Schedule::Explain(good);
    EXPECT_EQ(Schedule::Explain(good), "") << good;
  }
  EXPECT_EQ(Schedule::Parse("*/5 * * * *")->text(), "*/5 * * * *");
}

TEST(CronParse, AnswersGooglesTextWithInvalidArgument) {
  auto bad = Schedule::Parse("61 * * * *");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "Schedule or time zone is invalid.");
}

TEST(CronParse, CountsFields) {
  const std::string why =
      "a unix-cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has ";
  EXPECT_EQ(Schedule::Explain(""), why + "0");
  EXPECT_EQ(Schedule::Explain("   "), why + "0");
  EXPECT_EQ(Schedule::Explain("* * * *"), why + "4");
  EXPECT_EQ(Schedule::Explain("0 * * * * *"), why + "6");
  EXPECT_EQ(Schedule::Explain("0 0 * * * 2026"), why + "6");
}

TEST(CronParse, ChecksEachFieldsRange) {
  EXPECT_EQ(Schedule::Explain("60 * * * *"), "minute: 60 is out of range 0-59");
  EXPECT_EQ(Schedule::Explain("* 24 * * *"), "hour: 24 is out of range 0-23");
  EXPECT_EQ(Schedule::Explain("* * 0 * *"), "day of the month: 0 is out of range 1-31");
  EXPECT_EQ(Schedule::Explain("* * 32 * *"), "day of the month: 32 is out of range 1-31");
  EXPECT_EQ(Schedule::Explain("* * * 0 *"), "month: 0 is out of range 1-12");
  EXPECT_EQ(Schedule::Explain("* * * 13 *"), "month: 13 is out of range 1-12");
  EXPECT_EQ(Schedule::Explain("* * * * 8"), "day of the week: 8 is out of range 0-7");
  EXPECT_EQ(Schedule::Explain("0-60 * * * *"), "minute: 60 is out of range 0-59");
  EXPECT_EQ(Schedule::Explain("99999999999999999999 * * * *"), "minute: \"99999999999999999999\" is out of range 0-59");
}

TEST(CronParse, RejectsWhatIsNotANumberOrName) {
  EXPECT_EQ(Schedule::Explain("1a * * * *"), "minute: \"1a\" is not a number");
  EXPECT_EQ(Schedule::Explain("JAN * * * *"), "minute: \"JAN\" is not a number");
  EXPECT_EQ(Schedule::Explain("* * * JANUARY *"), "month: \"JANUARY\" is neither a number nor a name (JAN-DEC)");
  EXPECT_EQ(Schedule::Explain("* * * MON *"), "month: \"MON\" is neither a number nor a name (JAN-DEC)");
  EXPECT_EQ(Schedule::Explain("* * * * JAN"), "day of the week: \"JAN\" is neither a number nor a name (SUN-SAT)");
  EXPECT_EQ(Schedule::Explain("* * L * *"), "day of the month: \"L\" is not a number");
  EXPECT_EQ(Schedule::Explain("* * ? * *"), "day of the month: \"?\" is not a number");
  EXPECT_EQ(Schedule::Explain("* * * * 5#2"), "day of the week: \"5#2\" is not a number");
  EXPECT_EQ(Schedule::Explain("-5 * * * *"), "minute: a value is missing");
  EXPECT_EQ(Schedule::Explain("5- * * * *"), "minute: a value is missing");
  EXPECT_EQ(Schedule::Explain("1-2-3 * * * *"), "minute: \"2-3\" is not a number");
  EXPECT_EQ(Schedule::Explain("\xc3\xa9 * * * *"), "minute: \"\\xc3\\xa9\" is not a number");
  EXPECT_EQ(Schedule::Explain(std::string("0\0 * * * *", 10)), "minute: \"0\\x00\" is not a number");
  EXPECT_EQ(Schedule::Explain("@daily"),
            "a unix-cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has 1");
  EXPECT_EQ(Schedule::Explain("every 5 minutes"),
            "a unix-cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has 3");
}

TEST(CronParse, RejectsBackwardRanges) {
  EXPECT_EQ(Schedule::Explain("5-1 * * * *"), "minute: the range \"5-1\" runs backwards");
  EXPECT_EQ(Schedule::Explain("* * * * FRI-MON"), "day of the week: the range \"FRI-MON\" runs backwards");
  EXPECT_EQ(Schedule::Explain("* * * * 6-1"), "day of the week: the range \"6-1\" runs backwards");
  EXPECT_EQ(Schedule::Explain("* * * DEC-JAN *"), "month: the range \"DEC-JAN\" runs backwards");
}

TEST(CronParse, ChecksSteps) {
  EXPECT_EQ(Schedule::Explain("*/0 * * * *"), "minute: the step in \"*/0\" must be 1-60");
  EXPECT_EQ(Schedule::Explain("*/61 * * * *"), "minute: the step in \"*/61\" must be 1-60");
  EXPECT_EQ(Schedule::Explain("* */25 * * *"), "hour: the step in \"*/25\" must be 1-24");
  EXPECT_EQ(Schedule::Explain("1-10/ * * * *"), "minute: \"1-10/\" has no step after '/'");
  EXPECT_EQ(Schedule::Explain("*/x * * * *"), "minute: the step in \"*/x\" is not a number");
  EXPECT_EQ(Schedule::Explain("*/1/2 * * * *"), "minute: the step in \"*/1/2\" is not a number");
  EXPECT_EQ(Schedule::Explain("5/15 * * * *"), "minute: a step needs a range or '*' before it (\"5/15\")");
  EXPECT_EQ(Schedule::Explain("/5 * * * *"), "minute: a step needs a range or '*' before it (\"/5\")");
  EXPECT_TRUE(Schedule::Parse("*/60 * * * *").ok());
}

TEST(CronParse, RejectsEmptyListItems) {
  EXPECT_EQ(Schedule::Explain("1,,2 * * * *"), "minute: an empty list item");
  EXPECT_EQ(Schedule::Explain(",1 * * * *"), "minute: an empty list item");
  EXPECT_EQ(Schedule::Explain("1, * * * *"), "minute: an empty list item");
}

TEST(CronParse, RejectsOverlongText) {
  std::string text = "0 0 * * " + std::string(Schedule::kMaxLength, '1');
  EXPECT_EQ(Schedule::Explain(text), "longer than 500 characters");
  EXPECT_FALSE(Schedule::Parse(text).ok());
}

// --- fire times ------------------------------------------------------------------------------

TEST(CronNext, IsStrictlyAfter) {
  EXPECT_EQ(Fires("0 * * * *", "UTC", "2026-06-01T10:00:00Z", 2), (V{"2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z"}));
  EXPECT_EQ(Fires("* * * * *", "UTC", "2026-06-01T10:00:30Z", 2), (V{"2026-06-01T10:01:00Z", "2026-06-01T10:02:00Z"}));
  EXPECT_EQ(Fires("59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", 1), V{"2027-12-31T23:59:00Z"});
}

TEST(CronNext, StepsAndRanges) {
  EXPECT_EQ(Fires("10-40/15 * * * *", "UTC", "2026-06-01T10:00:00Z", 4),
            (V{"2026-06-01T10:10:00Z", "2026-06-01T10:25:00Z", "2026-06-01T10:40:00Z", "2026-06-01T11:10:00Z"}));
  EXPECT_EQ(Fires("*/25 * * * *", "UTC", "2026-06-01T10:00:00Z", 3),
            (V{"2026-06-01T10:25:00Z", "2026-06-01T10:50:00Z", "2026-06-01T11:00:00Z"}));
  EXPECT_EQ(Fires("0 */7 * * *", "UTC", "2026-06-01T00:00:00Z", 4),
            (V{"2026-06-01T07:00:00Z", "2026-06-01T14:00:00Z", "2026-06-01T21:00:00Z", "2026-06-02T00:00:00Z"}));
  EXPECT_EQ(Fires("0 0 1 */5 *", "UTC", "2026-01-01T00:00:00Z", 3),
            (V{"2026-06-01T00:00:00Z", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z"}));
}

TEST(CronNext, NamesAreCaseInsensitive) {
  // 2026-06-01 is a Monday.
  EXPECT_EQ(Fires("0 8 * jun,Jul mOn-wed", "UTC", "2026-06-01T09:00:00Z", 3),
            Fires("0 8 * 6,7 1-3", "UTC", "2026-06-01T09:00:00Z", 3));
  EXPECT_EQ(Fires("0 8 * jun,Jul mOn-wed", "UTC", "2026-06-01T09:00:00Z", 3),
            (V{"2026-06-02T08:00:00Z", "2026-06-03T08:00:00Z", "2026-06-08T08:00:00Z"}));
}

TEST(CronNext, SevenIsSunday) {
  // 2026-12-06 is a Sunday.
  EXPECT_EQ(Fires("0 0 * * 7", "UTC", "2026-12-01T00:00:00Z", 2), (V{"2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"}));
  EXPECT_EQ(Fires("0 0 * * 7", "UTC", "2026-12-01T00:00:00Z", 2),
            Fires("0 0 * * SUN", "UTC", "2026-12-01T00:00:00Z", 2));
  EXPECT_EQ(Fires("0 0 * * 5-7", "UTC", "2026-12-01T00:00:00Z", 4),
            (V{"2026-12-04T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-06T00:00:00Z", "2026-12-11T00:00:00Z"}));
  EXPECT_EQ(Fires("0 0 * * FRI-SUN", "UTC", "2026-12-01T00:00:00Z", 4),
            Fires("0 0 * * 5-7", "UTC", "2026-12-01T00:00:00Z", 4));
  EXPECT_EQ(Fires("0 0 * * SUN-SUN", "UTC", "2026-12-01T00:00:00Z", 2),
            (V{"2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"}));
  EXPECT_EQ(Schedule::Explain("0 0 * * FRI-0"), "day of the week: the range \"FRI-0\" runs backwards");
}

TEST(CronNext, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // 2026-06-01 is a Monday; the 1st of July a Wednesday.
  EXPECT_EQ(Fires("0 12 1 * MON", "UTC", "2026-06-20T00:00:00Z", 4),
            (V{"2026-06-22T12:00:00Z", "2026-06-29T12:00:00Z", "2026-07-01T12:00:00Z", "2026-07-06T12:00:00Z"}));
  EXPECT_EQ(Fires("0 12 1 * *", "UTC", "2026-06-20T00:00:00Z", 2), (V{"2026-07-01T12:00:00Z", "2026-08-01T12:00:00Z"}));
  EXPECT_EQ(Fires("0 12 * * MON", "UTC", "2026-06-20T00:00:00Z", 2),
            (V{"2026-06-22T12:00:00Z", "2026-06-29T12:00:00Z"}));
  // A field with '*' in it is unrestricted (crontab(5)), so the two combine with AND: odd days
  // that are Mondays.
  EXPECT_EQ(Fires("0 12 */2 * MON", "UTC", "2026-06-02T00:00:00Z", 3),
            (V{"2026-06-15T12:00:00Z", "2026-06-29T12:00:00Z", "2026-07-13T12:00:00Z"}));
  // 1-31 names every day but is a restriction: every day OR Monday is every day.
  EXPECT_EQ(Fires("0 12 1-31 * MON", "UTC", "2026-06-02T00:00:00Z", 2),
            (V{"2026-06-02T12:00:00Z", "2026-06-03T12:00:00Z"}));
}

TEST(CronNext, LeapDays) {
  EXPECT_EQ(Fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3),
            (V{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"}));
  // 2100 is not a leap year; 2000 was.
  EXPECT_EQ(Fires("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1), V{"2104-02-29T00:00:00Z"});
  EXPECT_EQ(Fires("0 0 29 2 *", "UTC", "1999-01-01T00:00:00Z", 1), V{"2000-02-29T00:00:00Z"});
  // The 29th of February on a Sunday (AND, the weekday field has '*'): 2032, then 2060.
  EXPECT_EQ(Fires("0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z", 2),
            (V{"2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"}));
}

TEST(CronNext, NeverFiringSchedules) {
  auto utc = *FindZone("UTC");
  for (const char* never : {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *", "* * 30-31 2 *", "0 0 30 2 */7"}) {
    auto s = Schedule::Parse(never);
    ASSERT_TRUE(s.ok()) << never;
    EXPECT_EQ(s->NextAfter(Utc("2026-01-01T00:00:00Z"), *utc), std::nullopt) << never;
  }
  // A default-constructed Schedule (no fields) never fires either.
  EXPECT_EQ(Schedule{}.NextAfter(Utc("2026-01-01T00:00:00Z"), *utc), std::nullopt);
  // With both day fields restricted either may match: Mondays in February.
  EXPECT_EQ(Fires("0 0 30 2 MON", "UTC", "2026-01-01T00:00:00Z", 2),
            (V{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"}));
}

TEST(CronNext, OutsideYearsOneTo9999IsNever) {
  auto utc = *FindZone("UTC");
  auto s = *Schedule::Parse("* * * * *");
  EXPECT_EQ(s.NextAfter(sys_seconds{seconds{253402300799}}, *utc), std::nullopt);
  EXPECT_EQ(s.NextAfter(sys_seconds::max(), *utc), std::nullopt);
  EXPECT_EQ(s.NextAfter(sys_seconds::min(), *utc), std::nullopt);
  EXPECT_EQ(Iso(*s.NextAfter(Utc("9999-12-31T23:58:00Z"), *utc)), "9999-12-31T23:59:00Z");
}

// --- daylight saving time: wall-clock times skipped by a change never fire, times repeated by
// one fire at each occurrence (docs/scheduler.md) ----------------------------------------------

TEST(CronDst, NewYorkSpringForwardSkipsTheMissingHour) {
  // 2026-03-08 02:00 EST becomes 03:00 EDT (07:00Z).
  EXPECT_EQ(Fires("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2),
            (V{"2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}));
  EXPECT_EQ(Fires("0 3 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2),
            (V{"2026-03-08T07:00:00Z", "2026-03-09T07:00:00Z"}));
  // A frequent schedule runs on evenly in UTC across the change.
  EXPECT_EQ(Fires("*/30 * * * *", "America/New_York", "2026-03-08T06:00:00Z", 3),
            (V{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}));
}

TEST(CronDst, NewYorkFallBackRunsTheRepeatedHourTwice) {
  // 2026-11-01 02:00 EDT becomes 01:00 EST (06:00Z): 01:30 happens at 05:30Z and at 06:30Z.
  EXPECT_EQ(Fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3),
            (V{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"}));
  // From inside the first 01:xx hour, the second one is still ahead.
  EXPECT_EQ(Fires("15 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", 2),
            (V{"2026-11-01T06:15:00Z", "2026-11-02T06:15:00Z"}));
  EXPECT_EQ(Fires("30 * * * *", "America/New_York", "2026-11-01T04:00:00Z", 4),
            (V{"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"}));
}

TEST(CronDst, London) {
  // 2026-03-29 01:00 GMT becomes 02:00 BST (01:00Z): no 01:30 that day.
  EXPECT_EQ(Fires("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2),
            (V{"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}));
  // 2026-10-25 02:00 BST becomes 01:00 GMT (01:00Z): 01:00 happens twice.
  EXPECT_EQ(Fires("0 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 3),
            (V{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-26T01:00:00Z"}));
}

TEST(CronDst, LordHoweHalfHourChanges) {
  // 2026-10-04 02:00 +10:30 becomes 02:30 +11 (15:30Z the day before): 02:00 and 02:20 do not
  // exist that night, 02:40 does.
  EXPECT_EQ(Fires("*/20 2 * * *", "Australia/Lord_Howe", "2026-10-03T14:00:00Z", 4),
            (V{"2026-10-03T15:40:00Z", "2026-10-04T15:00:00Z", "2026-10-04T15:20:00Z", "2026-10-04T15:40:00Z"}));
  // 2026-04-05 02:00 +11 becomes 01:30 +10:30 (15:00Z the day before): 01:30-01:59 repeat.
  EXPECT_EQ(Fires("*/15 1 * * *", "Australia/Lord_Howe", "2026-04-04T13:00:00Z", 7),
            (V{"2026-04-04T14:00:00Z", "2026-04-04T14:15:00Z", "2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z",
               "2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z", "2026-04-05T14:30:00Z"}));
}

TEST(CronDst, MidnightChangesAndSkippedDays) {
  // Havana springs forward at midnight: 2026-03-08 00:00 CST does not exist.
  EXPECT_EQ(Fires("0 0 * * *", "America/Havana", "2026-03-07T00:00:00Z", 3),
            (V{"2026-03-07T05:00:00Z", "2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z"}));
  // Apia moved across the date line: 2011-12-29 was followed by 2011-12-31.
  EXPECT_EQ(Fires("0 12 30 12 *", "Pacific/Apia", "2011-12-01T00:00:00Z", 1), V{"2012-12-29T22:00:00Z"});
  EXPECT_EQ(Fires("0 12 * * *", "Pacific/Apia", "2011-12-29T00:00:00Z", 2),
            (V{"2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z"}));
}

TEST(CronDst, RulesGoOnPastTheLastListedTransition) {
  // tzdata lists New York's changes up to 2037; its rule (EST5EDT,M3.2.0,M11.1.0) says what
  // follows: EDT from 2040-03-11 to 2040-11-04.
  EXPECT_EQ(Fires("0 12 * * *", "America/New_York", "2040-07-01T00:00:00Z", 1), V{"2040-07-01T16:00:00Z"});
  EXPECT_EQ(Fires("0 12 * * *", "America/New_York", "2040-12-01T00:00:00Z", 1), V{"2040-12-01T17:00:00Z"});
  EXPECT_EQ(Fires("30 2 * * *", "America/New_York", "2040-03-10T00:00:00Z", 2),
            (V{"2040-03-10T07:30:00Z", "2040-03-12T06:30:00Z"}));
  EXPECT_EQ(Fires("30 1 * * *", "America/New_York", "2040-11-03T12:00:00Z", 2),
            (V{"2040-11-04T05:30:00Z", "2040-11-04T06:30:00Z"}));
  // Southern hemisphere, 30-minute change: Lord Howe is on +11 in January 2050.
  EXPECT_EQ(Fires("0 12 * * *", "Australia/Lord_Howe", "2050-01-10T00:00:00Z", 1), V{"2050-01-10T01:00:00Z"});
  EXPECT_EQ(Fires("0 12 * * *", "Australia/Lord_Howe", "2050-07-10T00:00:00Z", 1), V{"2050-07-10T01:30:00Z"});
  // A zone whose rule has no daylight saving keeps its offset.
  EXPECT_EQ(Fires("0 9 * * *", "Asia/Kolkata", "2060-06-01T00:00:00Z", 1), V{"2060-06-01T03:30:00Z"});
  // The last year the search accepts.
  EXPECT_EQ(Fires("0 12 * * *", "America/New_York", "9999-07-01T00:00:00Z", 1), V{"9999-07-01T16:00:00Z"});
}

TEST(CronDst, ZoneWithoutDaylightSaving) {
  EXPECT_EQ(Fires("0 9 * * *", "Asia/Kolkata", "2026-03-01T00:00:00Z", 2),
            (V{"2026-03-01T03:30:00Z", "2026-03-02T03:30:00Z"}));
  EXPECT_EQ(Fires("0 9 * * *", "Asia/Kolkata", "2026-11-01T00:00:00Z", 1), V{"2026-11-01T03:30:00Z"});
  EXPECT_EQ(Fires("45 23 * * 6", "Asia/Tokyo", "2026-06-01T00:00:00Z", 1), V{"2026-06-06T14:45:00Z"});
}

// --- zones -----------------------------------------------------------------------------------

TEST(CronZone, FindsTzDatabaseNames) {
  for (const char* name : {"America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Etc/UTC"}) {
    auto zone = FindZone(name);
    ASSERT_TRUE(zone.ok()) << name;
    EXPECT_EQ((*zone)->name(), name);
  }
  for (const char* utc : {"", "utc", "UTC", "Utc"}) {
    auto zone = FindZone(utc);
    ASSERT_TRUE(zone.ok()) << utc;
    EXPECT_EQ((*zone)->name(), "Etc/UTC") << utc;
  }
}

TEST(CronZone, RejectsUnknownNamesWithGooglesText) {
  for (const std::string& bad :
       std::vector<std::string>{"Foo/Bar", "america/new_york", "EST5", "../etc/passwd", "/etc/localtime", "localtime",
                                "posixrules", "posix/America/New_York", "right/UTC", "America/New_York ",
                                std::string("UTC\0", 4), std::string(300, 'A'), "zone.tab"}) {
    auto zone = FindZone(bad);
    ASSERT_FALSE(zone.ok()) << bad;
    EXPECT_EQ(zone.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(zone.status().message(), "Schedule or time zone is invalid.");
  }
}

}  // namespace
}  // namespace stratus::cron
