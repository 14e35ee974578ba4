// Request bodies through the Cloud Scheduler Job codec. Decoding never crashes; whatever
// decodes encodes to JSON that decodes to the same value, and to a store row that reads back
// the same. Validation never crashes, and a job it accepts carries nothing that could split
// the request the executor builds from it (no control characters in its URI or headers).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json.h"
#include "scheduler/codec.h"
#include "scheduler/sqlite_job_store.h"
#include "scheduler/validation.h"

namespace {

using stratus::Json;
using stratus::JsonObject;
using stratus::JsonStyle;
using stratus::scheduler::Job;

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_job_codec: %s\n  input: %.*s\n  detail: %s\n", what, static_cast<int>(input.size()),
               input.data(), detail.c_str());
  std::abort();
}

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::strict);
}

bool HasControl(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

void CheckRoundTrip(std::string_view input, const Job& job) {
  for (bool ints : {false, true}) {
    const JsonStyle style{ints};
    Json first = stratus::scheduler::JobToJson(job, style);
    std::string text = Dump(first);
    auto reparsed = stratus::ParseJsonBody(text);
    if (!reparsed.ok()) Fail("encoded JSON does not parse", input, text);
    auto obj = JsonObject::Of(*reparsed, "job");
    if (!obj.ok()) Fail("encoded JSON is not an object", input, text);
    auto again = stratus::scheduler::JobFromJson(*obj);
    if (!again.ok()) Fail("encoded job does not decode", input, text + " -> " + again.status().ToString());
    Json second = stratus::scheduler::JobToJson(again->job, style);
    if (second != first) Fail("round trip changed the job", input, text + " -> " + Dump(second));
  }
  std::string row = stratus::scheduler::EncodeJobRow(job);
  auto back = stratus::scheduler::DecodeJobRow(row);
  if (!back.ok()) Fail("store row does not decode", input, row + " -> " + back.status().ToString());
  if (stratus::scheduler::EncodeJobRow(*back) != row) Fail("store row round trip changed the job", input, row);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto body = stratus::ParseJsonBody(input);
  if (!body.ok()) return 0;
  auto obj = JsonObject::Of(*body, "job");
  if (!obj.ok()) return 0;
  auto in = stratus::scheduler::JobFromJson(*obj);
  if (!in.ok()) return 0;
  CheckRoundTrip(input, in->job);
  Job job = in->job;
  stratus::scheduler::ApplyJobDefaults(&job);
  if (!stratus::scheduler::ValidateJob(&job, {}).ok()) return 0;
  const auto& t = job.http_target;
  if (HasControl(t.uri) || t.uri.find(' ') != std::string::npos)
    Fail("accepted URI has a control character", input, t.uri);
  for (const auto& [k, v] : t.headers) {
    if (k.empty() || HasControl(k) || k.find_first_of(" :") != std::string::npos || HasControl(v)) {
      Fail("accepted header can split a request", input, k + ": " + v);
    }
  }
  CheckRoundTrip(input, job);
  return 0;
}
