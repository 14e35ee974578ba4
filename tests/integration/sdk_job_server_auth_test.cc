// The OIDC verifier and the JobServer's authentication against a fake issuer that misbehaves
// on purpose (slow, huge, lying, weak keys), with tokens minted here.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "integration/fake_issuer.h"
#include "sdk/http_sync.h"
#include "stratus/sdk/canonical_json.h"
#include "stratus/sdk/job_server.h"
#include "stratus/sdk/oidc_verifier.h"

namespace stratus::sdk {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using testing::FakeIssuer;
using testing::RsaKey;

constexpr char kAudience[] = "https://jobs.example.test";
constexpr char kSa[] = "worker@p.iam.gserviceaccount.com";
constexpr char kRefused[] = "missing or invalid OIDC token";
constexpr auto kWait = seconds(20);

bool WaitFor(const std::function<bool()>& done) {
  auto deadline = steady_clock::now() + kWait;
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return done();
}

int64_t Now() {
  return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Keys are slow to generate on a loaded machine: made once.
const RsaKey& Key() {
  static const RsaKey key("k1");
  return key;
}

class LogLines {
 public:
  Logger logger() {
    return Logger([this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    });
  }
  std::vector<std::string> All() {
    std::lock_guard lock(mu_);
    return lines_;
  }
  int With(const std::string& needle) {
    int n = 0;
    for (const auto& l : All()) n += l.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Key().ok());
    ASSERT_TRUE(issuer_.ok());
    issuer_.SetKeys({Key().Jwk()});
    auto http = internal::SyncHttp::Create("");
    ASSERT_TRUE(http.ok());
    http_ = std::move(*http);
  }

  json Claims(json extra = json::object()) const {
    json c = {{"iss", issuer_.url()},   {"aud", kAudience},  {"sub", "1234567890"}, {"email", kSa},
              {"email_verified", true}, {"iat", Now() - 10}, {"exp", Now() + 3600}};
    c.update(extra);
    return c;
  }
  std::string Token(json extra = json::object()) const { return Key().Sign(Claims(std::move(extra))); }

  OidcVerifierOptions VerifierOptions() {
    OidcVerifierOptions o;
    o.issuers = {issuer_.url()};
    o.audiences = {kAudience};
    o.logger = verifier_log_.logger();
    return o;
  }
  std::shared_ptr<OidcVerifier> MakeVerifier(OidcVerifierOptions o) {
    auto v = OidcVerifier::Create(std::move(o));
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::shared_ptr<OidcVerifier>(std::move(*v)) : nullptr;
  }
  std::shared_ptr<OidcVerifier> MakeVerifier() { return MakeVerifier(VerifierOptions()); }

  JobServerOptions ServerOptions(std::shared_ptr<OidcVerifier> verifier) {
    JobServerOptions o;
    o.verifier = std::move(verifier);
    o.allowed_service_accounts = {kSa};
    o.logger = server_log_.logger();
    return o;
  }
  std::unique_ptr<JobServer> Start(JobServerOptions o) {
    auto server = std::make_unique<JobServer>(std::move(o));
    server->Register("echo", [this](const JobContext& ctx, const json& data) {
      std::lock_guard lock(mu_);
      contexts_.push_back(ctx);
      return JobResult::Ok(data);
    });
    server->Register("hold", [this](const JobContext&, const json&) {
      ++holding_;
      release_.wait();
      return JobResult::Ok();
    });
    Status st = server->Start();
    EXPECT_TRUE(st.ok()) << st.message();
    return server;
  }

  http::ClientResult Post(const JobServer& server, const std::string& token, const std::string& body = "",
                          const std::string& job = "echo") {
    auto url = http::Url::Parse(server.url() + "/api/jobs/" + job);
    http::Request req = internal::MakeRequest(
        http::Verb::post, body.empty() ? json{{"data", {{"x", 1}}},
                                              {"idempotencyKey", *IdempotencyKey("echo", json{{"x", 1}})},
                                              {"jobName", "echo"}}
                                             .dump()
                                       : body);
    if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
    return http_->Fetch(*url, std::move(req), milliseconds(20000));
  }

  FakeIssuer issuer_;
  std::unique_ptr<internal::SyncHttp> http_;
  LogLines verifier_log_;
  LogLines server_log_;
  std::mutex mu_;
  std::vector<JobContext> contexts_;
  std::promise<void> release_promise_;
  std::shared_future<void> release_ = release_promise_.get_future().share();
  std::atomic<int> holding_{0};
};

Code CodeOf(const StatusOr<VerifiedToken>& r) {
  return r.ok() ? Code::kOk : r.status().code();
}

// ---- 1. who may call ----

TEST_F(AuthTest, OnlyAllowedServiceAccountsAreServedAndTheHandlerSeesTheClaims) {
  auto server = Start(ServerOptions(MakeVerifier()));
  auto ok = Post(*server, Token());
  ASSERT_EQ(ok.status, 200) << ok.body;
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(contexts_.size(), 1u);
    const auto& token = contexts_[0].token;
    ASSERT_TRUE(token.has_value());
    EXPECT_EQ(token->issuer, issuer_.url());
    EXPECT_EQ(token->audience, kAudience);
    EXPECT_EQ(token->email, kSa);
    EXPECT_TRUE(token->email_verified);
    EXPECT_EQ(token->subject, "1234567890");
    EXPECT_GT(token->expires_at, Now());
    EXPECT_GT(token->issued_at, 0);
    EXPECT_EQ(token->claims["sub"], "1234567890");
  }
  // Any other account with a valid token for the audience is refused.
  auto other = Post(*server, Token({{"email", "someone@gmail.com"}, {"sub", "999"}}));
  EXPECT_EQ(other.status, 401) << other.body;
  // The listed email counts only when the issuer verified it.
  auto unverified = Post(*server, Token({{"email_verified", false}}));
  EXPECT_EQ(unverified.status, 401) << unverified.body;
  EXPECT_EQ(contexts_.size(), 1u);
}

