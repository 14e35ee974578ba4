// What Redis 7.0 with jemalloc would spend on a value, for MEMORY USAGE: the allocator's size
// classes and the sizes of Redis's own structures. An estimate by design (see
// families/introspection.cc); a family that adds a value type uses these for its MemoryUsage.
#pragma once

#include <bit>
#include <cstddef>

namespace stratus::kv::mem {

// jemalloc's size classes: 8, 16, then four per power of two.
inline size_t Alloc(size_t n) {
  if (n <= 8) return 8;
  if (n <= 128) return (n + 15) / 16 * 16;
  size_t step = std::bit_floor(n - 1) / 4;
  return (n + step - 1) / step * step;
}

inline size_t SdsAlloc(size_t len) {
  size_t header = len < 32 ? 1 : len < 256 ? 3 : len < 65536 ? 5 : 9;
  return Alloc(header + len + 1);
}

inline constexpr size_t kObject = 16;     // robj
inline constexpr size_t kDictEntry = 24;  // one hash table entry
inline constexpr size_t kDict = 96;       // a dict with its two tables' headers

inline size_t DictBuckets(size_t n) {
  return n == 0 ? 0 : std::bit_ceil(n) * sizeof(void*);
}

// Bytes a listpack of these entries takes (header, each entry with its length bytes, end).
inline size_t ListpackBytes(size_t entries, size_t payload) {
  return Alloc(6 + payload + 2 * entries + 1);
}

}  // namespace stratus::kv::mem
