// Bitmaps on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
// Bit 0 is the most significant bit of the first byte, as in Redis. Writes are logged as sent:
// each is deterministic given the keyspace.
#include <bit>
#include <cctype>
#include <climits>
#include <cstring>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

constexpr std::string_view kBitOffsetError = "ERR bit offset is not an integer or out of range";

// A bit offset as Redis reads it: `#n` means n * bits when `bits` > 0 (BITFIELD), and no
// offset may reach past proto-max-bulk-len bytes.
bool BitOffset(CommandContext& ctx, std::string_view arg, int bits, uint64_t* out) {
  const bool hash = bits > 0 && arg.size() > 1 && arg[0] == '#';
  auto v = ParseInt(hash ? arg.substr(1) : arg);
  if (!v) {
    ctx.Error(kBitOffsetError);
    return false;
  }
  int64_t off = *v;
  if (hash) off = static_cast<int64_t>(static_cast<uint64_t>(off) * static_cast<uint64_t>(bits));  // wraps as Redis's
  if (off < 0 || (off >> 3) >= kProtoMaxBulkLen) {
    ctx.Error(kBitOffsetError);
    return false;
  }
  *out = static_cast<uint64_t>(off);
  return true;
}

// The string at argv[1] grown (zero-filled) to hold bit `max_bit`, created when absent;
// nullptr after WRONGTYPE.
std::string* StringForBitWrite(CommandContext& ctx, uint64_t max_bit) {
  StringValue* v;
  if (!LookupAs(ctx, ctx.argv[1], &v)) return nullptr;
  if (!v) v = &std::get<StringValue>(ctx.db.Set(ctx.argv[1], StringValue()).value);
  const size_t need = static_cast<size_t>(max_bit >> 3) + 1;
  if (v->size() < need) v->resize(need, '\0');
  return v;
}

uint8_t ByteAt(const std::string& s, size_t i) {
  return i < s.size() ? static_cast<uint8_t>(s[i]) : 0;
}

void SetBit(CommandContext& ctx) {
  uint64_t offset;
  if (!BitOffset(ctx, ctx.argv[2], 0, &offset)) return;
  auto on = ParseInt(ctx.argv[3]);
  if (!on || (*on & ~int64_t{1})) return ctx.Error("ERR bit is not an integer or out of range");
  std::string* v = StringForBitWrite(ctx, offset);
  if (!v) return;
  const size_t byte = static_cast<size_t>(offset >> 3);
  const int bit = 7 - static_cast<int>(offset & 7);
  uint8_t b = static_cast<uint8_t>((*v)[byte]);
  const bool was = (b >> bit) & 1;
  b = static_cast<uint8_t>((b & ~(1 << bit)) | (static_cast<int>(*on) << bit));
  (*v)[byte] = static_cast<char>(b);
  ctx.Dirty();
  ctx.reply = Reply::Integer(was ? 1 : 0);
}

void GetBit(CommandContext& ctx) {
  uint64_t offset;
  if (!BitOffset(ctx, ctx.argv[2], 0, &offset)) return;
  StringValue* v;
  if (!LookupAs(ctx, ctx.argv[1], &v)) return;
  int bit = 0;
  if (v && (offset >> 3) < v->size()) bit = (ByteAt(*v, offset >> 3) >> (7 - (offset & 7))) & 1;
  ctx.reply = Reply::Integer(bit);
}

// Set bits in s[from_bit .. to_bit] (inclusive, within the string).
int64_t CountBits(const std::string& s, uint64_t from_bit, uint64_t to_bit) {
  int64_t n = 0;
  uint64_t i = from_bit;
  while (i <= to_bit && (i & 7)) n += (ByteAt(s, i >> 3) >> (7 - (i & 7))) & 1, ++i;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i + 63 <= to_bit) {
    uint64_t w;
    std::memcpy(&w, p + (i >> 3), 8);
    n += std::popcount(w);
    i += 64;
  }
  while (i + 7 <= to_bit) n += std::popcount(static_cast<unsigned>(p[i >> 3])), i += 8;
  while (i <= to_bit) n += (ByteAt(s, i >> 3) >> (7 - (i & 7))) & 1, ++i;
  return n;
}