TEST_F(AuthTest, AllowListMatchesTheSubjectToo) {
  JobServerOptions o = ServerOptions(MakeVerifier());
  o.allowed_service_accounts = {"1234567890"};
  auto server = Start(std::move(o));
  auto r = Post(*server, Token({{"email", "x@y.z"}}));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AuthTest, ProductionModeNeedsAnAllowList) {
  JobServerOptions o = ServerOptions(MakeVerifier());
  o.allowed_service_accounts.clear();
  JobServer server(std::move(o));
  Status st = server.Start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("allowed_service_accounts"), std::string::npos) << st.message();

  JobServerOptions unauthenticated;
  unauthenticated.allow_unauthenticated = true;
  JobServer open(std::move(unauthenticated));
  EXPECT_EQ(open.Start().code(), Code::kInvalidArgument);  // kLocal only

  JobServerOptions local = ServerOptions(MakeVerifier());
  local.allowed_service_accounts.clear();
  local.mode = JobServerMode::kLocal;
  auto any_caller = Start(std::move(local));
  EXPECT_EQ(Post(*any_caller, Token({{"email", "someone@gmail.com"}})).status, 200);
}

// ---- 2. which keys are trusted ----

// EMSA-PKCS1-v1_5 for SHA-256 of `input`, k bytes long: with e = 1 this is the "signature".
std::string Pkcs1Encoded(const std::string& input, size_t k) {
  static const unsigned char kPrefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  std::string t(reinterpret_cast<const char*>(kPrefix), sizeof kPrefix);
  t.append(reinterpret_cast<const char*>(digest), sizeof digest);
  std::string em = std::string("\x00\x01", 2) + std::string(k - t.size() - 3, '\xff') + std::string(1, '\0') + t;
  return em;
}

