#include "common/time.h"

#include <charconv>
#include <cstdio>

namespace stratus {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Reads ".ddddddddd" at pos; returns microseconds and advances pos.
bool ReadFraction(std::string_view s, size_t* pos, Micros* micros) {
  *micros = 0;
  if (*pos >= s.size() || s[*pos] != '.') return true;
  ++*pos;
  size_t digits = 0;
  Micros scale = 100000;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
    if (digits < 6) *micros += (s[*pos] - '0') * scale;
    scale /= 10;
    ++digits;
    ++*pos;
  }
  return digits >= 1 && digits <= 9;
}

std::string FractionDigits(Micros frac) {
  char buf[32];  // room for any long long (GCC checks), though frac is below 1,000,000
  if (frac == 0) return "";
  if (frac % 1000 == 0) {
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac / 1000));
  } else {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
  }
  return buf;
}

}  // namespace

StatusOr<Micros> ParseTimestamp(std::string_view s) {
  auto bad = [&] { return InvalidArgument("invalid timestamp \"" + std::string(s) + "\""); };
  int year, month, day, hour, minute, second;
  if (s.size() < 20 || !ReadDigits(s, 0, 4, &year) || s[4] != '-' || !ReadDigits(s, 5, 2, &month) || s[7] != '-' ||
      !ReadDigits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !ReadDigits(s, 11, 2, &hour) || s[13] != ':' ||
      !ReadDigits(s, 14, 2, &minute) || s[16] != ':' || !ReadDigits(s, 17, 2, &second)) {
    return bad();
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || (month == 2 && day == 29 && !leap) ||
      hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  size_t pos = 19;
  Micros frac = 0;
  if (!ReadFraction(s, &pos, &frac)) return bad();
  int64_t offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ReadDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ReadDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  // Google's Timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  if (secs < kMinSeconds || secs > kMaxSeconds) return bad();
  return secs * kMicrosPerSecond + frac;
}

std::string FormatTimestamp(Micros t) {
  int64_t secs = t / kMicrosPerSecond;
  Micros frac = t % kMicrosPerSecond;
  if (frac < 0) {
    frac += kMicrosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return std::string(buf) + FractionDigits(frac) + "Z";
}

StatusOr<Micros> ParseDuration(std::string_view s) {
  auto bad = [&] { return InvalidArgument("invalid duration \"" + std::string(s) + "\""); };
  if (s.size() < 2 || s.back() != 's') return bad();
  std::string_view body = s.substr(0, s.size() - 1);
  bool negative = false;
  if (!body.empty() && body.front() == '-') {
    negative = true;
    body.remove_prefix(1);
  }
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) return bad();
  size_t dot = body.find('.');
  std::string_view whole = body.substr(0, dot);
  if (whole.empty() && dot == std::string_view::npos) return bad();
  int64_t seconds = 0;
  if (!whole.empty()) {
    auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
    if (ec != std::errc() || p != whole.data() + whole.size() || seconds > 315'576'000'000) return bad();
  }
  Micros frac = 0;
  if (dot != std::string_view::npos) {
    size_t pos = dot;
    if (!ReadFraction(body, &pos, &frac) || pos != body.size()) {
      if (!(whole.size() > 0 && dot + 1 == body.size())) return bad();  // "10.s" is accepted
    }
  }
  Micros total = seconds * kMicrosPerSecond + frac;
  return negative ? -total : total;
}

std::string FormatDuration(Micros d) {
  std::string sign = d < 0 ? "-" : "";
  if (d < 0) d = -d;
  return sign + std::to_string(d / kMicrosPerSecond) + FractionDigits(d % kMicrosPerSecond) + "s";
}

StatusOr<Micros> ParseHumanDuration(std::string_view s) {
  auto bad = [&] { return InvalidArgument("invalid duration \"" + std::string(s) + "\" (use e.g. 90s, 30m, 1h, 7d)"); };
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return bad();
  double value = 0;
  try {
    value = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return bad();
  }
  std::string_view unit = s.substr(i);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1;
  else if (unit == "ms")
    scale = 1e-3;
  else if (unit == "m")
    scale = 60;
  else if (unit == "h")
    scale = 3600;
  else if (unit == "d")
    scale = 86400;
  else
    return bad();
  const double micros = value * scale * kMicrosPerSecond;
  if (!(micros < 9.0e18)) return bad();  // also catches NaN and infinity
  return static_cast<Micros>(micros);
}

}  // namespace stratus
