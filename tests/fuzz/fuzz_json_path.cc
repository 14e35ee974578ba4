// Fuzzes the JSONPath parser and evaluator behind JSON.* (src/kv/json_path.cc). Input: the path
// text, optionally followed by a 0x01 byte and a JSON document to evaluate it on (default: a
// small document with nested objects and arrays). A parse error or an empty result is fine; a
// crash, a sanitizer report or a hang is not.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kv/json_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stratus::kv;  // NOLINT(google-build-using-namespace)
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view path_text = in;
  std::string_view doc_text = R"({"a":1,"b":[1,2,{"a":"x","c":[true,null,2.5]}],"o":{"a":{"a":[]},"k":"v"}})";
  if (size_t cut = in.find('\x01'); cut != std::string_view::npos) {
    path_text = in.substr(0, cut);
    doc_text = in.substr(cut + 1);
    if (doc_text.size() > 4096) return 0;
  }
  auto path = jsonpath::Parse(path_text);
  if (!path.ok()) return 0;
  JsonDoc doc = JsonDoc::parse(doc_text, nullptr, false);
  if (doc.is_discarded()) return 0;
  // Bound the document's depth as JSON.SET does, so the evaluator's recursion stays bounded.
  int depth = 0, max_depth = 0;
  for (char c : doc_text) {
    if (c == '[' || c == '{') max_depth = std::max(max_depth, ++depth);
    if (c == ']' || c == '}') --depth;
  }
  if (max_depth > 128) return 0;
  for (const auto& loc : jsonpath::Find(*path, doc)) {
    if (!jsonpath::Resolve(doc, loc)) __builtin_trap();  // every match resolves
  }
  return 0;
}