// start/end as BITCOUNT and BITPOS take them: negative from the end, clamped into
// [0, total-1]. False when the range is empty.
bool ClampRange(int64_t total, int64_t* start, int64_t* end) {
  if (*start < 0) *start = std::max<int64_t>(0, total + *start);
  if (*end < 0) *end = std::max<int64_t>(0, total + *end);
  if (*end >= total) *end = total - 1;
  return *start <= *end;
}

// BIT or BYTE: false after a syntax error.
bool RangeUnit(CommandContext& ctx, const std::string& arg, bool* is_bit) {
  if (IEquals(arg, "bit")) {
    *is_bit = true;
  } else if (IEquals(arg, "byte")) {
    *is_bit = false;
  } else {
    ctx.Error(err::kSyntax);
    return false;
  }
  return true;
}

void BitCount(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  StringValue* v;
  if (!LookupAs(ctx, a[1], &v)) return;
  if (!v) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  const int64_t len = static_cast<int64_t>(v->size());
  if (a.size() == 2) {
    ctx.reply = Reply::Integer(len ? CountBits(*v, 0, static_cast<uint64_t>(len) * 8 - 1) : 0);
    return;
  }
  if (a.size() != 4 && a.size() != 5) return ctx.Error(err::kSyntax);
  int64_t start, end;
  if (!ArgInt(ctx, a[2], &start) || !ArgInt(ctx, a[3], &end)) return;
  ctx.reply = Reply::Integer(0);
  if (start < 0 && end < 0 && start > end) return;  // before the unit is read, as Redis 7.0 does
  bool is_bit = false;
  if (a.size() == 5 && !RangeUnit(ctx, a[4], &is_bit)) return;
  if (!ClampRange(is_bit ? len * 8 : len, &start, &end)) return;
  uint64_t from = static_cast<uint64_t>(start), to = static_cast<uint64_t>(end);
  if (!is_bit) from *= 8, to = to * 8 + 7;
  ctx.reply = Reply::Integer(CountBits(*v, from, to));
}

// The first bit equal to `bit` in s[from_bit .. to_bit], or -1.
int64_t FindBit(const std::string& s, int bit, uint64_t from_bit, uint64_t to_bit) {
  const uint8_t skip = bit ? 0x00 : 0xff;  // a byte that cannot hold the bit
  for (uint64_t i = from_bit; i <= to_bit;) {
    if ((i & 7) == 0 && i + 7 <= to_bit && ByteAt(s, i >> 3) == skip) {
      i += 8;
      continue;
    }
    if (((ByteAt(s, i >> 3) >> (7 - (i & 7))) & 1) == bit) return static_cast<int64_t>(i);
    ++i;
  }
  return -1;
}

// BITPOS key bit [start [end [BIT|BYTE]]]. Looking for 0 without an end, the string reads as
// followed by zeros, so a run of ones answers the first bit after it.
void BitPos(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  int64_t bit;
  if (!ArgInt(ctx, a[2], &bit)) return;
  if (bit != 0 && bit != 1) return ctx.Error("ERR The bit argument must be 1 or 0.");
  StringValue* v;
  if (!LookupAs(ctx, a[1], &v)) return;
  if (!v) {
    ctx.reply = Reply::Integer(bit ? -1 : 0);
    return;
  }
  const int64_t len = static_cast<int64_t>(v->size());
  int64_t start = 0, end = len - 1;
  bool is_bit = false, end_given = false;
  if (a.size() >= 4 && a.size() <= 6) {
    if (!ArgInt(ctx, a[3], &start)) return;
    if (a.size() == 6 && !RangeUnit(ctx, a[5], &is_bit)) return;
    if (a.size() >= 5) {
      if (!ArgInt(ctx, a[4], &end)) return;
      end_given = true;
    } else {
      end = is_bit ? len * 8 + 7 : len - 1;
    }
  } else if (a.size() != 3) {
    return ctx.Error(err::kSyntax);
  }
  if (!ClampRange(is_bit ? len * 8 : len, &start, &end)) {
    ctx.reply = Reply::Integer(-1);
    return;
  }
  uint64_t from = static_cast<uint64_t>(start), to = static_cast<uint64_t>(end);
  if (!is_bit) from *= 8, to = to * 8 + 7;
  int64_t pos = FindBit(*v, static_cast<int>(bit), from, to);
  if (pos < 0 && bit == 0 && !end_given) pos = static_cast<int64_t>(to + 1);
  ctx.reply = Reply::Integer(pos);
}

