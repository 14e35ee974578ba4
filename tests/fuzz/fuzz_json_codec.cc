// Request bodies through the Queue and Task codecs. Decoding never crashes; whatever decodes
// encodes to JSON that decodes again, to the same value (the store relies on this round trip).
// Validation never crashes either, and a task it accepts carries nothing that could split the
// request built from it (no CR, LF or other control characters in its URL or headers).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "common/json.h"
#include "tasks/codec.h"
#include "tasks/validation.h"

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

bool HasControl(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

void CheckAcceptedTask(std::string_view input, stratus::Task task) {
  constexpr stratus::Micros kNow = 1'795'000'000'000'000;  // late 2026
  if (!stratus::PrepareNewTask(&task, kNow, stratus::Limits{}).ok()) return;
  auto check = [&](const std::string& url, const std::map<std::string, std::string>& headers) {
    if (HasControl(url) || url.find(' ') != std::string::npos) Fail("accepted URL has a control character", input, url);
    for (const auto& [k, v] : headers) {
      if (k.empty() || HasControl(k) || k.find_first_of(" :") != std::string::npos || HasControl(v)) {
        Fail("accepted header can split a request", input, k + ": " + v);
      }
    }
  };
  if (task.http_request) check(task.http_request->url, task.http_request->headers);
  if (task.app_engine_http_request)
    check(task.app_engine_http_request->relative_uri, task.app_engine_http_request->headers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto body = stratus::ParseJsonBody(input);
  if (!body.ok()) return 0;

  if (auto obj = JsonObject::Of(*body, "queue"); obj.ok()) {
    if (auto queue = stratus::QueueFromJson(*obj); queue.ok()) {
      CheckRoundTrip(input, "queue", *queue, stratus::QueueFromJson, stratus::QueueToJson);
      stratus::Queue q = *queue;
      stratus::ApplyQueueDefaults(&q);
      stratus::ValidateQueueConfig(q, stratus::Limits{}).IgnoreError();
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
      CheckAcceptedTask(input, *task);
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