TEST_F(AuthTest, ExponentOneKeyCannotBeUsedToForgeTokens) {
  // A JWK with e = 1 and a real modulus: s^1 = EM, so the padded digest is a valid signature.
  json jwk = {{"kty", "RSA"}, {"kid", "e1"}, {"n", auth::Base64Url(Key().Modulus())}, {"e", auth::Base64Url("\x01")}};
  issuer_.SetKeys({jwk});
  json header = {{"alg", "RS256"}, {"kid", "e1"}};
  std::string input = auth::Base64Url(header.dump()) + "." + auth::Base64Url(Claims().dump());
  std::string forged = input + "." + auth::Base64Url(Pkcs1Encoded(input, Key().Modulus().size()));
  auto r = MakeVerifier()->Verify(forged);
  EXPECT_FALSE(r.ok());
}

TEST_F(AuthTest, WeakAndOddKeysAreSkipped) {
  RsaKey e3("e3", 2048, 3);
  RsaKey small("small", 1024);
  ASSERT_TRUE(e3.ok() && small.ok());
  issuer_.SetKeys({e3.Jwk(), small.Jwk(), Key().Jwk()});
  auto verifier = MakeVerifier();
  EXPECT_TRUE(verifier->Verify(Token()).ok());
  EXPECT_FALSE(verifier->Verify(e3.Sign(Claims())).ok());
  EXPECT_FALSE(verifier->Verify(small.Sign(Claims())).ok());
}

TEST_F(AuthTest, DiscoveryMustNameTheIssuerAndKeepTheKeysOnItsHost) {
  // jwks_uri on another host (localhost is not 127.0.0.1 for this check).
  std::string port = issuer_.url().substr(issuer_.url().rfind(':') + 1);
  issuer_.SetDiscovery({{"issuer", issuer_.url()}, {"jwks_uri", "http://localhost:" + port + "/jwks"}});
  EXPECT_FALSE(MakeVerifier()->Verify(Token()).ok());
  // A document that names another issuer.
  issuer_.SetDiscovery({{"issuer", "https://accounts.google.com"}, {"jwks_uri", issuer_.url() + "/jwks"}});
  EXPECT_FALSE(MakeVerifier()->Verify(Token()).ok());
  EXPECT_EQ(issuer_.jwks_hits(), 0);
  // Put right, the same token passes.
  issuer_.SetDiscovery({{"issuer", issuer_.url()}, {"jwks_uri", issuer_.url() + "/jwks"}});
  EXPECT_TRUE(MakeVerifier()->Verify(Token()).ok());
  // A plain-http issuer off loopback is refused up front.
  OidcVerifierOptions o = VerifierOptions();
  o.issuers = {"http://issuer.example.test"};
  EXPECT_EQ(OidcVerifier::Create(o).status().code(), Code::kInvalidArgument);
}

TEST_F(AuthTest, AHugeJwksIsRefused) {
  json keys = json::array({Key().Jwk()});
  keys.push_back({{"kty", "oct"}, {"k", std::string(2 << 20, 'A')}});
  issuer_.SetKeys(keys);
  EXPECT_FALSE(MakeVerifier()->Verify(Token()).ok());
}

// ---- 3. fetching keys ----

TEST_F(AuthTest, AKnownKidNeverWaitsForARefresh) {
  issuer_.SetCacheControl("max-age=0");  // always stale: every use asks for a refresh
  OidcVerifierOptions o = VerifierOptions();
  o.min_refresh_interval = seconds(0);
  auto verifier = MakeVerifier(o);
  ASSERT_TRUE(verifier->Verify(Token()).ok());
  issuer_.SetJwksDelay(milliseconds(4000));
  const std::string token = Token();
  for (int i = 0; i < 5; ++i) {
    auto start = steady_clock::now();
    EXPECT_TRUE(verifier->Verify(token).ok());
    EXPECT_LT(steady_clock::now() - start, milliseconds(2000)) << "round " << i;
  }
  EXPECT_TRUE(WaitFor([&] { return issuer_.jwks_hits() >= 2; }));  // the refresh did happen
}

