// The keyspace: every key with its typed value and optional absolute expiry (Unix ms).
// Not thread-safe: the Engine owns it and serialises access (see docs/redis.md).
//
// Keys are ordered by a 52-bit hash of their bytes, then by the bytes. That order gives
// SCAN a stateless cursor (the hash to resume from) with Redis's guarantee: a key present
// for a whole scan is returned at least once. 52 bits keep cursors exact as JS numbers.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "kv/hash_value.h"
#include "kv/json_value.h"
#include "kv/stream_value.h"

namespace stratus::kv {

struct ZSet {
  std::unordered_map<std::string, double> scores;
  std::set<std::pair<double, std::string>> order;  // (score, member), Redis's ordering

  size_t size() const { return scores.size(); }
  // Inserts or moves `member` to `score`.
  void Set(const std::string& member, double score);
  bool Remove(const std::string& member);
};

using StringValue = std::string;
using ListValue = std::deque<std::string>;
using SetValue = std::unordered_set<std::string>;
// Each value type a family adds beyond the five below lives in a header of its own, is
// listed in Value, and provides four overloads found by argument-dependent lookup, so the
// code that handles every type (TYPE, OBJECT ENCODING, MEMORY USAGE, the log rewrite) needs
// no change for it:
//   const char* TypeNameOf(const T&);                  // TYPE's answer
//   const char* ObjectEncoding(const T&);              // OBJECT ENCODING's answer
//   size_t MemoryUsage(const T&);                      // MEMORY USAGE (kv/memory_estimate.h)
//   void AppendSnapshot(const std::string& key, const T&, std::string* out);  // RESP records
//                                                      // that rebuild it (kv/reply.h)
using Value = std::variant<StringValue, ListValue, SetValue, HashValue, ZSet, StreamValue, JsonValue>;

template <typename T>
inline constexpr bool kIsBuiltinValue =
    std::is_same_v<T, StringValue> || std::is_same_v<T, ListValue> || std::is_same_v<T, SetValue> ||
    std::is_same_v<T, HashValue> || std::is_same_v<T, ZSet>;

// The TYPE name of a value: "string", "list", "set", "hash", "zset", or the added type's.
const char* TypeName(const Value& v);

constexpr int64_t kNoExpiry = -1;

struct Entry {
  Value value;
  int64_t expire_ms = kNoExpiry;
  int64_t access_ms = 0;  // last lookup or write (OBJECT IDLETIME)
};

// Hash of a key as SCAN orders it: in [1, 2^52).
uint64_t ScanHash(std::string_view key);

class Keyspace {
 public:
  struct Key {
    uint64_t hash;
    std::string name;
  };
  struct KeyRef {
    uint64_t hash;
    std::string_view name;
  };
  struct Less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      if (a.hash != b.hash) return a.hash < b.hash;
      return std::string_view(a.name) < std::string_view(b.name);
    }
  };
  using Map = std::map<Key, Entry, Less>;

  Keyspace() = default;
  // The index holds iterators into map_: a copy would point into the other map. A move keeps
  // them valid (std::map moves its nodes).
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;
  Keyspace(Keyspace&&) noexcept = default;
  Keyspace& operator=(Keyspace&&) noexcept = default;

  // The time expiry is judged against; the engine sets it once per command (as Redis
  // caches mstime for a command) so a command sees one consistent instant.
  void set_now(int64_t now_ms) { now_ms_ = now_ms; }
  int64_t now() const { return now_ms_; }
  // While loading the log nothing expires: expiry is applied after the replay.
  void set_loading(bool loading) { loading_ = loading; }
  bool loading() const { return loading_; }

  // Finds a live key; an expired one is deleted (and reported through expired_keys()).
  Entry* Find(std::string_view key);
  // Inserts or replaces; the expiry is cleared unless keep_ttl.
  Entry& Set(std::string_view key, Value value, bool keep_ttl = false);
  // Inserts an empty value of the given type when absent. Callers check the type first.
  Entry& FindOrCreate(std::string_view key, Value empty);
  bool Erase(std::string_view key);
  void SetExpire(std::string_view key, int64_t expire_ms);
  bool Persist(std::string_view key);
  void Clear();

  size_t size() const { return map_.size(); }
  const Map& map() const { return map_; }

  // Deletes up to `limit` keys whose time has passed; returns how many.
  size_t ExpireSome(size_t limit);
  // Keys deleted by expiry since the last call (the engine logs them as DEL).
  std::vector<std::string> TakeExpired() { return std::exchange(expired_, {}); }
  bool HasExpired() const { return !expired_.empty(); }

  // SCAN: visits keys from `cursor` in hash order; returns the next cursor (0 when done).
  uint64_t Scan(uint64_t cursor, size_t count, const std::function<void(const std::string&, Entry&)>& visit);

  // Hashes with field TTLs by their earliest one, for the active pass (kv/hash_value.h). An
  // entry may be stale (the key renamed or gone): the pass drops it, a hash command re-lists.
  std::set<std::pair<int64_t, std::string>> hash_field_expiries;

 private:
  bool IsExpired(const Entry& e) const { return !loading_ && e.expire_ms != kNoExpiry && e.expire_ms <= now_ms_; }
  void EraseIt(Map::iterator it);
  // map_.find through the index: a lookup costs a probe or two instead of a walk down the tree.
  Map::iterator Lookup(uint64_t hash, std::string_view key);

  // An open-addressing table (linear probing) from a key's hash to its node in map_, beside
  // the ordered map SCAN needs. A slot with hash 0 is empty (ScanHash is never 0). At most
  // 3/4 full; erasing shifts the following slots back, so no tombstones.
  struct IndexSlot {
    uint64_t hash = 0;
    Map::iterator it;
  };
  void IndexInsert(uint64_t hash, Map::iterator it);
  void IndexErase(Map::iterator it);
  void IndexGrow();

  Map map_;
  std::vector<IndexSlot> index_;
  std::set<std::pair<int64_t, std::string>> expiries_;
  std::vector<std::string> expired_;
  int64_t now_ms_ = 0;
  bool loading_ = false;
};

}  // namespace stratus::kv
