// A JSON document stored under one key (JSON.*; families/json.cc). Object members keep their
// insertion order, as RedisJSON keeps them; integers stay integers and other numbers are
// doubles.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace stratus::kv {

using JsonDoc = nlohmann::ordered_json;

struct JsonValue {
  JsonDoc doc;
};

// Compact serialisation (no spaces), numbers as RedisJSON prints them.
std::string JsonDump(const JsonDoc& v);

inline const char* TypeNameOf(const JsonValue&) {
  return "ReJSON-RL";
}
inline const char* ObjectEncoding(const JsonValue&) {
  return "raw";
}
// The bytes the tree takes in this process (nodes, member vectors, long strings).
size_t MemoryUsage(const JsonValue& v);
// One JSON.SET key $ <document> record.
void AppendSnapshot(const std::string& key, const JsonValue& v, std::string* out);

}  // namespace stratus::kv
