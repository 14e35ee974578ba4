#include "common/ids.h"

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
  std::uniform_int_distribution<uint64_t> dist(1'000'000'000'000'000'000ULL, 9'223'372'036'854'775'807ULL);
  return std::to_string(dist(Rng()));
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
