// stratus/sdk/log.h — structured JSON log lines for SDK components, with secrets redacted.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace stratus::sdk {

// A copy of `fields` in which the value of every key that names a secret (password, token,
// apiKey, secret, authorization — any case, any position in the key, at any depth) is
// replaced by "[REDACTED]".
nlohmann::json Redact(const nlohmann::json& fields);

// One line: {"ts":"…Z","level":"info","msg":"…", …fields redacted}.
using LogSink = std::function<void(std::string_view line)>;

class Logger {
 public:
  Logger();                       // to stderr (not explicit, so options structs holding one stay aggregates)
  explicit Logger(LogSink sink);  // an empty sink also means stderr
  void Info(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object()) const;
  void Warn(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object()) const;
  void Error(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object()) const;

 private:
  void Write(std::string_view level, std::string_view msg, const nlohmann::json& fields) const;
  LogSink sink_;
};

}  // namespace stratus::sdk