TEST_F(AuthTest, AWaiterGivesUpAtItsOwnDeadline) {
  issuer_.SetJwksDelay(milliseconds(6000));
  auto verifier = MakeVerifier();
  auto start = steady_clock::now();
  auto r = verifier->Verify(Token(), steady_clock::now() + milliseconds(300));
  EXPECT_EQ(CodeOf(r), Code::kUnavailable);
  EXPECT_LT(steady_clock::now() - start, milliseconds(3000));
}

TEST_F(AuthTest, CacheControlMaxAgeIsHonouredAndStaleKeysExpire) {
  issuer_.SetCacheControl("public, max-age=1");
  OidcVerifierOptions o = VerifierOptions();
  o.min_refresh_interval = seconds(0);
  o.max_stale = seconds(1);
  auto verifier = MakeVerifier(o);
  const std::string token = Token();
  ASSERT_TRUE(verifier->Verify(token).ok());
  EXPECT_EQ(issuer_.jwks_hits(), 1);
  // Past max-age the known kid still verifies and a refresh happens behind it.
  EXPECT_TRUE(WaitFor([&] { return verifier->Verify(token).ok() && issuer_.jwks_hits() >= 2; }));
  // The issuer breaks: the keys stay usable for max_stale past their freshness, then go.
  issuer_.SetJwksStatus(500);
  EXPECT_TRUE(WaitFor([&] { return CodeOf(verifier->Verify(token)) == Code::kUnavailable; }));
  EXPECT_GE(verifier_log_.With("cannot fetch the OIDC signing keys"), 1);
}

TEST_F(AuthTest, UnknownKidFloodDoesNotDelayValidDeliveries) {
  const milliseconds delay(4000);
  OidcVerifierOptions vo = VerifierOptions();
  vo.min_refresh_interval = seconds(1);
  vo.fetch_timeout = milliseconds(10000);
  JobServerOptions o = ServerOptions(MakeVerifier(vo));
  o.worker_threads = 4;
  o.refused_log_per_second = 1;
  auto server = Start(std::move(o));
  ASSERT_EQ(Post(*server, Token()).status, 200);  // keys loaded
  issuer_.SetJwksDelay(delay);

  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> flood;
  const std::string forged = Key().Sign(Claims(), {{"kid", "nope"}});
  for (int i = 0; i < 12; ++i) {
    flood.emplace_back([&] {
      auto http = internal::SyncHttp::Create("");
      auto url = http::Url::Parse(server->url() + "/api/jobs/echo");
      while (!stop) {
        http::Request req = internal::MakeRequest(http::Verb::post, "{}");
        req.set(beast::http::field::authorization, "Bearer " + forged);
        auto r = (*http)->Fetch(*url, std::move(req), milliseconds(20000));
        if (r.status == 401) ++refused;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return issuer_.jwks_hits() >= 2; }));  // a slow refetch is under way
  milliseconds slowest{0};
  for (int i = 0; i < 10; ++i) {
    auto start = steady_clock::now();
    auto r = Post(*server, Token());
    EXPECT_EQ(r.status, 200) << r.body;
    slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(steady_clock::now() - start));
  }
  stop = true;
  for (auto& t : flood) t.join();
  // Each valid delivery took well under one slow fetch, and fetches never overlapped.
  EXPECT_LT(slowest, delay / 2);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(issuer_.jwks_in_flight_max(), 1);
}

// ---- 4. the body waits for the token ----

// A raw connection: sends `head` and part of a body, then stalls; returns what came back.
std::string SendAndStall(uint16_t port, const std::string& head, size_t body_bytes, milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out = head + std::string(body_bytes, 'x');
  (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    if (got.find("\r\n\r\n") != std::string::npos && got.find("}") != std::string::npos) break;
  }
  ::close(fd);
  return got;
}

std::string Head(size_t content_length, const std::string& token = "", bool expect_continue = false) {
  std::string h = "POST /api/jobs/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
  h += "Content-Length: " + std::to_string(content_length) + "\r\n";
  if (!token.empty()) h += "Authorization: Bearer " + token + "\r\n";
  if (expect_continue) h += "Expect: 100-continue\r\n";
  return h + "\r\n";
}

