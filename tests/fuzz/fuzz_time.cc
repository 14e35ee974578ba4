// Timestamp and Duration text: parsing never crashes, and whatever parses formats to text that
// parses back to the same instant (the form stratus writes is always readable).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/time.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_time: %s: input \"%.*s\" -> %s\n", what, static_cast<int>(input.size()), input.data(),
               detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto t = stratus::ParseTimestamp(text); t.ok()) {
    std::string formatted = stratus::FormatTimestamp(*t);
    auto back = stratus::ParseTimestamp(formatted);
    if (!back.ok()) Fail("formatted timestamp does not parse", text, formatted);
    if (*back != *t) Fail("timestamp round trip changed the instant", text, formatted);
    if (formatted.back() != 'Z') Fail("timestamp not written in Z", text, formatted);
  }

  if (auto d = stratus::ParseDuration(text); d.ok()) {
    std::string formatted = stratus::FormatDuration(*d);
    auto back = stratus::ParseDuration(formatted);
    if (!back.ok()) Fail("formatted duration does not parse", text, formatted);
    if (*back != *d) Fail("duration round trip changed the value", text, formatted);
  }

  stratus::ParseHumanDuration(text).status().IgnoreError();
  return 0;
}
