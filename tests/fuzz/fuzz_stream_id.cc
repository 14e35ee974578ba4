// Fuzzes the stream id parser (src/kv/stream_value.cc). Input: one byte of flags (bit 0 strict,
// bit 1 `ms-*` allowed, bit 2 `(` allowed, bit 3 the missing sequence is the maximum), then the
// text. Any answer is fine; a crash or a sanitizer report is not. A parsed id must print back
// as one that parses to itself, and a range bound moved by Incr/Decr must stay ordered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kv/stream_value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t flags = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  uint64_t missing = (flags & 8) ? UINT64_MAX : 0;
  auto p = stratus::kv::ParseStreamId(text, missing, flags & 1, flags & 2, flags & 4);
  if (!p) return 0;
  auto again = stratus::kv::ParseStreamId(p->id.ToString(), 0, true, false, false);
  if (!again || again->id != p->id) std::abort();
  stratus::kv::StreamId up = p->id, down = p->id;
  if (up.Incr() && !(p->id < up)) std::abort();
  if (down.Decr() && !(down < p->id)) std::abort();
  return 0;
}
