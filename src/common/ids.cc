#include "common/ids.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include <openssl/rand.h>

namespace stratus {
namespace {

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }()};
  return rng;
}

}  // namespace

std::string GenerateTaskId() {
  static std::atomic<uint64_t> last{0};
  auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  uint64_t floor = static_cast<uint64_t>(now_us) * 1000 + Rng()() % 100;
  uint64_t prev = last.load(std::memory_order_relaxed);
  uint64_t next = 0;
  do {
    next = std::max(prev + 1, floor);
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return std::to_string(next);
}

std::string RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    for (auto& c : raw) c = static_cast<char>(Rng()());  // the OpenSSL RNG failing is near impossible
  }
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace stratus
