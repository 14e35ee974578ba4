#include "stratus/sdk/log.h"

#include <array>
#include <cstdio>

#include "common/clock.h"
#include "common/time.h"

namespace stratus::sdk {
namespace {

constexpr std::string_view kRedacted = "[REDACTED]";
constexpr std::array<std::string_view, 6> kSecretWords = {"password", "token",  "apikey",
                                                          "api_key",  "secret", "authorization"};

bool IsSecretKey(std::string_view key) {
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view word : kSecretWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

void RedactInPlace(nlohmann::json& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (IsSecretKey(it.key())) {
        it.value() = kRedacted;
      } else {
        RedactInPlace(it.value());
      }
    }
  } else if (value.is_array()) {
    for (auto& element : value) RedactInPlace(element);
  }
}

void WriteToStderr(std::string_view line) {
  // One fwrite per line: stdio locks the stream per call, so lines from threads never interleave.
  std::string out(line);
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace

nlohmann::json Redact(const nlohmann::json& fields) {
  nlohmann::json copy = fields;
  RedactInPlace(copy);
  return copy;
}

Logger::Logger() : Logger(LogSink()) {}

Logger::Logger(LogSink sink) : sink_(sink ? std::move(sink) : LogSink(WriteToStderr)) {}

void Logger::Info(std::string_view msg, const nlohmann::json& fields) const {
  Write("info", msg, fields);
}
void Logger::Warn(std::string_view msg, const nlohmann::json& fields) const {
  Write("warn", msg, fields);
}
void Logger::Error(std::string_view msg, const nlohmann::json& fields) const {
  Write("error", msg, fields);
}

void Logger::Write(std::string_view level, std::string_view msg, const nlohmann::json& fields) const {
  // ts, level and msg lead the line; the caller's fields follow in key order. A field that
  // would shadow one of the three is kept under a "field." name instead.
  nlohmann::json rest = Redact(fields.is_object() ? fields : nlohmann::json{{"fields", fields}});
  for (const char* reserved : {"ts", "level", "msg"}) {
    auto it = rest.find(reserved);
    if (it == rest.end()) continue;
    nlohmann::json moved = std::move(*it);
    rest.erase(it);
    rest[std::string("field.") + reserved] = std::move(moved);
  }
  const auto replace = nlohmann::json::error_handler_t::replace;
  nlohmann::json head = nlohmann::json::array({FormatTimestamp(SystemClock().Now()), level, msg});
  std::string line = "{\"ts\":" + head[0].dump(-1, ' ', false, replace) +
                     ",\"level\":" + head[1].dump(-1, ' ', false, replace) +
                     ",\"msg\":" + head[2].dump(-1, ' ', false, replace);
  if (!rest.empty()) line += "," + rest.dump(-1, ' ', false, replace).substr(1);  // drops rest's '{'
  if (rest.empty()) line += "}";
  sink_(line);
}

}  // namespace stratus::sdk
