#include "kv/reply.h"

#include <cstring>

namespace stratus::kv {

void AppendResp(const Reply& r, std::string* out) {
  switch (r.type) {
    case Reply::Type::kNil:
      *out += "$-1\r\n";
      return;
    case Reply::Type::kNilArray:
      *out += "*-1\r\n";
      return;
    case Reply::Type::kStatus:
      *out += '+';
      *out += r.str;
      *out += "\r\n";
      return;
    case Reply::Type::kError:
      *out += '-';
      *out += r.str;
      *out += "\r\n";
      return;
    case Reply::Type::kInteger:
      *out += ':';
      *out += std::to_string(r.integer);
      *out += "\r\n";
      return;
    case Reply::Type::kBulk:
      *out += '$';
      *out += std::to_string(r.str.size());
      *out += "\r\n";
      *out += r.str;
      *out += "\r\n";
      return;
    case Reply::Type::kArray:
      *out += '*';
      *out += std::to_string(r.elems.size());
      *out += "\r\n";
      for (const auto& e : r.elems) AppendResp(e, out);
      return;
  }
}

namespace {
// Writes the decimal digits of `n` ending just before `end`; returns where they start. This
// runs for every logged command: no temporary strings.
char* DigitsBefore(char* end, size_t n) {
  do {
    *--end = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  return end;
}
}  // namespace

void AppendRespCommand(std::string_view name, const std::vector<std::string>& argv, std::string* out) {
  // One resize for the whole record, then plain copies: "*N\r\n" and "$len\r\narg\r\n" each.
  size_t size = 3 + 20;
  for (size_t i = 0; i < argv.size(); ++i) size += (i == 0 ? name.size() : argv[i].size()) + 5 + 20;
  const size_t start = out->size();
  out->resize(start + size);
  char* p = out->data() + start;
  char digits[20];
  char* const digits_end = digits + sizeof digits;
  auto length = [&](char prefix, size_t n) {
    char* d = DigitsBefore(digits_end, n);
    *p++ = prefix;
    for (; d < digits_end; ++d) *p++ = *d;
    *p++ = '\r';
    *p++ = '\n';
  };
  length('*', argv.size());
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string_view a = i == 0 ? name : std::string_view(argv[i]);
    length('$', a.size());
    if (!a.empty()) std::memcpy(p, a.data(), a.size());
    p += a.size();
    *p++ = '\r';
    *p++ = '\n';
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

void AppendRespCommand(const std::vector<std::string>& argv, std::string* out) {
  AppendRespCommand(argv.empty() ? std::string_view() : std::string_view(argv[0]), argv, out);
}

std::string DebugString(const Reply& r) {
  switch (r.type) {
    case Reply::Type::kNil:
      return "(nil)";
    case Reply::Type::kNilArray:
      return "(nil-array)";
    case Reply::Type::kStatus:
      return "+" + r.str;
    case Reply::Type::kError:
      return "-" + r.str;
    case Reply::Type::kInteger:
      return ":" + std::to_string(r.integer);
    case Reply::Type::kBulk:
      return "\"" + r.str + "\"";
    case Reply::Type::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < r.elems.size(); ++i) s += (i ? ", " : "") + DebugString(r.elems[i]);
      return s + "]";
    }
  }
  return "?";
}

}  // namespace stratus::kv