enum class BitOpKind { kAnd, kOr, kXor, kNot, kDiff, kDiff1, kAndOr, kOne };

// BITOP op dest src...: AND OR XOR NOT as Redis 7, and Redis 8.2's (and Upstash's) DIFF
// (X and not any of the rest), DIFF1 (any of the rest and not X), ANDOR (X and any of the
// rest), ONE (set in exactly one source). Shorter sources read as zero-padded.
void BitOp(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  static constexpr std::pair<std::string_view, BitOpKind> kOps[] = {
      {"and", BitOpKind::kAnd},   {"or", BitOpKind::kOr},       {"xor", BitOpKind::kXor},     {"not", BitOpKind::kNot},
      {"diff", BitOpKind::kDiff}, {"diff1", BitOpKind::kDiff1}, {"andor", BitOpKind::kAndOr}, {"one", BitOpKind::kOne}};
  const BitOpKind* op = nullptr;
  for (const auto& [name, kind] : kOps) {
    if (IEquals(a[1], name)) op = &kind;
  }
  if (!op) return ctx.Error(err::kSyntax);
  const size_t nsrc = a.size() - 3;
  if (*op == BitOpKind::kNot && nsrc != 1) return ctx.Error("ERR BITOP NOT must be called with a single source key.");
  if ((*op == BitOpKind::kDiff || *op == BitOpKind::kDiff1 || *op == BitOpKind::kAndOr) && nsrc < 2) {
    std::string name = a[1];
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return ctx.Error("ERR BITOP " + name + " must be called with at least two source keys.");
  }
  static const std::string kEmpty;
  std::vector<const std::string*> srcs;
  size_t maxlen = 0;
  for (size_t j = 3; j < a.size(); ++j) {
    StringValue* v;
    if (!LookupAs(ctx, a[j], &v)) return;
    srcs.push_back(v ? v : &kEmpty);
    maxlen = std::max(maxlen, srcs.back()->size());
  }
  std::string res(maxlen, '\0');
  for (size_t i = 0; i < maxlen; ++i) {
    uint8_t first = ByteAt(*srcs[0], i);
    uint8_t out = *op == BitOpKind::kNot ? static_cast<uint8_t>(~first) : first;
    uint8_t any_rest = 0, seen_twice = 0;
    for (size_t j = 1; j < srcs.size(); ++j) {
      uint8_t b = ByteAt(*srcs[j], i);
      switch (*op) {
        case BitOpKind::kAnd:
          out &= b;
          break;
        case BitOpKind::kOr:
          out |= b;
          break;
        case BitOpKind::kXor:
          out ^= b;
          break;
        case BitOpKind::kOne:
          seen_twice |= out & b;
          out = static_cast<uint8_t>((out ^ b) & ~seen_twice);
          break;
        default:
          any_rest |= b;
          break;
      }
    }
    if (*op == BitOpKind::kDiff) out = first & static_cast<uint8_t>(~any_rest);
    if (*op == BitOpKind::kDiff1) out = static_cast<uint8_t>(~first) & any_rest;
    if (*op == BitOpKind::kAndOr) out = first & any_rest;
    res[i] = static_cast<char>(out);
  }
  const std::string& dest = a[2];
  if (maxlen) {
    ctx.db.Set(dest, StringValue(std::move(res)));
    ctx.Dirty();
  } else if (ctx.db.Erase(dest)) {
    ctx.Dirty();
  }
  ctx.reply = Reply::Integer(static_cast<int64_t>(maxlen));
}

// BITFIELD's integer types: i1..i64, u1..u63.
bool BitfieldType(CommandContext& ctx, const std::string& arg, bool* is_signed, int* bits) {
  auto bad = [&] {
    ctx.Error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
    return false;
  };
  if (arg.empty() || (arg[0] != 'i' && arg[0] != 'u')) return bad();
  *is_signed = arg[0] == 'i';
  std::string_view rest(arg.c_str() + 1);  // up to a NUL, as Redis reads it
  auto n = ParseInt(rest);
  if (!n || *n < 1 || *n > (*is_signed ? 64 : 63)) return bad();
  *bits = static_cast<int>(*n);
  return true;
}

