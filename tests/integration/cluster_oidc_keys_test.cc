// The OIDC signing keys of a cluster live in its database (docs/cluster.md, "OIDC keys"):
// every node publishes one JWKS, a token one node signs verifies against another node's
// keys, nodes starting together make one key, a rotation made by one node reaches the
// others, and the table is its owner's alone.
#include <set>
#include <thread>

#include "auth/oidc.h"
#include "common/base64.h"
#include "common/clock.h"
#include "integration/cluster_support.h"
#include "integration/fake_issuer.h"
#include "integration/raw_target.h"
#include "store/postgres/pg_oidc_keys.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/rows.h"
#include "stratus/sdk/oidc_verifier.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using testing::ClusterTest;
using namespace std::chrono_literals;

constexpr const char* kSa = "worker@p.iam.gserviceaccount.com";
constexpr const char* kAudience = "https://worker.test";

template <typename F>
bool WaitFor(F&& done, std::chrono::seconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class ClusterOidcKeys : public ClusterTest {
 protected:
  // Starts `n` nodes one after the other, each with `extra` flags.
  void Start(int n, const std::vector<std::string>& extra = {}) {
    for (int i = 0; i < n; ++i) {
      auto p = std::make_unique<testing::StratusProcess>();
      std::vector<std::string> args = {"--store", conninfo_, "--redis-listen",
                                       "off",     "--lease", std::to_string(kLeaseSeconds) + "s"};
      args.insert(args.end(), extra.begin(), extra.end());
      ASSERT_TRUE(p->Start(args)) << p->output();
      nodes_.push_back(std::move(p));
    }
  }

  json Jwks(size_t node) {
    testing::RestClient rest;
    auto r = rest.Get(nodes_[node]->tasks_url() + "/.well-known/jwks.json");
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }
  std::set<std::string> Kids(size_t node) {
    std::set<std::string> kids;
    json j = Jwks(node);
    for (const auto& k : j.value("keys", json::array())) kids.insert(k.value("kid", ""));
    return kids;
  }

  // Creates a task with an oidcToken through `via` and returns the Authorization header its
  // delivery carried (whichever node owns the queue delivers it).
  std::string DeliveredToken(size_t via, const std::string& queue, const std::string& task) {
    testing::RestClient rest;
    json t = {
        {"name", testing::ClusterQueueName(queue) + "/tasks/" + task},
        {"httpRequest",
         {{"url", target_.Url("/" + task)}, {"oidcToken", {{"serviceAccountEmail", kSa}, {"audience", kAudience}}}}}};
    auto r = rest.Post(Url(via, "/queues/" + queue + "/tasks"), {{"task", t}});
    EXPECT_EQ(r.status, 200) << r.body.dump();
    std::string auth;
    EXPECT_TRUE(WaitFor([&] {
      for (const auto& s : target_.seen()) {
        if (s.path == "/" + task) auth = s.Header("authorization");
      }
      return !auth.empty();
    }));
    return auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : auth;
  }

  // A verifier that trusts exactly the keys `node` publishes (served by the fake issuer the
  // nodes name as their --oidc-issuer).
  std::unique_ptr<sdk::OidcVerifier> VerifierOf(size_t node) {
    issuer_.SetKeys(Jwks(node)["keys"]);
    sdk::OidcVerifierOptions o;
    o.issuers = {issuer_.url()};
    o.audiences = {kAudience};
    auto v = sdk::OidcVerifier::Create(std::move(o));
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(*v) : nullptr;
  }

  static std::string KidOf(const std::string& token) {
    std::string h = token.substr(0, token.find('.'));
    for (char& c : h) c = c == '-' ? '+' : (c == '_' ? '/' : c);
    while (h.size() % 4) h += '=';
    auto decoded = Base64Decode(h);
    return decoded.ok() ? json::parse(*decoded).value("kid", "") : "";
  }

  testing::FakeIssuer issuer_;
  testing::RawTarget target_{[](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  }};
};

TEST_F(ClusterOidcKeys, NodesPublishOneJwksAndATokenVerifiesAgainstAnotherNodesKeys) {
  ASSERT_TRUE(issuer_.ok());
  Start(2, {"--oidc-issuer", issuer_.url()});
  EXPECT_EQ(Sql("SELECT count(*) FROM oidc_keys"), "1");
  const json a = Jwks(0);
  ASSERT_EQ(a["keys"].size(), 1u) << a.dump();
  EXPECT_EQ(a, Jwks(1));
  // No private part is published.
  EXPECT_EQ(a.dump().find("\"d\""), std::string::npos);
  EXPECT_EQ(a["keys"][0]["kid"], Sql("SELECT kid FROM oidc_keys"));

  CreateQueue(0, "signed");
  auto owner = WaitOwner("signed", {0, 1});
  ASSERT_TRUE(owner);
  const size_t other = 1 - owner->first;
  // Created through the node that does not own the queue, delivered by the owner, verified
  // against the keys the other node publishes.
  std::string token = DeliveredToken(other, "signed", "t1");
  ASSERT_FALSE(token.empty());
  auto verifier = VerifierOf(other);
  ASSERT_TRUE(verifier);
  auto verified = verifier->Verify(token);
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->email, kSa);
  EXPECT_EQ(verified->audience, kAudience);
}

