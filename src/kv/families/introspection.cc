// Looking at how values are kept: OBJECT (ENCODING REFCOUNT IDLETIME FREQ HELP) and
// MEMORY (USAGE HELP).
//
// This engine keeps every value in one representation per type, so ENCODING names the
// encoding Redis 7.0 would use for the value as it is now (with Redis's default thresholds).
// Redis converts one way only, so a set that once held a non-integer stays "hashtable" there
// while it may read "intset" here again; strings that APPEND or SETRANGE changed are "raw"
// there. MEMORY USAGE is an estimate in the same spirit: the bytes Redis with jemalloc would
// use, not what this process uses.
#include <bit>

#include "kv/families/family.h"
#include "kv/memory_estimate.h"

namespace stratus::kv {
namespace {
using namespace mem;  // NOLINT(google-build-using-namespace)

// Redis 7.0's defaults.
constexpr size_t kSetMaxIntsetEntries = 512;
constexpr size_t kListpackMaxEntries = 128;  // hash- and zset-max-listpack-entries
constexpr size_t kListpackMaxValue = 64;     // hash- and zset-max-listpack-value
constexpr size_t kEmbstrMaxLen = 44;
constexpr int64_t kSharedIntegers = 10000;
constexpr int64_t kSharedRefcount = 2147483647;

bool IsIntEncoded(const std::string& s) {
  return s.size() <= 20 && ParseInt(s).has_value();
}

template <typename Range, typename Len>
bool AllShort(const Range& r, Len len) {
  for (const auto& x : r) {
    if (len(x) > kListpackMaxValue) return false;
  }
  return true;
}

const char* EncodingOf(const Value& value) {
  return std::visit(
      [](const auto& v) -> const char* {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, StringValue>) {
          if (IsIntEncoded(v)) return "int";
          return v.size() <= kEmbstrMaxLen ? "embstr" : "raw";
        } else if constexpr (std::is_same_v<T, ListValue>) {
          return "quicklist";
        } else if constexpr (std::is_same_v<T, SetValue>) {
          if (v.size() > kSetMaxIntsetEntries) return "hashtable";
          for (const auto& m : v) {
            if (!IsIntEncoded(m)) return "hashtable";
          }
          return "intset";
        } else if constexpr (std::is_same_v<T, HashValue>) {
          bool small = v.size() <= kListpackMaxEntries &&
                       AllShort(v, [](const auto& fv) { return std::max(fv.first.size(), fv.second.size()); });
          if (!small) return "hashtable";
          return v.ttl ? "listpackex" : "listpack";  // Redis 7.4: a small hash with field TTLs
        } else if constexpr (std::is_same_v<T, ZSet>) {
          bool small =
              v.size() <= kListpackMaxEntries && AllShort(v.scores, [](const auto& ms) { return ms.first.size(); });
          return small ? "listpack" : "skiplist";
        } else {
          return ObjectEncoding(v);  // a type declared beside its family (keyspace.h)
        }
      },
      value);
}

size_t ValueBytes(const Value& value) {
  const std::string enc = EncodingOf(value);
  return std::visit(
      [&](const auto& v) -> size_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, StringValue>) {
          if (enc == "int") return kObject;
          if (enc == "embstr") return Alloc(kObject + 3 + v.size() + 1);
          return kObject + SdsAlloc(v.size());
        } else if constexpr (std::is_same_v<T, ListValue>) {
          size_t payload = 0;
          for (const auto& e : v) payload += e.size();
          constexpr size_t kNodeBytes = 8192;
          size_t nodes = (payload + 2 * v.size()) / kNodeBytes + 1;
          return kObject + 40 + nodes * 32 + ListpackBytes(v.size(), payload) + nodes * 8;
        } else if constexpr (std::is_same_v<T, SetValue>) {
          if (enc == "intset") return kObject + Alloc(8 + 8 * v.size());
          size_t n = kObject + kDict + DictBuckets(v.size());
          for (const auto& m : v) n += kDictEntry + SdsAlloc(m.size());
          return n;
        } else if constexpr (std::is_same_v<T, HashValue>) {
          if (enc != "hashtable") {
            size_t payload = 0;
            for (const auto& [f, val] : v) payload += f.size() + val.size();
            return kObject + ListpackBytes(2 * v.size(), payload);
          }
          size_t n = kObject + kDict + DictBuckets(v.size());
          for (const auto& [f, val] : v) n += kDictEntry + SdsAlloc(f.size()) + SdsAlloc(val.size());
          return n;
        } else if constexpr (std::is_same_v<T, ZSet>) {
          if (enc == "listpack") {
            size_t payload = 0;
            for (const auto& [m, score] : v.scores) payload += m.size() + FormatDouble(score).size();
            return kObject + ListpackBytes(2 * v.size(), payload);
          }
          size_t n = kObject + kDict + DictBuckets(v.size()) + 32;
          for (const auto& [m, score] : v.scores) n += kDictEntry + SdsAlloc(m.size()) + Alloc(32 + 16);
          return n;
        } else {
          return MemoryUsage(v);
        }
      },
      value);
}

