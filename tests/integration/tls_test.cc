// HTTPS on both listeners (--tls-cert/--tls-key): a test CA and two server certificates made
// with the openssl CLI at test time; requests verified against that CA; plain HTTP on the TLS
// port refused cleanly; SIGHUP swaps the certificate for new connections and a bad file on
// reload keeps the old one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "integration/raw_http.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"
#include "integration/test_pki.h"
#include "sdk/http_sync.h"

namespace stratus {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::StratusProcess;

constexpr auto kWait = seconds(20);

using testing::PortOf;
using testing::ServedCommonName;

// Plain bytes to a port; everything until the server closes.
std::string PlainExchange(uint16_t port, const std::string& bytes) {
  return testing::RawExchange(port, bytes, seconds(10));
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << "openssl could not make the test certificates";
    pki_.Install(1);
    ASSERT_TRUE(proc_.Start(
        {"--tls-cert", pki_.Path("live.pem"), "--tls-key", pki_.Path("live.key"), "--redis-token", "t0ken"}))
        << proc_.output();
  }

  testing::TestPki pki_{"stratus-test"};
  StratusProcess proc_;
};

TEST_F(TlsTest, BothListenersServeHttpsAndSayHttpsInTheBanner) {
  ASSERT_EQ(proc_.tasks_url().rfind("https://127.0.0.1:", 0), 0u) << proc_.output();
  ASSERT_EQ(proc_.redis_url().rfind("https://127.0.0.1:", 0), 0u) << proc_.output();
  auto http = sdk::internal::SyncHttp::Create(pki_.Path("ca.pem"));
  ASSERT_TRUE(http.ok());
  auto health = http::Url::Parse(proc_.tasks_url() + "/healthz");
  ASSERT_TRUE(health.ok());
  auto res = (*http)->Fetch(*health, sdk::internal::MakeRequest(http::Verb::get, ""), seconds(10));
  EXPECT_EQ(res.failure, http::ClientResult::Failure::kNone);
  EXPECT_EQ(res.status, 200) << res.body;

  auto queues = http::Url::Parse(proc_.tasks_url() + "/v2/projects/p/locations/us-central1/queues");
  ASSERT_TRUE(queues.ok());
  res = (*http)->Fetch(
      *queues,
      sdk::internal::MakeRequest(http::Verb::post, R"({"name":"projects/p/locations/us-central1/queues/tls"})"),
      seconds(10));
  EXPECT_EQ(res.status, 200) << res.body;

  auto redis = http::Url::Parse(proc_.redis_url() + "/");
  ASSERT_TRUE(redis.ok());
  auto req = sdk::internal::MakeRequest(http::Verb::post, R"(["PING"])");
  req.set(beast::http::field::authorization, "Bearer t0ken");
  res = (*http)->Fetch(*redis, std::move(req), seconds(10));
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("PONG"), std::string::npos) << res.body;

  // The OIDC issuer defaults to the server's own (now https) URL.
  auto discovery = http::Url::Parse(proc_.tasks_url() + "/.well-known/openid-configuration");
  ASSERT_TRUE(discovery.ok());
  res = (*http)->Fetch(*discovery, sdk::internal::MakeRequest(http::Verb::get, ""), seconds(10));
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("\"issuer\":\"" + proc_.tasks_url() + "\""), std::string::npos) << res.body;

  // A client that does not trust the CA is refused.
  auto untrusting = sdk::internal::SyncHttp::Create("");
  ASSERT_TRUE(untrusting.ok());
  res = (*untrusting)->Fetch(*health, sdk::internal::MakeRequest(http::Verb::get, ""), seconds(10));
  EXPECT_NE(res.failure, http::ClientResult::Failure::kNone);
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortFailsCleanly) {
  for (const std::string& url : {proc_.tasks_url(), proc_.redis_url()}) {
    std::string got = PlainExchange(PortOf(url), "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
    EXPECT_NE(got.find("HTTPS"), std::string::npos) << got;
    // Garbage that is not TLS either; then TLS still works.
    PlainExchange(PortOf(url), std::string("\x16\x03\x01\x00\x05hello", 10));
    EXPECT_EQ(ServedCommonName(PortOf(url), pki_.Path("ca.pem")), "stratus-test-1");
  }
}

TEST_F(TlsTest, SighupReloadsTheCertificateAndABadFileKeepsTheOldOne) {
  const uint16_t port = PortOf(proc_.tasks_url());
  const uint16_t redis_port = PortOf(proc_.redis_url());
  const std::string ca = pki_.Path("ca.pem");
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-test-1");

  pki_.Install(2);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP, reloaded")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-test-2");
  EXPECT_EQ(ServedCommonName(redis_port, ca), "stratus-test-2");

  // A broken certificate file: the reload fails, says so, and the server keeps serving the last good one.
  {
    std::ofstream out(pki_.Path("live.pem"), std::ios::trunc);
    out << "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
  }
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP: ")) << proc_.output();
  EXPECT_NE(proc_.output().find("still serving the previous certificate"), std::string::npos) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-test-2");

  // A key that does not match the certificate is refused too.
  fs::copy_file(pki_.Path("server1.pem"), pki_.Path("live.pem"), fs::copy_options::overwrite_existing);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP: ")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-test-2");

  pki_.Install(1);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP, reloaded")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-test-1");
}

TEST(TlsFlagsTest, CertWithoutKeyIsAClearError) {
  StratusProcess proc;
  EXPECT_FALSE(proc.Start({"--tls-cert", "/nonexistent.pem"}));
  testing::TestPki pki("stratus-test");
  ASSERT_TRUE(pki.ok());
  StratusProcess missing;
  EXPECT_FALSE(missing.Start({"--tls-cert", "/nonexistent.pem", "--tls-key", pki.Path("server1.key")}));
}

}  // namespace
}  // namespace stratus
