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

Keyspace::Map::iterator Keyspace::Lookup(uint64_t hash, std::string_view key) {
  if (index_.empty()) return map_.end();
  size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const IndexSlot& s = index_[i];
    if (s.hash == 0) return map_.end();
    if (s.hash == hash && s.it->first.name == key) return s.it;
  }
}

void Keyspace::IndexInsert(uint64_t hash, Map::iterator it) {
  if (map_.size() * 4 > index_.size() * 3) IndexGrow();  // map_ holds `it` already
  size_t mask = index_.size() - 1;
  size_t i = hash & mask;
  while (index_[i].hash != 0) i = (i + 1) & mask;
  index_[i] = {hash, it};
}

void Keyspace::IndexGrow() {
  std::vector<IndexSlot> old = std::exchange(index_, std::vector<IndexSlot>(index_.empty() ? 16 : index_.size() * 2));
  size_t mask = index_.size() - 1;
  for (const IndexSlot& s : old) {
    if (s.hash == 0) continue;
    size_t i = s.hash & mask;
    while (index_[i].hash != 0) i = (i + 1) & mask;
    index_[i] = s;
  }
}

void Keyspace::IndexErase(Map::iterator it) {
  size_t mask = index_.size() - 1;
  size_t i = it->first.hash & mask;
  while (index_[i].hash == 0 || index_[i].it != it) i = (i + 1) & mask;
  // Backward shift: move up each later slot of the run that may sit in the freed one.
  for (size_t j = (i + 1) & mask; index_[j].hash != 0; j = (j + 1) & mask) {
    size_t home = index_[j].hash & mask;
    // Does `home` lie cyclically in (i, j]? Then the slot stays; else it moves to i.
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = IndexSlot{};
}

Entry* Keyspace::Find(std::string_view key) {
  auto it = Lookup(ScanHash(key), key);
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
  auto it = Lookup(h, key);
  if (it == map_.end()) {
    it = map_.emplace(Key{h, std::string(key)}, Entry{std::move(value), kNoExpiry, now_ms_}).first;
    IndexInsert(h, it);
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
  IndexErase(it);
  map_.erase(it);
}

bool Keyspace::Erase(std::string_view key) {
  if (!Find(key)) return false;
  EraseIt(Lookup(ScanHash(key), key));
  return true;
}

void Keyspace::SetExpire(std::string_view key, int64_t expire_ms) {
  auto it = Lookup(ScanHash(key), key);
  if (it == map_.end()) return;
  if (it->second.expire_ms != kNoExpiry) expiries_.erase({it->second.expire_ms, it->first.name});
  it->second.expire_ms = expire_ms;
  if (expire_ms != kNoExpiry) expiries_.emplace(expire_ms, it->first.name);
}

bool Keyspace::Persist(std::string_view key) {
  auto it = Lookup(ScanHash(key), key);
  if (it == map_.end() || it->second.expire_ms == kNoExpiry) return false;
  expiries_.erase({it->second.expire_ms, it->first.name});
  it->second.expire_ms = kNoExpiry;
  return true;
}

void Keyspace::Clear() {
  map_.clear();
  index_.clear();
  expiries_.clear();
}

size_t Keyspace::ExpireSome(size_t limit) {
  size_t n = 0;
  while (n < limit && !expiries_.empty() && expiries_.begin()->first <= now_ms_) {
    std::string key = expiries_.begin()->second;
    auto it = Lookup(ScanHash(key), key);
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