TEST_F(AuthTest, ABodyWithoutAValidTokenIsNotWaitedFor) {
  auto server = Start(ServerOptions(MakeVerifier()));
  // 8 MiB announced, 1 KiB sent, then nothing: the 401 comes without the rest.
  std::string r = SendAndStall(server->port(), Head(8 << 20), 1024, milliseconds(10000));
  EXPECT_EQ(r.rfind("HTTP/1.1 401", 0), 0u) << r.substr(0, 200);
  r = SendAndStall(server->port(), Head(8 << 20, Token({{"email", "evil@x.y"}})), 1024, milliseconds(10000));
  EXPECT_EQ(r.rfind("HTTP/1.1 401", 0), 0u) << r.substr(0, 200);
  // Expect: 100-continue gets the 401 instead of the go-ahead.
  r = SendAndStall(server->port(), Head(8 << 20, "", true), 0, milliseconds(10000));
  EXPECT_EQ(r.rfind("HTTP/1.1 401", 0), 0u) << r.substr(0, 200);
}

TEST_F(AuthTest, BufferedBodiesAreBoundedAcrossTheServer) {
  JobServerOptions o = ServerOptions(MakeVerifier());
  o.max_buffered_body_bytes = 1 << 20;
  auto server = Start(std::move(o));
  const std::string token = Token();
  // One body larger than the whole bound: 503 at once, without waiting for it.
  std::string r = SendAndStall(server->port(), Head(2 << 20, token), 1024, milliseconds(10000));
  EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r.substr(0, 200);
  EXPECT_NE(r.find("Retry-After"), std::string::npos);
  // A valid caller whose 800 KiB body is held while its handler runs: a second one that
  // would pass the bound is told 503; once the first is done, it fits again.
  const std::string big = json{
      {"data", {{"pad", std::string(800 << 10, 'x')}}},
      {"idempotencyKey", *IdempotencyKey("hold", json{{"pad", std::string(800 << 10, 'x')}})},
      {"jobName", "hold"}}.dump();
  auto held = std::async(std::launch::async, [&] { return Post(*server, token, big, "hold").status; });
  ASSERT_TRUE(WaitFor([&] { return holding_ > 0; }));
  r = SendAndStall(server->port(), Head(800 << 10, token), 1024, milliseconds(10000));
  EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r.substr(0, 200);
  release_promise_.set_value();
  EXPECT_EQ(held.get(), 200);
  EXPECT_EQ(Post(*server, token, big, "hold").status, 200);
}

// ---- 5, 12. what a refusal says and logs ----

TEST_F(AuthTest, RefusalsAnswerAFixedTextAndLogBoundedSanitisedLines) {
  JobServerOptions o = ServerOptions(MakeVerifier());
  o.refused_log_per_second = 3;
  auto server = Start(std::move(o));
  const std::string nasty = std::string(4000, 'A') + "\n\x1b[31m\"}";
  const std::string token = Key().Sign(Claims(), {{"kid", nasty}, {"alg", "HS256" + nasty}});
  for (int i = 0; i < 30; ++i) {
    auto r = Post(*server, token);
    ASSERT_EQ(r.status, 401);
    EXPECT_EQ(json::parse(r.body, nullptr, false), (json{{"error", kRefused}})) << r.body;
  }
  // Rate-limited: 30 refusals within a few seconds log a handful of lines, and a later line
  // says how many were left out.
  EXPECT_TRUE(WaitFor([&] {
    Post(*server, token);
    return server_log_.With("\"suppressed\"") > 0;
  }));
  auto lines = server_log_.All();
  EXPECT_LT(lines.size(), 30u);
  for (const auto& line : lines) {
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    for (const auto& [k, v] : j.items()) {
      if (!v.is_string()) continue;
      std::string s = v.get<std::string>();
      EXPECT_LE(s.size(), 170u) << k;
      for (char c : s) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << k << ": " << s;
    }
    EXPECT_EQ(line.find(std::string(100, 'A')), std::string::npos);
  }
}