TEST_F(ClusterOidcKeys, SignersOpeningTogetherOnOneDatabaseMakeOneKey) {
  {
    auto store = PgStore::Open(conninfo_, StoreOptions{});  // the schema
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  constexpr int kNodes = 4;
  SystemClock clock;
  std::vector<std::unique_ptr<auth::OidcSigner>> signers(kNodes);
  std::vector<Status> opened(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auth::OidcOptions o;
      o.issuer = "https://stratus.test";
      o.source = std::make_shared<PgKeySource>(conninfo_);
      o.shared = true;
      auto s = auth::OidcSigner::Open(o, clock);
      opened[i] = s.status();
      if (s.ok()) signers[i] = std::move(*s);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(opened[i].ok()) << opened[i].ToString();
  EXPECT_EQ(Sql("SELECT count(*) FROM oidc_keys"), "1");
  for (int i = 1; i < kNodes; ++i) EXPECT_EQ(signers[i]->Jwks(), signers[0]->Jwks());
  for (int i = 1; i < kNodes; ++i) EXPECT_EQ(signers[i]->current_kid(), signers[0]->current_kid());
  // And nodes started on that database publish that key.
  Start(2);
  const json a = Jwks(0);
  EXPECT_EQ(a, signers[0]->Jwks());
  EXPECT_EQ(Jwks(1), a);
}

TEST_F(ClusterOidcKeys, ARotationOneNodeMakesReachesEveryNodesJwksAndSigning) {
  ASSERT_TRUE(issuer_.ok());
  // --oidc-rotate-after 20s: every node re-reads the keys each second, and a new key is
  // published 3 s before it signs.
  Start(2, {"--oidc-issuer", issuer_.url(), "--oidc-rotate-after", "20s"});
  const std::string first = Sql("SELECT kid FROM oidc_keys");
  ASSERT_EQ(Sql("SELECT count(*) FROM oidc_keys"), "1");
  // The key is due now: whichever node re-reads first rotates, the other must not.
  ASSERT_EQ(Sql("UPDATE oidc_keys SET created_us = created_us - 60000000, signs_from_us = signs_from_us - 60000000"),
            "");
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM oidc_keys") == "2"; }, 30s));
  const std::string second = Sql("SELECT kid FROM oidc_keys WHERE kid <> '" + first + "'");
  const std::set<std::string> both = {first, second};
  // Both nodes publish both keys (the new one before it signs: a second or more ahead).
  EXPECT_TRUE(WaitFor([&] { return Kids(0) == both && Kids(1) == both; }, 10s)) << Jwks(0).dump() << Jwks(1).dump();
  EXPECT_EQ(Sql("SELECT count(*) FROM oidc_keys"), "2") << "one node made the new key";
  // Once its time came, every node signs with the new key.
  const std::string signs_from = Sql("SELECT signs_from_us FROM oidc_keys WHERE kid = '" + second + "'");
  ASSERT_FALSE(signs_from.empty());
  ASSERT_TRUE(WaitFor([&] { return testing::WallMicros() > std::stoll(signs_from) + 1'500'000; }, 30s));
  CreateQueue(0, "rot");
  auto owner = WaitOwner("rot", {0, 1});
  ASSERT_TRUE(owner);
  const size_t other = 1 - owner->first;
  std::string token = DeliveredToken(owner->first, "rot", "after");
  EXPECT_EQ(KidOf(token), second);
  auto verifier = VerifierOf(other);
  ASSERT_TRUE(verifier);
  auto verified = verifier->Verify(token);
  EXPECT_TRUE(verified.ok()) << verified.status().message();
}

TEST_F(ClusterOidcKeys, AnOidcKeyFileStillOverridesTheTable) {
  Start(1);  // the table's key
  const std::string table_kid = Sql("SELECT kid FROM oidc_keys");
  const std::string pem = "/tmp/stratus-oidc-override-" + std::to_string(::getpid()) + ".pem";
  ASSERT_EQ(std::system(
                ("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + pem + " 2>/dev/null").c_str()),
            0);
  Start(1, {"--oidc-key", pem});
  std::filesystem::remove(pem);
  const std::set<std::string> kids = Kids(1);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_NE(*kids.begin(), table_kid);
  EXPECT_EQ(Kids(0), std::set<std::string>{table_kid});
  EXPECT_EQ(Sql("SELECT count(*) FROM oidc_keys"), "1") << "the file's key is not written to the table";
}

TEST_F(ClusterOidcKeys, TheKeysTableIsItsOwnersAlone) {
  // Even where the database grants every new table to everyone by default.
  ASSERT_EQ(Sql("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC"), "");
  Start(1);
  const std::string role = "stratus_reader_" + std::to_string(::getpid());
  ASSERT_EQ(testing::PostgresAdmin("DROP ROLE IF EXISTS " + role), "");
  ASSERT_EQ(testing::PostgresAdmin("CREATE ROLE " + role), "");
  EXPECT_EQ(Sql("SELECT has_table_privilege('" + role + "', 'queues', 'SELECT')"), "t") << "the default grant holds";
  EXPECT_EQ(Sql("SELECT has_table_privilege('" + role + "', 'oidc_keys', 'SELECT')"), "f");
  nodes_.clear();
  EXPECT_EQ(testing::PostgresAdmin("DROP ROLE " + role), "");
}

TEST_F(ClusterOidcKeys, ASchemaTwoDatabaseGainsTheKeysTable) {
  Start(1);
  nodes_.clear();
  ASSERT_EQ(Sql("DROP TABLE oidc_keys"), "");
  ASSERT_EQ(Sql("UPDATE stratus_schema SET version = 2"), "");
  Start(1);
  EXPECT_EQ(Sql("SELECT version FROM stratus_schema"), std::to_string(pg::kSchemaVersion));
  EXPECT_EQ(Sql("SELECT count(*) FROM oidc_keys"), "1");
}

}  // namespace
}  // namespace stratus
