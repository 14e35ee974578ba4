// Helpers the command families share: typed lookups with WRONGTYPE, argument parsing with
// Redis's error texts.
#pragma once

#include <variant>

#include "kv/command.h"
#include "kv/util.h"

namespace stratus::kv {

// Finds `key` holding a T. Absent: true with *out == nullptr. Another type: sets WRONGTYPE
// and returns false.
template <typename T>
bool LookupAs(CommandContext& ctx, std::string_view key, T** out) {
  *out = nullptr;
  Entry* e = ctx.db.Find(key);
  if (!e) return true;
  T* v = std::get_if<T>(&e->value);
  if (!v) {
    ctx.Error(err::kWrongType);
    return false;
  }
  *out = v;
  return true;
}

// Like LookupAs, but creates an empty T when absent.
template <typename T>
T* LookupOrCreate(CommandContext& ctx, std::string_view key) {
  T* v;
  if (!LookupAs(ctx, key, &v)) return nullptr;
  if (v) return v;
  return &std::get<T>(ctx.db.Set(key, T{}).value);
}

inline bool ArgInt(CommandContext& ctx, std::string_view arg, int64_t* out) {
  auto v = ParseInt(arg);
  if (!v) {
    ctx.Error(err::kNotInteger);
    return false;
  }
  *out = *v;
  return true;
}

inline bool ArgDouble(CommandContext& ctx, std::string_view arg, double* out) {
  auto v = ParseDouble(arg);
  if (!v) {
    ctx.Error(err::kNotFloat);
    return false;
  }
  *out = *v;
  return true;
}

// Redis's proto-max-bulk-len default: the largest string SETRANGE, SETBIT or BITFIELD may make.
inline constexpr int64_t kProtoMaxBulkLen = 512LL * 1024 * 1024;

inline std::string Lower(const std::string& s) {
  return ToLower(s);
}

}  // namespace stratus::kv
