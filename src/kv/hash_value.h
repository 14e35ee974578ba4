// The hash type: field -> value, plus per-field expiry times (Redis 7.4's HEXPIRE family) in a
// side structure that exists only while some field has a TTL, so a plain hash costs one null
// pointer more than the map itself.
//
// Expiry is judged against the keyspace's clock: an expired field is invisible to every read
// at once; a write to the hash removes it (logged as HDEL), and so does the engine's active
// pass (ExpireHashFields, bounded per tick), which also deletes a hash left empty. Nothing
// expires while the log is loading, as for keys.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stratus::kv {

class Keyspace;

struct HashFieldTtls {
  std::unordered_map<std::string, int64_t> at;      // field -> absolute expiry, Unix ms
  std::set<std::pair<int64_t, std::string>> order;  // the same, by time
  int64_t registered_at = -1;                       // the time it is listed under for the active pass
};

class HashValue : public std::unordered_map<std::string, std::string> {
 public:
  using Map = std::unordered_map<std::string, std::string>;
  using Map::Map;
  HashValue() = default;
  HashValue(const HashValue& o) : Map(o), ttl(o.ttl ? std::make_unique<HashFieldTtls>(*o.ttl) : nullptr) {}
  HashValue& operator=(const HashValue& o) {
    if (this != &o) {
      Map::operator=(o);
      ttl = o.ttl ? std::make_unique<HashFieldTtls>(*o.ttl) : nullptr;
    }
    return *this;
  }
  HashValue(HashValue&&) noexcept = default;
  HashValue& operator=(HashValue&&) noexcept = default;
  ~HashValue() = default;

  std::unique_ptr<HashFieldTtls> ttl;  // null unless some field has a TTL

  // The field's absolute expiry in Unix ms, or -1 without one.
  int64_t FieldExpiry(const std::string& field) const {
    if (!ttl) return -1;
    auto it = ttl->at.find(field);
    return it == ttl->at.end() ? -1 : it->second;
  }
  bool FieldExpired(const std::string& field, int64_t now) const {
    int64_t at = FieldExpiry(field);
    return at >= 0 && at <= now;
  }
  void SetFieldExpiry(const std::string& field, int64_t at_ms) {
    if (!ttl) ttl = std::make_unique<HashFieldTtls>();
    auto [it, inserted] = ttl->at.try_emplace(field, at_ms);
    if (!inserted) {
      ttl->order.erase({it->second, field});
      it->second = at_ms;
    }
    ttl->order.emplace(at_ms, field);
  }
  // Forgets the field's TTL; the side structure goes with the last one.
  bool ClearFieldExpiry(const std::string& field) {
    if (!ttl) return false;
    auto it = ttl->at.find(field);
    if (it == ttl->at.end()) return false;
    ttl->order.erase({it->second, field});
    ttl->at.erase(it);
    if (ttl->at.empty()) ttl.reset();
    return true;
  }
  // Removes a field and its TTL.
  bool EraseField(const std::string& field) {
    ClearFieldExpiry(field);
    return erase(field) > 0;
  }
  // Calls fn(const value_type&) for each field a read at `now` may show (every field when
  // none has a TTL), in the map's order.
  template <typename Fn>
  void ForEachLive(int64_t now, Fn&& fn) const {
    for (const auto& kv : *this) {
      if (!ttl || !FieldExpired(kv.first, now)) fn(kv);
    }
  }
  // Fields whose time has passed at `now` (0 when loading): the count a read must discount.
  size_t ExpiredCount(int64_t now) const {
    if (!ttl) return 0;
    size_t n = 0;
    for (auto it = ttl->order.begin(); it != ttl->order.end() && it->first <= now; ++it) ++n;
    return n;
  }
};

// The active pass: removes up to about `limit` fields whose time has passed, from the hashes
// listed in the keyspace's hash_field_expiries, handing each removal to `log` as an HDEL record
// (a hash left empty is deleted by it, as on replay). Returns how many fields it removed.
size_t ExpireHashFields(Keyspace& db, size_t limit, const std::function<void(std::vector<std::string>)>& log);

// The log rewrite of a hash with field TTLs: HSET of the fields live at `now`, then
// HPEXPIREAT of their times.
void AppendHashWithTtls(const std::string& key, const HashValue& h, int64_t now, std::string* out);

}  // namespace stratus::kv
