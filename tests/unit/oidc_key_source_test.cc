// The OIDC signer over the key source interface (auth/key_source.h), on a fake clock and an
// in-memory source shared by two signers as a cluster's table is: rotation, publication
// before signing, forgetting retired keys, one key when two nodes find a rotation due.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "auth/oidc.h"
#include "common/base64.h"

namespace stratus::auth {
namespace {

constexpr Micros kDay = 86400 * kMicrosPerSecond;
constexpr Micros kRotate = 30 * kDay;

// The keys in memory, one Update at a time (as the table's advisory lock makes it).
class MemorySource final : public KeySource {
 public:
  StatusOr<std::vector<StoredKey>> Load() override {
    std::lock_guard lock(mu_);
    if (!fail.empty()) return Unavailable(fail);
    return keys;
  }
  StatusOr<std::vector<StoredKey>> Update(const Decide& decide) override {
    std::lock_guard lock(mu_);
    if (!fail.empty()) return Unavailable(fail);
    ++updates;
    STRATUS_ASSIGN_OR_RETURN(KeyChanges changes, decide(keys));
    for (const auto& kid : changes.remove) {
      std::erase_if(keys, [&](const StoredKey& k) { return k.kid == kid; });
    }
    for (auto& k : changes.add) keys.push_back(k);
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.signs_from < b.signs_from; });
    return keys;
  }
  std::string Where() const override { return "memory"; }

  std::vector<StoredKey> keys;
  std::string fail;
  int updates = 0;

 private:
  std::mutex mu_;
};

std::string KidOfToken(const std::string& token) {
  std::string header = token.substr(0, token.find('.'));
  for (char& c : header) c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (header.size() % 4) header += '=';
  auto json = Base64Decode(header);
  return json.ok() ? Json::parse(*json).value("kid", "") : "";
}

std::set<std::string> JwksKids(const OidcSigner& s) {
  std::set<std::string> kids;
  const Json jwks = s.Jwks();
  for (const auto& k : jwks["keys"]) kids.insert(k["kid"].get<std::string>());
  return kids;
}

