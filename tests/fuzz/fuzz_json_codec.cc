// Request bodies through the Queue and Task codecs. Decoding never crashes; whatever decodes
// encodes to JSON that decodes again, to the same value (the store relies on this round trip).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json.h"
#include "tasks/codec.h"

namespace {

using stratus::Json;
using stratus::JsonObject;
using stratus::JsonStyle;

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_json_codec: %s\n  input: %.*s\n  detail: %s\n", what, static_cast<int>(input.size()),
               input.data(), detail.c_str());
  std::abort();
}

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::strict);
}

// Encodes, re-parses the text and decodes again; the second encoding must equal the first.
template <typename T, typename Decode, typename Encode>
void CheckRoundTrip(std::string_view input, const char* path, const T& value, Decode decode, Encode encode) {
  for (bool ints : {false, true}) {
    const JsonStyle style{ints};
    Json first = encode(value, style);
    std::string text = Dump(first);
    auto reparsed = stratus::ParseJsonBody(text);
    if (!reparsed.ok()) Fail("encoded JSON does not parse", input, text);
    auto obj = JsonObject::Of(*reparsed, path);
    if (!obj.ok()) Fail("encoded JSON is not an object", input, text);
    auto again = decode(*obj);
    if (!again.ok()) Fail("encoded value does not decode", input, text + " -> " + again.status().ToString());
    Json second = encode(*again, style);
    if (second != first) Fail("round trip changed the value", input, text + " -> " + Dump(second));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto body = stratus::ParseJsonBody(input);
  if (!body.ok()) return 0;

  if (auto obj = JsonObject::Of(*body, "queue"); obj.ok()) {
    if (auto queue = stratus::QueueFromJson(*obj); queue.ok()) {
      CheckRoundTrip(input, "queue", *queue, stratus::QueueFromJson, stratus::QueueToJson);
    }
  }

  // A tasks.create body wraps the task: {"task": {...}, "responseView": ...}; accept both shapes.
  const Json* task_json = &*body;
  if (body->is_object() && body->contains("task")) task_json = &(*body)["task"];
  if (auto obj = JsonObject::Of(*task_json, "task"); obj.ok()) {
    if (auto task = stratus::TaskFromJson(*obj); task.ok()) {
      auto encode_full = [](const stratus::Task& t, JsonStyle style) {
        return stratus::TaskToJson(t, stratus::TaskView::kFull, style);
      };
      CheckRoundTrip(input, "task", *task, stratus::TaskFromJson, encode_full);
      // BASIC must never leak the body, whatever the payload.
      Json basic = stratus::TaskToJson(*task, stratus::TaskView::kBasic, JsonStyle{});
      for (const char* payload : {"httpRequest", "appEngineHttpRequest"}) {
        if (basic.contains(payload) && basic[payload].contains("body"))
          Fail("BASIC view shows the body", input, Dump(basic));
      }
    }
  }
  return 0;
}
