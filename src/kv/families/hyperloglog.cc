// HyperLogLog: PFADD, PFCOUNT, PFMERGE, in Redis's own string format (written from its
// published description), so GET of an HLL key returns bytes redis-server accepts and
// PFCOUNT gives the numbers redis-server gives:
//
//   header (16 bytes): "HYLL", encoding (0 dense, 1 sparse), 3 zero bytes, the cached
//   cardinality (8 bytes little endian; the top bit of the last byte set = stale).
//   dense: 16384 registers of 6 bits, register i at bit 6*i, least significant bits first.
//   sparse: opcodes over the registers in order: ZERO 00xxxxxx (1-64 zero registers),
//   XZERO 01xxxxxx yyyyyyyy (1-16384 zero registers), VAL 1vvvvvxx (1-4 registers of
//   value 1-32). A sparse HLL becomes dense once a register needs more than 32 or the
//   encoding would pass 3000 bytes (Redis's hll-sparse-max-bytes); never the other way.
//
// An element hashes with MurmurHash64A (seed 0xadc83b19); its low 14 bits pick the register,
// and the register keeps the largest "position of the first set bit" of the other 50 bits
// (1-51). The estimate is Ertl's improved estimator, as Redis computes it.
//
// Sparse sequences are written canonically (longest runs first); Redis edits the sequence in
// place and can, rarely, split an equal-valued run differently: the registers, and so every
// count, are the same either way.
#include <array>
#include <cmath>
#include <cstring>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

constexpr int kP = 14;
constexpr int kRegisters = 1 << kP;  // 16384
constexpr int kQ = 64 - kP;          // 50
constexpr int kBits = 6;
constexpr size_t kHeader = 16;
constexpr size_t kDenseSize = kHeader + (kRegisters * kBits + 7) / 8;
constexpr uint8_t kDense = 0;
constexpr uint8_t kSparse = 1;
constexpr int kSparseValMax = 32;
constexpr size_t kSparseMaxBytes = 3000;

constexpr std::string_view kNotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
constexpr std::string_view kCorrupt = "INVALIDOBJ Corrupted HLL object detected";

using Registers = std::array<uint8_t, kRegisters>;

