// RFC 8785 canonical JSON (contract in canonical_json.h). Numbers: std::to_chars gives the
// shortest digits that read back as the same double; they are then placed the way
// ECMA-262's Number::toString places them.
#include "stratus/sdk/canonical_json.h"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace stratus::sdk {

namespace {

using Json = nlohmann::json;

// The UTF-16 code units of UTF-8 text; false when it is not valid UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF included).
bool Utf16Of(std::string_view text, std::u16string* out) {
  out->clear();
  size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
    unsigned char b = byte(i);
    uint32_t cp = 0;
    size_t len = 0;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1f;
      len = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f;
      len = 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (size_t j = 1; j < len; ++j) {
      if ((byte(i + j) & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (byte(i + j) & 0x3f);
    }
    static constexpr uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kLeast[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out->push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      out->push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      out->push_back(static_cast<char16_t>(cp));
    }
    i += len;
  }
  return true;
}

void AppendString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        if (u < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// `where` for an error text: bounded, since member names come from whoever sent the data.
std::string At(const std::string& where) {
  if (where.empty()) return "/";
  return where.size() <= 120 ? where : where.substr(0, 120) + "...";
}

// `where` is a JSON Pointer-like path for the error text ("/a/0").
Status Append(const Json& value, const std::string& where, std::string* out);

Status AppendObject(const Json& object, const std::string& where, std::string* out) {
  std::vector<std::pair<std::u16string, const std::string*>> names;
  names.reserve(object.size());
  for (const auto& [name, member] : object.items()) {
    std::u16string units;
    if (!Utf16Of(name, &units)) return InvalidArgument("a member name under " + At(where) + " is not valid UTF-8");
    names.emplace_back(std::move(units), &name);
  }
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    const std::string& name = *names[i].second;
    AppendString(name, out);
    out->push_back(':');
    STRATUS_RETURN_IF_ERROR(Append(object.at(name), where + "/" + name, out));
  }
  out->push_back('}');
  return Status::Ok();
}

// Whether an integer survives the trip through a double, which is what JCS reads it as.
// 2^63 and 2^64 are exact doubles, so the bounds below are compared exactly.
bool ExactDouble(int64_t v) {
  auto d = static_cast<double>(v);
  return d < 9223372036854775808.0 && static_cast<int64_t>(d) == v;
}
bool ExactDouble(uint64_t v) {
  auto d = static_cast<double>(v);
  return d < 18446744073709551616.0 && static_cast<uint64_t>(d) == v;
}

template <typename Int>
StatusOr<std::string> IntegerText(Int v, const std::string& where) {
  if (!ExactDouble(v)) {
    return InvalidArgument("the number at " + At(where) +
                           " cannot be held exactly by an IEEE-754 double, as RFC 8785 requires; send it as a string");
  }
  return CanonicalNumber(static_cast<double>(v));
}

Status Append(const Json& value, const std::string& where, std::string* out) {
  switch (value.type()) {
    case Json::value_t::null:
      *out += "null";
      return Status::Ok();
    case Json::value_t::boolean:
      *out += value.get<bool>() ? "true" : "false";
      return Status::Ok();
    case Json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      std::u16string units;
      if (!Utf16Of(text, &units)) return InvalidArgument("the string at " + At(where) + " is not valid UTF-8");
      AppendString(text, out);
      return Status::Ok();
    }
    case Json::value_t::number_integer: {
      STRATUS_ASSIGN_OR_RETURN(std::string text, IntegerText(value.get<int64_t>(), where));
      *out += text;
      return Status::Ok();
    }
    case Json::value_t::number_unsigned: {
      STRATUS_ASSIGN_OR_RETURN(std::string text, IntegerText(value.get<uint64_t>(), where));
      *out += text;
      return Status::Ok();
    }
    case Json::value_t::number_float: {
      auto text = CanonicalNumber(value.get<double>());
      if (!text.ok()) return InvalidArgument("the number at " + At(where) + ": " + text.status().message());
      *out += *text;
      return Status::Ok();
    }
    case Json::value_t::array: {
      out->push_back('[');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out->push_back(',');
        STRATUS_RETURN_IF_ERROR(Append(value[i], where + "/" + std::to_string(i), out));
      }
      out->push_back(']');
      return Status::Ok();
    }
    case Json::value_t::object:
      return AppendObject(value, where, out);
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return InvalidArgument("the value at " + At(where) + " has no JSON form");
}

}  // namespace

StatusOr<std::string> CanonicalNumber(double value) {
  if (!std::isfinite(value)) return InvalidArgument("NaN and infinities have no JSON form (RFC 8785)");
  if (value == 0) return std::string("0");  // -0 too
  std::string out;
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // Shortest round-trip digits in scientific form: "d[.ddd]e±x".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
  // ECMA-262 Number::toString: value = 0.digits × 10^n, with k digits.
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n));
    out.push_back('.');
    out += digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out += digits.substr(1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

StatusOr<std::string> CanonicalJson(const nlohmann::json& value) {
  std::string out;
  STRATUS_RETURN_IF_ERROR(Append(value, "", &out));
  return out;
}

StatusOr<std::string> IdempotencyKey(std::string_view job_name, const nlohmann::json& data) {
  STRATUS_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(data));
  std::string input(job_name);
  input += '\n';
  input += canonical;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * sizeof digest);
  for (unsigned char b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

}  // namespace stratus::sdk