void Help(CommandContext& ctx, std::initializer_list<const char*> lines) {
  std::vector<Reply> out;
  for (const char* l : lines) out.push_back(Reply::Status(l));
  ctx.reply = Reply::Array(std::move(out));
}

// Finds a subcommand in `subs` (name, exact arity); false after Redis's error.
bool Subcommand(CommandContext& ctx, std::string_view container,
                std::initializer_list<std::pair<std::string_view, int>> subs, std::string* name) {
  const std::string sub = ToLower(ctx.argv[1]);
  for (const auto& [n, arity] : subs) {
    if (sub != n) continue;
    const int argc = static_cast<int>(ctx.argv.size());
    if ((arity > 0 && argc != arity) || (arity < 0 && argc < -arity)) {
      ctx.Error("ERR wrong number of arguments for '" + ToLower(container) + "|" + sub + "' command");
      return false;
    }
    *name = sub;
    return true;
  }
  ctx.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) + "'. Try " + std::string(container) + " HELP.");
  return false;
}

void Object(CommandContext& ctx) {
  std::string sub;
  if (!Subcommand(ctx, "OBJECT", {{"encoding", 3}, {"refcount", 3}, {"idletime", 3}, {"freq", 3}, {"help", 2}}, &sub))
    return;
  if (sub == "help") {
    return Help(ctx, {"OBJECT <subcommand> [<arg> ...]. Subcommands are:", "ENCODING <key>",
                      "    The internal representation of the key's value (as Redis 7.0 names it).", "FREQ <key>",
                      "    Not tracked: access frequency needs an LFU maxmemory policy.", "IDLETIME <key>",
                      "    Seconds since the key was last read or written.", "REFCOUNT <key>",
                      "    References to the key's value (shared small integers report 2147483647).", "HELP",
                      "    This text."});
  }
  const std::string& key = ctx.argv[2];
  // OBJECT itself is not an access: the last access time is put back after the lookup.
  auto it = ctx.db.map().find(Keyspace::KeyRef{ScanHash(key), key});
  const int64_t last_access = it != ctx.db.map().end() ? it->second.access_ms : 0;
  Entry* e = ctx.db.Find(key);
  if (!e) {
    ctx.reply = Reply::Nil();
    return;
  }
  e->access_ms = last_access;
  if (sub == "encoding") {
    ctx.reply = Reply::Bulk(EncodingOf(e->value));
  } else if (sub == "refcount") {
    const auto* s = std::get_if<StringValue>(&e->value);
    std::optional<int64_t> n = s && IsIntEncoded(*s) ? ParseInt(*s) : std::nullopt;
    ctx.reply = Reply::Integer(n && *n >= 0 && *n < kSharedIntegers ? kSharedRefcount : 1);
  } else if (sub == "idletime") {
    ctx.reply = Reply::Integer(std::max<int64_t>(0, ctx.now() - last_access) / 1000);
  } else {
    ctx.Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching "
        "between policies at runtime LRU and LFU data will take some time to adjust.");
  }
}

void Memory(CommandContext& ctx) {
  std::string sub;
  if (!Subcommand(ctx, "MEMORY", {{"usage", -3}, {"help", 2}}, &sub)) return;
  if (sub == "help") {
    return Help(
        ctx, {"MEMORY <subcommand> [<arg> ...]. Subcommands are:", "USAGE <key> [SAMPLES <count>]",
              "    An estimate of the bytes Redis would use to keep the key and its value.", "HELP", "    This text."});
  }
  const Argv& a = ctx.argv;
  for (size_t j = 3; j < a.size(); ++j) {
    if (IEquals(a[j], "samples") && j + 1 < a.size()) {
      int64_t samples;
      if (!ArgInt(ctx, a[++j], &samples)) return;
      if (samples < 0) return ctx.Error(err::kSyntax);
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  Entry* e = ctx.db.Find(a[2]);
  if (!e) {
    ctx.reply = Reply::Nil();
    return;
  }
  const size_t bytes = ValueBytes(e->value) + SdsAlloc(a[2].size()) + kDictEntry;
  ctx.reply = Reply::Integer(static_cast<int64_t>(bytes));
}

}  // namespace

Status RegisterIntrospectionFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "object", .arity = -2, .flags = kReadOnly, .handler = Object},
           CommandSpec{.name = "memory", .arity = -2, .flags = kReadOnly, .handler = Memory},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
