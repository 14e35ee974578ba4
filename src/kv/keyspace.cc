#include "kv/keyspace.h"

namespace stratus::kv {

void ZSet::Set(const std::string& member, double score) {
  // Redis keeps small sorted sets as listpacks, where a score of -0 is stored as integer 0.
  if (score == 0) score = 0.0;
  auto [it, inserted] = scores.try_emplace(member, score);
  if (!inserted) {
    order.erase({it->second, member});
    it->second = score;
  }
  order.emplace(score, member);
}

bool ZSet::Remove(const std::string& member) {
  auto it = scores.find(member);
  if (it == scores.end()) return false;
  order.erase({it->second, member});
  scores.erase(it);
  return true;
}

const char* TypeName(const Value& v) {
  return std::visit(
      [](const auto& x) -> const char* {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, StringValue>) {
          return "string";
        } else if constexpr (std::is_same_v<T, ListValue>) {
          return "list";
        } else if constexpr (std::is_same_v<T, SetValue>) {
          return "set";
        } else if constexpr (std::is_same_v<T, HashValue>) {
          return "hash";
        } else if constexpr (std::is_same_v<T, ZSet>) {
          return "zset";
        } else {
          return TypeNameOf(x);
        }
      },
      v);
}

uint64_t ScanHash(std::string_view key) {
  // FNV-1a, then a murmur finaliser for spread.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h &= (uint64_t{1} << 52) - 1;
  return h == 0 ? 1 : h;
}

Entry* Keyspace::Find(std::string_view key) {
  auto it = map_.find(KeyRef{ScanHash(key), key});
  if (it == map_.end()) return nullptr;
  if (IsExpired(it->second)) {
    expired_.push_back(it->first.name);
    EraseIt(it);
    return nullptr;
  }
  it->second.access_ms = now_ms_;
  return &it->second;
}

Entry& Keyspace::Set(std::string_view key, Value value, bool keep_ttl) {
  uint64_t h = ScanHash(key);
  auto it = map_.find(KeyRef{h, key});
  if (it == map_.end()) {
    it = map_.emplace(Key{h, std::string(key)}, Entry{std::move(value), kNoExpiry, now_ms_}).first;
    return it->second;
  }
  it->second.value = std::move(value);
  it->second.access_ms = now_ms_;
  if (!keep_ttl && it->second.expire_ms != kNoExpiry) {
    expiries_.erase({it->second.expire_ms, it->first.name});
    it->second.expire_ms = kNoExpiry;
  }
  return it->second;
}

Entry& Keyspace::FindOrCreate(std::string_view key, Value empty) {
  if (Entry* e = Find(key)) return *e;
  return Set(key, std::move(empty));
}

void Keyspace::EraseIt(Map::iterator it) {
  if (it->second.expire_ms != kNoExpiry) expiries_.erase({it->second.expire_ms, it->first.name});
  map_.erase(it);
}

bool Keyspace::Erase(std::string_view key) {
  if (!Find(key)) return false;
  EraseIt(map_.find(KeyRef{ScanHash(key), key}));
  return true;
}

void Keyspace::SetExpire(std::string_view key, int64_t expire_ms) {
  auto it = map_.find(KeyRef{ScanHash(key), key});
  if (it == map_.end()) return;
  if (it->second.expire_ms != kNoExpiry) expiries_.erase({it->second.expire_ms, it->first.name});
  it->second.expire_ms = expire_ms;
  if (expire_ms != kNoExpiry) expiries_.emplace(expire_ms, it->first.name);
}

bool Keyspace::Persist(std::string_view key) {
  auto it = map_.find(KeyRef{ScanHash(key), key});
  if (it == map_.end() || it->second.expire_ms == kNoExpiry) return false;
  expiries_.erase({it->second.expire_ms, it->first.name});
  it->second.expire_ms = kNoExpiry;
  return true;
}

void Keyspace::Clear() {
  map_.clear();
  expiries_.clear();
}

size_t Keyspace::ExpireSome(size_t limit) {
  size_t n = 0;
  while (n < limit && !expiries_.empty() && expiries_.begin()->first <= now_ms_) {
    std::string key = expiries_.begin()->second;
    auto it = map_.find(KeyRef{ScanHash(key), key});
    if (it != map_.end())
      EraseIt(it);
    else
      expiries_.erase(expiries_.begin());
    expired_.push_back(std::move(key));
    ++n;
  }
  return n;
}

uint64_t Keyspace::Scan(uint64_t cursor, size_t count, const std::function<void(const std::string&, Entry&)>& visit) {
  auto it = map_.lower_bound(KeyRef{cursor, std::string_view()});
  size_t seen = 0;
  while (it != map_.end() && seen < count) {
    uint64_t h = it->first.hash;
    // Finish every key of one hash so the cursor (a hash) never splits them.
    while (it != map_.end() && it->first.hash == h) {
      auto next = std::next(it);
      if (IsExpired(it->second)) {
        expired_.push_back(it->first.name);
        EraseIt(it);
      } else {
        visit(it->first.name, it->second);
      }
      ++seen;
      it = next;
    }
  }
  return it == map_.end() ? 0 : it->first.hash;
}

}  // namespace stratus::kv