class OidcKeySourceTest : public ::testing::Test {
 protected:
  std::unique_ptr<OidcSigner> Open(bool shared = true) {
    OidcOptions o;
    o.issuer = "https://stratus.test";
    o.rotate_after = kRotate;
    o.source = source_;
    o.shared = shared;
    auto s = OidcSigner::Open(o, clock_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string TokenKid(OidcSigner& s) {
    auto t = s.Token("sa@p.iam.gserviceaccount.com", "https://aud");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? KidOfToken(*t) : "";
  }

  FakeClock clock_{1'800'000'000LL * kMicrosPerSecond};
  std::shared_ptr<MemorySource> source_ = std::make_shared<MemorySource>();
};

TEST_F(OidcKeySourceTest, PeriodsFollowTheRotation) {
  EXPECT_EQ(OidcSigner::RefreshPeriod(30 * kDay), 60 * kMicrosPerSecond);
  EXPECT_EQ(OidcSigner::PublishLead(30 * kDay), 121 * kMicrosPerSecond);
  EXPECT_EQ(OidcSigner::RefreshPeriod(10 * kMicrosPerSecond), kMicrosPerSecond);
  EXPECT_EQ(OidcSigner::PublishLead(10 * kMicrosPerSecond), 3 * kMicrosPerSecond);
  EXPECT_EQ(OidcSigner::RefreshPeriod(200 * kMicrosPerSecond), 10 * kMicrosPerSecond);
}

TEST_F(OidcKeySourceTest, TheFirstKeyIsMadeAtOpenAndSignsAtOnce) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_EQ(source_->keys.size(), 1u);
  const StoredKey& k = source_->keys[0];
  EXPECT_EQ(k.created, clock_.Now());
  EXPECT_EQ(k.signs_from, clock_.Now());
  EXPECT_NE(k.pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(JwksKids(*s), std::set<std::string>{k.kid});
  EXPECT_EQ(s->current_kid(), k.kid);
  EXPECT_EQ(TokenKid(*s), k.kid);
  // The JWKS is the public half only.
  EXPECT_EQ(s->Jwks().dump().find("\"d\""), std::string::npos);
}

TEST_F(OidcKeySourceTest, TwoNodesOpeningOnOneSourceShareOneKey) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(source_->keys.size(), 1u);
  EXPECT_EQ(a->Jwks(), b->Jwks());
  EXPECT_EQ(TokenKid(*a), TokenKid(*b));
}

TEST_F(OidcKeySourceTest, ARotationIsPublishedEverywhereBeforeAnyNodeSignsWithIt) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const std::string first = source_->keys[0].kid;
  clock_.Advance(kRotate);
  // Both find the rotation due; the source lets one decide at a time, so one key is made.
  ASSERT_TRUE(a->Refresh().ok());
  ASSERT_TRUE(b->Refresh().ok());
  ASSERT_EQ(source_->keys.size(), 2u);
  const StoredKey second = source_->keys[1];
  EXPECT_EQ(second.signs_from, second.created + OidcSigner::PublishLead(kRotate));
  EXPECT_EQ(JwksKids(*a), (std::set<std::string>{first, second.kid}));
  EXPECT_EQ(a->Jwks(), b->Jwks());
  // Until its time comes every node still signs with the first.
  EXPECT_EQ(TokenKid(*a), first);
  EXPECT_EQ(TokenKid(*b), first);
  clock_.Advance(OidcSigner::PublishLead(kRotate));
  EXPECT_EQ(TokenKid(*a), second.kid) << "a cached token of the old key is not reused";
  EXPECT_EQ(TokenKid(*b), second.kid);
  EXPECT_EQ(b->current_kid(), second.kid);
}

TEST_F(OidcKeySourceTest, AKeyOnlyAnotherNodeMadeReachesThisOneAtItsRefresh) {
  auto a = Open();
  ASSERT_TRUE(a);
  clock_.Advance(kRotate);
  {
    auto b = Open();  // b starts after the key aged: b rotates
    ASSERT_TRUE(b);
  }
  ASSERT_EQ(source_->keys.size(), 2u);
  EXPECT_EQ(JwksKids(*a).size(), 1u) << "not re-read yet";
  ASSERT_TRUE(a->Refresh().ok());
  EXPECT_EQ(JwksKids(*a).size(), 2u);
}

TEST_F(OidcKeySourceTest, ARetiredKeyStaysForATokenLifetimeAndIsForgottenAfter) {
  auto a = Open();
  ASSERT_TRUE(a);
  const std::string first = source_->keys[0].kid;
  clock_.Advance(kRotate);
  ASSERT_TRUE(a->Refresh().ok());
  const Micros retired_at = source_->keys[1].signs_from;
  clock_.Set(retired_at + OidcSigner::kTokenLifetime + OidcSigner::kRetireMargin);
  ASSERT_TRUE(a->Refresh().ok());
  EXPECT_EQ(JwksKids(*a).count(first), 1u);
  clock_.Advance(kMicrosPerSecond);
  ASSERT_TRUE(a->Refresh().ok());
  EXPECT_EQ(JwksKids(*a).count(first), 0u);
  EXPECT_EQ(source_->keys.size(), 1u);
}

TEST_F(OidcKeySourceTest, OneNodeSourceSignsWithANewKeyAtOnce) {
  auto a = Open(/*shared=*/false);
  ASSERT_TRUE(a);
  clock_.Advance(kRotate);
  ASSERT_TRUE(a->Refresh().ok());
  ASSERT_EQ(source_->keys.size(), 2u);
  EXPECT_EQ(TokenKid(*a), source_->keys[1].kid);
}

TEST_F(OidcKeySourceTest, ASourceThatFailsKeepsTheKeysHeld) {
  auto a = Open();
  ASSERT_TRUE(a);
  const Json jwks = a->Jwks();
  const std::string kid = TokenKid(*a);
  source_->fail = "postgres: connection refused";
  clock_.Advance(kRotate);
  Status st = a->Refresh();
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(a->Jwks(), jwks);
  EXPECT_EQ(TokenKid(*a), kid);
  source_->fail.clear();
  ASSERT_TRUE(a->Refresh().ok());
  EXPECT_EQ(JwksKids(*a).size(), 2u);
}

TEST_F(OidcKeySourceTest, ABrokenStoredKeyIsRefusedWithoutShowingIt) {
  source_->keys.push_back({"0011223344556677", "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
                           clock_.Now(), clock_.Now()});
  OidcOptions o;
  o.source = source_;
  auto s = OidcSigner::Open(o, clock_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("0011223344556677 in memory"), std::string::npos) << s.status().message();
  EXPECT_EQ(s.status().message().find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(source_->updates, 0) << "no silent new key";
}

TEST_F(OidcKeySourceTest, AStoredKeyUnderAnotherKidIsRefused) {
  auto a = Open();
  ASSERT_TRUE(a);
  a.reset();
  source_->keys[0].kid = "ffffffffffffffff";
  OidcOptions o;
  o.source = source_;
  auto s = OidcSigner::Open(o, clock_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("is another key"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace stratus::auth