uint64_t GetBits(const std::string& s, uint64_t offset, int bits) {
  uint64_t v = 0;
  for (int j = 0; j < bits; ++j, ++offset) v = (v << 1) | ((ByteAt(s, offset >> 3) >> (7 - (offset & 7))) & 1);
  return v;
}

int64_t SignExtend(uint64_t v, int bits) {
  if (bits < 64 && (v & (uint64_t{1} << (bits - 1)))) v |= ~uint64_t{0} << bits;
  return static_cast<int64_t>(v);
}

void SetBits(std::string& s, uint64_t offset, int bits, uint64_t v) {
  for (int j = 0; j < bits; ++j, ++offset) {
    const uint8_t mask = static_cast<uint8_t>(1 << (7 - (offset & 7)));
    char& c = s[offset >> 3];
    c = static_cast<char>((v >> (bits - 1 - j)) & 1 ? (static_cast<uint8_t>(c) | mask)
                                                    : (static_cast<uint8_t>(c) & ~mask));
  }
}

enum class Overflow { kWrap, kSat, kFail };

// Whether value + incr leaves the type's range; *limit is what WRAP or SAT store then.
bool UnsignedOverflow(uint64_t value, int64_t incr, int bits, Overflow ow, uint64_t* limit) {
  const uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  const int64_t maxincr = static_cast<int64_t>(max - value);
  const int64_t minincr = static_cast<int64_t>(0 - value);
  const bool high = value > max || (incr > 0 && incr > maxincr);
  const bool low = !high && incr < 0 && incr < minincr;
  if (!high && !low) return false;
  if (ow == Overflow::kWrap) {
    *limit = (value + static_cast<uint64_t>(incr)) & ~(~uint64_t{0} << bits);
  } else if (ow == Overflow::kSat) {
    *limit = high ? max : 0;
  }
  return true;
}

bool SignedOverflow(int64_t value, int64_t incr, int bits, Overflow ow, int64_t* limit) {
  const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  const int64_t min = -max - 1;
  const int64_t maxincr = static_cast<int64_t>(static_cast<uint64_t>(max) - static_cast<uint64_t>(value));
  const int64_t minincr = static_cast<int64_t>(static_cast<uint64_t>(min) - static_cast<uint64_t>(value));
  const bool high = value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr);
  const bool low =
      !high && (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr));
  if (!high && !low) return false;
  if (ow == Overflow::kWrap) {
    uint64_t c = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
    if (bits < 64) {
      const uint64_t mask = ~uint64_t{0} << bits;
      c = (c & (uint64_t{1} << (bits - 1))) ? (c | mask) : (c & ~mask);
    }
    *limit = static_cast<int64_t>(c);
  } else if (ow == Overflow::kSat) {
    *limit = high ? max : min;
  }
  return true;
}

struct BitfieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind;
  uint64_t offset;
  int64_t value;
  int bits;
  bool is_signed;
  Overflow overflow;
};

// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset incr]
// [OVERFLOW WRAP|SAT|FAIL] ...: every operation is parsed (and refused) before any runs.
void BitfieldGeneric(CommandContext& ctx, bool ro_command) {
  const Argv& a = ctx.argv;
  std::vector<BitfieldOp> ops;
  Overflow overflow = Overflow::kWrap;
  bool writes = false;
  uint64_t highest = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    const size_t rem = a.size() - j - 1;
    BitfieldOp::Kind kind;
    if (IEquals(a[j], "get") && rem >= 2) {
      kind = BitfieldOp::kGet;
    } else if (IEquals(a[j], "set") && rem >= 3) {
      kind = BitfieldOp::kSet;
    } else if (IEquals(a[j], "incrby") && rem >= 3) {
      kind = BitfieldOp::kIncrBy;
    } else if (IEquals(a[j], "overflow") && rem >= 1) {
      const std::string& t = a[++j];
      if (IEquals(t, "wrap")) {
        overflow = Overflow::kWrap;
      } else if (IEquals(t, "sat")) {
        overflow = Overflow::kSat;
      } else if (IEquals(t, "fail")) {
        overflow = Overflow::kFail;
      } else {
        return ctx.Error("ERR Invalid OVERFLOW type specified");
      }
      continue;
    } else {
      return ctx.Error(err::kSyntax);
    }
    BitfieldOp op{kind, 0, 0, 0, false, overflow};
    if (!BitfieldType(ctx, a[j + 1], &op.is_signed, &op.bits)) return;
    if (!BitOffset(ctx, a[j + 2], op.bits, &op.offset)) return;
    if (kind != BitfieldOp::kGet) {
      writes = true;
      highest = std::max(highest, op.offset + static_cast<uint64_t>(op.bits) - 1);
      if (!ArgInt(ctx, a[j + 3], &op.value)) return;
    }
    ops.push_back(op);
    j += kind == BitfieldOp::kGet ? 2 : 3;
  }
  std::string* s = nullptr;
  if (!writes) {
    StringValue* v;
    if (!LookupAs(ctx, a[1], &v)) return;
    s = v;
  } else {
    if (ro_command) return ctx.Error("ERR BITFIELD_RO only supports the GET subcommand");
    s = StringForBitWrite(ctx, highest);
    if (!s) return;
    ctx.Dirty();
  }
  static const std::string kEmpty;
  const std::string& str = s ? *s : kEmpty;
  std::vector<Reply> out;
  for (const BitfieldOp& op : ops) {
    if (op.kind == BitfieldOp::kGet) {
      uint64_t raw = GetBits(str, op.offset, op.bits);
      out.push_back(Reply::Integer(op.is_signed ? SignExtend(raw, op.bits) : static_cast<int64_t>(raw)));
      continue;
    }
    bool overflowed;
    uint64_t store;
    int64_t answer;
    if (op.is_signed) {
      int64_t old = SignExtend(GetBits(*s, op.offset, op.bits), op.bits);
      int64_t wrapped = 0, next;
      if (op.kind == BitfieldOp::kIncrBy) {
        overflowed = SignedOverflow(old, op.value, op.bits, op.overflow, &wrapped);
        next =
            overflowed ? wrapped : static_cast<int64_t>(static_cast<uint64_t>(old) + static_cast<uint64_t>(op.value));
        answer = next;
      } else {
        overflowed = SignedOverflow(op.value, 0, op.bits, op.overflow, &wrapped);
        next = overflowed ? wrapped : op.value;
        answer = old;
      }
      store = static_cast<uint64_t>(next);
    } else {
      uint64_t old = GetBits(*s, op.offset, op.bits);
      uint64_t wrapped = 0, next;
      if (op.kind == BitfieldOp::kIncrBy) {
        overflowed = UnsignedOverflow(old, op.value, op.bits, op.overflow, &wrapped);
        next = overflowed ? wrapped : old + static_cast<uint64_t>(op.value);
        answer = static_cast<int64_t>(next);
      } else {
        overflowed = UnsignedOverflow(static_cast<uint64_t>(op.value), 0, op.bits, op.overflow, &wrapped);
        next = overflowed ? wrapped : static_cast<uint64_t>(op.value);
        answer = static_cast<int64_t>(old);
      }
      store = next;
    }
    if (overflowed && op.overflow == Overflow::kFail) {
      out.push_back(Reply::Nil());
    } else {
      out.push_back(Reply::Integer(answer));
      SetBits(*s, op.offset, op.bits, store);
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

void Bitfield(CommandContext& ctx) {
  BitfieldGeneric(ctx, false);
}
void BitfieldRo(CommandContext& ctx) {
  BitfieldGeneric(ctx, true);
}

}  // namespace

Status RegisterBitFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "setbit", .arity = 4, .flags = kWrite, .handler = SetBit},
           CommandSpec{.name = "getbit", .arity = 3, .flags = kReadOnly, .handler = GetBit},
           CommandSpec{.name = "bitcount", .arity = -2, .flags = kReadOnly, .handler = BitCount},
           CommandSpec{.name = "bitpos", .arity = -3, .flags = kReadOnly, .handler = BitPos},
           CommandSpec{.name = "bitop", .arity = -4, .flags = kWrite, .handler = BitOp},
           CommandSpec{.name = "bitfield", .arity = -2, .flags = kWrite, .handler = Bitfield},
           CommandSpec{.name = "bitfield_ro", .arity = -2, .flags = kReadOnly, .handler = BitfieldRo},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