uint64_t MurmurHash64A(std::string_view key, uint64_t seed) {
  const uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  size_t len = key.size();
  uint64_t h = seed ^ (len * m);
  size_t blocks = len / 8;
  for (size_t b = 0; b < blocks; ++b) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = (k << 8) | data[b * 8 + static_cast<size_t>(i)];  // little endian
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const unsigned char* tail = data + blocks * 8;
  size_t rest = len & 7;
  if (rest) {
    for (size_t i = rest; i-- > 0;) h ^= static_cast<uint64_t>(tail[i]) << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// The register an element lands in and the value it offers there.
std::pair<int, uint8_t> HashElement(std::string_view ele) {
  uint64_t hash = MurmurHash64A(ele, 0xadc83b19ULL);
  int index = static_cast<int>(hash & (kRegisters - 1));
  hash >>= kP;
  hash |= 1ULL << kQ;  // so the loop ends by bit 50
  uint8_t count = 1;
  while ((hash & 1) == 0) {
    ++count;
    hash >>= 1;
  }
  return {index, count};
}

bool IsHll(const std::string& s) {
  if (s.size() < kHeader || std::memcmp(s.data(), "HYLL", 4) != 0) return false;
  uint8_t enc = static_cast<uint8_t>(s[4]);
  if (enc > kSparse) return false;
  return enc != kDense || s.size() == kDenseSize;
}

// Reads the registers of a valid-looking HLL; false when its sparse sequence is corrupt.
bool Decode(const std::string& s, Registers* regs) {
  regs->fill(0);
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + kHeader;
  size_t n = s.size() - kHeader;
  if (static_cast<uint8_t>(s[4]) == kDense) {
    for (int i = 0; i < kRegisters; ++i) {
      size_t bit = static_cast<size_t>(i) * kBits;
      size_t byte = bit / 8;
      unsigned shift = bit % 8;
      unsigned v = p[byte] >> shift;
      if (shift > 8 - kBits) v |= static_cast<unsigned>(p[byte + 1]) << (8 - shift);
      (*regs)[static_cast<size_t>(i)] = static_cast<uint8_t>(v & 63);
    }
    return true;
  }
  size_t idx = 0;
  for (size_t i = 0; i < n;) {
    uint8_t op = p[i];
    size_t run;
    uint8_t value = 0;
    if ((op & 0xc0) == 0x00) {  // ZERO
      run = (op & 0x3f) + 1u;
      i += 1;
    } else if ((op & 0xc0) == 0x40) {  // XZERO
      if (i + 1 >= n) return false;
      run = ((static_cast<size_t>(op & 0x3f) << 8) | p[i + 1]) + 1;
      i += 2;
    } else {  // VAL
      value = static_cast<uint8_t>(((op >> 2) & 0x1f) + 1);
      run = (op & 0x3u) + 1;
      i += 1;
    }
    if (idx + run > kRegisters) return false;
    for (size_t k = 0; k < run; ++k) (*regs)[idx + k] = value;
    idx += run;
  }
  return idx == kRegisters;
}

// The canonical sparse sequence of `regs`, or nothing when a register is over 32.
std::optional<std::string> EncodeSparse(const Registers& regs) {
  std::string out;
  for (size_t i = 0; i < kRegisters;) {
    uint8_t v = regs[i];
    size_t j = i;
    while (j < kRegisters && regs[j] == v) ++j;
    size_t run = j - i;
    if (v == 0) {
      while (run > 0) {
        if (run > 64) {
          size_t len = std::min<size_t>(run, kRegisters);
          out += static_cast<char>(0x40 | ((len - 1) >> 8));
          out += static_cast<char>((len - 1) & 0xff);
          run -= len;
        } else {
          out += static_cast<char>(run - 1);
          run = 0;
        }
      }
    } else {
      if (v > kSparseValMax) return std::nullopt;
      while (run > 0) {
        size_t len = std::min<size_t>(run, 4);
        out += static_cast<char>(0x80 | ((v - 1) << 2) | (len - 1));
        run -= len;
      }
    }
    i = j;
  }
  return out;
}

std::string EncodeDense(const Registers& regs) {
  std::string out(kDenseSize - kHeader, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  for (int i = 0; i < kRegisters; ++i) {
    unsigned v = regs[static_cast<size_t>(i)];
    size_t bit = static_cast<size_t>(i) * kBits;
    size_t byte = bit / 8;
    unsigned shift = bit % 8;
    p[byte] = static_cast<uint8_t>(p[byte] | (v << shift));
    if (shift > 8 - kBits) p[byte + 1] = static_cast<uint8_t>(p[byte + 1] | (v >> (8 - shift)));
  }
  return out;
}

// Rewrites the HLL string `s` (its header kept) to hold `regs`, staying dense when dense.
void Store(std::string* s, const Registers& regs) {
  std::string header = s->substr(0, kHeader);
  std::string body;
  if (static_cast<uint8_t>(header[4]) == kSparse) {
    auto sparse = EncodeSparse(regs);
    if (sparse && kHeader + sparse->size() <= kSparseMaxBytes) {
      body = std::move(*sparse);
    } else {
      header[4] = static_cast<char>(kDense);
    }
  }
  if (static_cast<uint8_t>(header[4]) == kDense) body = EncodeDense(regs);
  header[15] = static_cast<char>(header[15] | 0x80);  // the cached count is stale
  *s = header + body;
}

std::string NewHll() {
  std::string s("HYLL", 4);
  s += static_cast<char>(kSparse);
  s.append(11, '\0');  // 3 unused bytes, a cached count of 0 (valid)
  Registers zero{};
  s += *EncodeSparse(zero);
  return s;
}

double Sigma(double x) {
  if (x == 1.) return INFINITY;
  double z_prev;
  double y = 1;
  double z = x;
  do {
    x *= x;
    z_prev = z;
    z += x * y;
    y += y;
  } while (z_prev != z);
  return z;
}

double Tau(double x) {
  if (x == 0. || x == 1.) return 0.;
  double z_prev;
  double y = 1.0;
  double z = 1 - x;
  do {
    x = std::sqrt(x);
    z_prev = z;
    y *= 0.5;
    z -= std::pow(1 - x, 2) * y;
  } while (z_prev != z);
  return z / 3;
}

// Ertl's estimator over the register histogram ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017), the one Redis uses.
uint64_t Estimate(const Registers& regs) {
  std::array<int, 64> histo{};
  for (uint8_t v : regs) ++histo[v];
  const double m = kRegisters;
  double z = m * Tau((m - histo[kQ + 1]) / m);
  for (int j = kQ; j >= 1; --j) {
    z += histo[static_cast<size_t>(j)];
    z *= 0.5;
  }
  z += m * Sigma(histo[0] / m);
  constexpr double kAlphaInf = 0.721347520444481703680;  // 1 / (2 ln 2)
  return static_cast<uint64_t>(std::llroundl(kAlphaInf * m * m / z));
}

// The HLL string at `key`: absent → *out null, true. Not a string or not an HLL: the error
// set, false.
bool LookupHll(CommandContext& ctx, const std::string& key, std::string** out) {
  if (!LookupAs(ctx, key, out)) return false;
  if (*out && !IsHll(**out)) {
    ctx.Error(kNotHll);
    return false;
  }
  return true;
}

// PFADD key [element ...]: 1 when the key was created or a register grew.
void PfAdd(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  std::string* s;
  if (!LookupHll(ctx, a[1], &s)) return;
  bool created = false;
  if (!s) {
    s = &std::get<StringValue>(ctx.db.Set(a[1], StringValue(NewHll()), /*keep_ttl=*/false).value);
    created = true;
  }
  Registers regs;
  if (!Decode(*s, &regs)) {
    if (created) ctx.db.Erase(a[1]);
    return ctx.Error(kCorrupt);
  }
  bool grew = false;
  for (size_t i = 2; i < a.size(); ++i) {
    auto [index, count] = HashElement(a[i]);
    if (regs[static_cast<size_t>(index)] < count) {
      regs[static_cast<size_t>(index)] = count;
      grew = true;
    }
  }
  if (grew) Store(s, regs);
  if (created && !grew) (*s)[15] = static_cast<char>((*s)[15] | 0x80);  // as Redis: a new key's count is stale
  if (grew || created) ctx.Dirty();
  ctx.reply = Reply::Integer(grew || created ? 1 : 0);
}

// PFCOUNT key [key ...]: one key answers from (and refreshes) its cached count; several are
// counted as their union, nothing stored.
void PfCount(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  if (a.size() == 2) {
    std::string* s;
    if (!LookupHll(ctx, a[1], &s)) return;
    if (!s) {
      ctx.reply = Reply::Integer(0);
      return;
    }
    auto* card = reinterpret_cast<uint8_t*>(s->data()) + 8;
    if ((card[7] & 0x80) == 0) {
      uint64_t cached = 0;
      for (int i = 7; i >= 0; --i) cached = (cached << 8) | card[i];
      ctx.reply = Reply::Integer(static_cast<int64_t>(cached));
      return;
    }
    Registers regs;
    if (!Decode(*s, &regs)) return ctx.Error(kCorrupt);
    uint64_t n = Estimate(regs);
    for (int i = 0; i < 8; ++i) card[i] = static_cast<uint8_t>(n >> (8 * i));
    ctx.reply = Reply::Integer(static_cast<int64_t>(n));
    return;
  }
  Registers max{};
  for (size_t k = 1; k < a.size(); ++k) {
    std::string* s;
    if (!LookupHll(ctx, a[k], &s)) return;
    if (!s) continue;
    Registers regs;
    if (!Decode(*s, &regs)) return ctx.Error(kCorrupt);
    for (size_t i = 0; i < kRegisters; ++i) max[i] = std::max(max[i], regs[i]);
  }
  ctx.reply = Reply::Integer(static_cast<int64_t>(Estimate(max)));
}

// PFMERGE destkey [sourcekey ...]: destkey becomes the union of itself and the sources; dense
// when any of them is.
void PfMerge(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  Registers max{};
  bool dense = false;
  for (size_t k = 1; k < a.size(); ++k) {
    std::string* s;
    if (!LookupHll(ctx, a[k], &s)) return;
    if (!s) continue;
    Registers regs;
    if (!Decode(*s, &regs)) return ctx.Error(kCorrupt);
    dense = dense || static_cast<uint8_t>((*s)[4]) == kDense;
    for (size_t i = 0; i < kRegisters; ++i) max[i] = std::max(max[i], regs[i]);
  }
  std::string* dest;
  if (!LookupAs(ctx, a[1], &dest)) return;
  if (!dest) dest = &std::get<StringValue>(ctx.db.Set(a[1], StringValue(NewHll()), /*keep_ttl=*/false).value);
  if (dense) (*dest)[4] = static_cast<char>(kDense);
  Store(dest, max);
  ctx.Dirty();
  ctx.reply = Reply::Ok();
}

}  // namespace

Status RegisterHyperLogLogFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "pfadd", .arity = -2, .flags = kWrite, .handler = PfAdd},
           CommandSpec{.name = "pfcount", .arity = -2, .flags = kReadOnly, .handler = PfCount},
           CommandSpec{.name = "pfmerge", .arity = -2, .flags = kWrite, .handler = PfMerge},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