TEST_F(AuthTest, AnIssuerFailureIsLoggedNotAnswered) {
  issuer_.SetJwksStatus(500);
  auto server = Start(ServerOptions(MakeVerifier()));
  auto r = Post(*server, Token());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body, nullptr, false), (json{{"error", kRefused}})) << r.body;
  EXPECT_EQ(r.body.find("500"), std::string::npos);
  EXPECT_TRUE(WaitFor([&] { return verifier_log_.With("answered HTTP 500") > 0; }));
}

// ---- 11. strict JWTs ----

TEST_F(AuthTest, TimesMustBeIntegersInRange) {
  auto verifier = MakeVerifier();
  ASSERT_TRUE(verifier->Verify(Token()).ok());
  // Written by hand: json would print 1e300 as a float anyway, but keep the text exact.
  auto with_payload = [&](const std::string& payload) {
    std::string input = auth::Base64Url(R"({"alg":"RS256","kid":"k1"})") + "." + auth::Base64Url(payload);
    return input + "." + auth::Base64Url(Key().SignBytes(input));
  };
  const std::string base = R"("iss":")" + issuer_.url() + R"(","aud":")" + kAudience + R"(")";
  const std::string exp = R"("exp":)" + std::to_string(Now() + 3600);
  EXPECT_TRUE(verifier->Verify(with_payload("{" + base + "," + exp + "}")).ok());
  for (const char* bad :
       {R"("nbf":1e300)", R"("nbf":-1)", R"("iat":1.5)", R"("nbf":9007199254740992)", R"("iat":"0")"}) {
    EXPECT_EQ(CodeOf(verifier->Verify(with_payload("{" + base + "," + exp + "," + bad + "}"))), Code::kUnauthenticated)
        << bad;
  }
  EXPECT_FALSE(verifier->Verify(with_payload("{" + base + R"(,"exp":1e300})")).ok());
  EXPECT_FALSE(verifier->Verify(with_payload("{" + base + "," + exp + ".0}")).ok());
}

TEST_F(AuthTest, CritHeadersAreRefused) {
  auto verifier = MakeVerifier();
  EXPECT_TRUE(verifier->Verify(Token()).ok());
  auto r = verifier->Verify(Key().Sign(Claims(), {{"crit", {"exp"}}, {"exp", 1}}));
  EXPECT_EQ(CodeOf(r), Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("crit"), std::string::npos) << r.status().message();
}

TEST_F(AuthTest, OnlyUnpaddedBase64UrlIsAccepted) {
  auto verifier = MakeVerifier();
  const std::string token = Token();
  ASSERT_TRUE(verifier->Verify(token).ok());
  size_t dot1 = token.find('.');
  size_t dot2 = token.rfind('.');
  std::string header = token.substr(0, dot1), payload = token.substr(dot1 + 1, dot2 - dot1 - 1),
              sig = token.substr(dot2 + 1);
  auto pad = [](std::string s) {
    while (s.size() % 4) s += '=';
    return s;
  };
  auto standard = [](std::string s) {
    for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    return s;
  };
  // The signature of a 2048-bit key is 256 bytes: 342 characters, padded to 344.
  EXPECT_FALSE(verifier->Verify(header + "." + payload + "." + pad(sig)).ok());
  if (pad(header) != header) {
    EXPECT_FALSE(verifier->Verify(pad(header) + "." + payload + "." + sig).ok());
  }
  // Standard alphabet: find a signature that has '-' or '_' (mint until one does).
  for (int i = 0; i < 50; ++i) {
    std::string t = Token({{"jti", std::to_string(i)}});
    std::string s = t.substr(t.rfind('.') + 1);
    if (s.find_first_of("-_") == std::string::npos) continue;
    EXPECT_TRUE(verifier->Verify(t).ok());
    EXPECT_FALSE(verifier->Verify(t.substr(0, t.rfind('.') + 1) + standard(s)).ok());
    return;
  }
  ADD_FAILURE() << "no signature with - or _ in 50 tokens";
}

}  // namespace
}  // namespace stratus::sdk
