// How the CLI writes what a server sent: tables for people, JSON and YAML for scripts, and a
// progress bar on stderr. Nothing from a server reaches the terminal raw: control characters
// (C0, DEL, C1) and invalid UTF-8 are escaped in table cells, and JSON and YAML escape them in
// their own syntax.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stratus::cli {

// "\x1b[31m" -> "\\x1b[31m": C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are
// not UTF-8 become \xNN (\n, \r and \t as themselves escaped); everything else is kept.
std::string TerminalSafe(const std::string& s);

// JSON text (pretty, 2 spaces, a final newline) with C1 controls and invalid UTF-8 escaped.
std::string JsonText(const nlohmann::json& j);
// The same document as block YAML: strings double-quoted with JSON's escapes (valid YAML),
// numbers, booleans and null plain, keys in the order of the JSON object.
std::string YamlText(const nlohmann::json& j);
// JsonText or YamlText by --format ("json" or "yaml").
std::string Formatted(const nlohmann::json& j, const std::string& format);

// Columns padded to their widest cell; cells go through TerminalSafe.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void Add(std::vector<std::string> row);
  size_t size() const { return rows_.size(); }
  // `max_width` > 0 cuts lines to that many columns (for `stratus top`).
  std::string Render(size_t max_width = 0) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// A progress bar on stderr, drawn only when stderr is a terminal; redrawn at most ten times a
// second. total 0: unknown (a count and a rate, no bar).
class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();
  void Set(uint64_t done);
  void SetTotal(uint64_t total);
  void Finish();  // clears the line

 private:
  void Draw(bool force);
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool active_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Short human forms: "2.5/s", "1m30s", "3h", "-".
std::string Rate(double per_second);
std::string Age(double seconds);
// A JSON value as a table cell: strings as they are, numbers without trailing zeros, absent "".
std::string Cell(const nlohmann::json& j);

}  // namespace stratus::cli
