// The keyspace's hash index beside its ordered map: after any mix of inserts, overwrites,
// deletes, expiries and clears, every lookup finds exactly the keys a plain model holds, and
// SCAN still visits each of them.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "kv/keyspace.h"

namespace stratus::kv {
namespace {

void ExpectSame(Keyspace& db, const std::map<std::string, std::string>& model, int universe) {
  ASSERT_EQ(db.size(), model.size());
  for (int k = 0; k < universe; ++k) {
    std::string key = "k" + std::to_string(k);
    Entry* e = db.Find(key);
    auto it = model.find(key);
    ASSERT_EQ(e != nullptr, it != model.end()) << key;
    if (e) {
      EXPECT_EQ(std::get<StringValue>(e->value), it->second) << key;
    }
  }
  std::set<std::string> scanned;
  uint64_t cursor = 0;
  do {
    cursor = db.Scan(cursor, 10, [&](const std::string& k, Entry&) { scanned.insert(k); });
  } while (cursor != 0);
  EXPECT_EQ(scanned.size(), model.size());
}

TEST(KeyspaceIndexTest, LookupsMatchAModelThroughInsertsDeletesAndGrowth) {
  Keyspace db;
  db.set_now(1000);
  std::map<std::string, std::string> model;
  std::mt19937 rng(7);
  constexpr int kUniverse = 3000;  // enough keys to grow the index several times and wrap its runs
  for (int op = 0; op < 60000; ++op) {
    std::string key = "k" + std::to_string(rng() % kUniverse);
    switch (rng() % 4) {
      case 0:
      case 1: {
        std::string v = std::to_string(op);
        db.Set(key, StringValue(v));
        model[key] = v;
        break;
      }
      case 2:
        EXPECT_EQ(db.Erase(key), model.erase(key) == 1) << key;
        break;
      case 3: {
        Entry* e = db.Find(key);
        auto it = model.find(key);
        ASSERT_EQ(e != nullptr, it != model.end()) << key;
        break;
      }
    }
    if (op % 20000 == 19999) ExpectSame(db, model, kUniverse);
  }
  ExpectSame(db, model, kUniverse);
  // Expiry deletes through the same path.
  int n = 0;
  for (auto& [k, v] : model) {
    if (n++ % 3 == 0) db.SetExpire(k, 1500);
  }
  db.set_now(2000);
  size_t expired = db.ExpireSome(SIZE_MAX);
  for (auto& k : db.TakeExpired()) model.erase(k);
  EXPECT_GT(expired, 0u);
  ExpectSame(db, model, kUniverse);
  // A move keeps the index pointing into the moved map; a clear empties both.
  Keyspace moved = std::move(db);
  ExpectSame(moved, model, kUniverse);
  moved.Clear();
  model.clear();
  ExpectSame(moved, model, kUniverse);
  moved.Set("k1", StringValue("again"));
  model["k1"] = "again";
  ExpectSame(moved, model, kUniverse);
}

}  // namespace
}  // namespace stratus::kv
