#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace stratus::cli {

namespace {

// Length of the UTF-8 sequence at s[i] and its code point, or 0 when it is not valid UTF-8.
size_t Utf8At(const std::string& s, size_t i, uint32_t* cp) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t v = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 2) return 0;
    v = (v << 6) | (c & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;  // overlong, surrogate
  *cp = v;
  return n;
}

std::string Hex(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}

// nlohmann escapes C0 controls itself; C1 controls stay raw UTF-8 there, so escape them too.
std::string EscapeC1(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", next);
      out += buf;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string JsonScalar(const nlohmann::json& j) {
  return EscapeC1(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool IsScalarLike(const nlohmann::json& j) {
  return !j.is_structured() || j.empty();
}

std::string YamlScalar(const nlohmann::json& j) {
  if (j.is_object()) return "{}";
  if (j.is_array()) return "[]";
  return JsonScalar(j);  // strings double-quoted with JSON escapes, which YAML reads alike
}

std::string YamlKey(const std::string& k) {
  bool plain = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/';
  });
  return plain && !std::isdigit(static_cast<unsigned char>(k[0])) ? k : JsonScalar(k);
}

void Yaml(const nlohmann::json& j, size_t indent, std::string* out) {
  const std::string pad(indent, ' ');
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      *out += pad + YamlKey(k) + ":";
      if (IsScalarLike(v)) {
        *out += " " + YamlScalar(v) + "\n";
      } else {
        *out += "\n";
        Yaml(v, indent + 2, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (IsScalarLike(v)) {
        *out += pad + "- " + YamlScalar(v) + "\n";
        continue;
      }
      std::string nested;
      Yaml(v, indent + 2, &nested);
      nested.replace(0, indent + 2, pad + "- ");  // the item's first line carries the dash
      *out += nested;
    }
  } else {
    *out += pad + YamlScalar(j) + "\n";
  }
}

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// The first `width` code points of s.
std::string Cut(const std::string& s, size_t width) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && n++ == width) return s.substr(0, i);
  }
  return s;
}

}  // namespace

std::string TerminalSafe(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = Utf8At(s, i, &cp);
    auto c = static_cast<unsigned char>(s[i]);
    if (n == 0) {
      out += Hex(c);
      i += 1;
    } else if (cp == '\n') {
      out += "\\n", i += 1;
    } else if (cp == '\r') {
      out += "\\r", i += 1;
    } else if (cp == '\t') {
      out += "\\t", i += 1;
    } else if (cp < 0x20 || cp == 0x7f) {
      out += Hex(c), i += 1;
    } else if (cp >= 0x80 && cp <= 0x9f) {
      out += Hex(static_cast<unsigned char>(s[i])) + Hex(static_cast<unsigned char>(s[i + 1]));
      i += 2;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

std::string JsonText(const nlohmann::json& j) {
  return EscapeC1(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
}

std::string YamlText(const nlohmann::json& j) {
  std::string out;
  if (IsScalarLike(j)) return YamlScalar(j) + "\n";
  Yaml(j, 0, &out);
  return out;
}

std::string Formatted(const nlohmann::json& j, const std::string& format) {
  return format == "yaml" ? YamlText(j) : JsonText(j);
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::Add(std::vector<std::string> row) {
  for (auto& cell : row) cell = TerminalSafe(cell);
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string Table::Render(size_t max_width) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < cells.size(); ++c) {
      l += cells[c];
      if (c + 1 < cells.size()) l += std::string(widths[c] - DisplayWidth(cells[c]) + 2, ' ');
    }
    if (max_width > 0 && DisplayWidth(l) > max_width) l = Cut(l, max_width);
    out += l + "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), active_(isatty(STDERR_FILENO) == 1) {
  start_ = std::chrono::steady_clock::now();
  Draw(true);
}

Progress::~Progress() {
  Finish();
}

void Progress::Set(uint64_t done) {
  done_ = done;
  Draw(false);
}

void Progress::SetTotal(uint64_t total) {
  total_ = total;
  Draw(false);
}

void Progress::Draw(bool force) {
  if (!active_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  std::string line = "\r" + label_ + " ";
  if (total_ > 0) {
    const int kWidth = 30;
    uint64_t done = std::min(done_, total_);
    int filled = static_cast<int>(kWidth * done / total_);
    line += "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
    line += std::to_string(100 * done / total_) + "% " + std::to_string(done_) + "/" + std::to_string(total_);
  } else {
    static constexpr char kSpin[] = "|/-\\";
    line += std::string(1, kSpin[static_cast<int>(secs * 8) % 4]) + " " + std::to_string(done_);
  }
  if (secs > 0.5) line += "  " + Rate(static_cast<double>(done_) / secs);
  line += "  " + Age(secs) + "\x1b[K";
  std::cerr << line << std::flush;
}

void Progress::Finish() {
  if (!active_ || finished_) return;
  finished_ = true;
  std::cerr << "\r\x1b[K" << std::flush;
}

std::string Rate(double per_second) {
  if (per_second < 0 || std::isnan(per_second)) return "-";
  char buf[32];
  if (per_second >= 1000) {
    std::snprintf(buf, sizeof buf, "%.1fk/s", per_second / 1000);
  } else if (per_second == std::floor(per_second)) {
    std::snprintf(buf, sizeof buf, "%.0f/s", per_second);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f/s", per_second);
  }
  return buf;
}

std::string Age(double seconds) {
  if (seconds < 0 || std::isnan(seconds)) return "-";
  auto s = static_cast<int64_t>(seconds);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string Cell(const nlohmann::json& j) {
  if (j.is_null()) return "";
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", j.get<double>());
    return buf;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stratus::cli
