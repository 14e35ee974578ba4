#include "kv/reply.h"

#include <charconv>

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
// "<prefix><n>\r\n" without a temporary string: this runs for every logged command.
void AppendLength(char prefix, size_t n, std::string* out) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out->append(buf, static_cast<size_t>(end - buf));
}
}  // namespace

void AppendRespCommand(const std::vector<std::string>& argv, std::string* out) {
  AppendLength('*', argv.size(), out);
  for (const auto& a : argv) {
    AppendLength('$', a.size(), out);
    *out += a;
    *out += "\r\n";
  }
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
