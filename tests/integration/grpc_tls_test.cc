// TLS on the gRPC port (--tls-cert/--tls-key): a real grpc++ client verifying against a test
// CA (made with the openssl CLI at test time), and SIGHUP swapping the certificate for new
// gRPC connections as it does for REST, a bad file keeping the old one.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/asio.h"
#include "google/cloud/tasks/v2/cloudtasks.grpc.pb.h"
#include "integration/stratus_process.h"
#include "integration/test_pki.h"

namespace stratus {
namespace {

namespace fs = std::filesystem;
namespace pb = ::google::cloud::tasks::v2;
using testing::ServedCommonName;
using testing::StratusProcess;

uint16_t PortOfTarget(const std::string& target) {
  return static_cast<uint16_t>(std::stoi(target.substr(target.rfind(':') + 1)));
}

// A ListQueues over a new TLS channel trusting `ca_pem`: the status.
grpc::Status ListOverTls(const std::string& target, const std::string& ca_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // a channel of its own: a new connection
  auto stub = pb::CloudTasks::NewStub(grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  pb::ListQueuesRequest req;
  req.set_parent("projects/p/locations/us-central1");
  pb::ListQueuesResponse resp;
  return stub->ListQueues(&ctx, req, &resp);
}

class GrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << "openssl could not make the test certificates";
    pki_.Install(1);
    ASSERT_TRUE(proc_.Start(
        {"--tls-cert", pki_.Path("live.pem"), "--tls-key", pki_.Path("live.key"), "--grpc-listen", "127.0.0.1:0"}))
        << proc_.output();
    ASSERT_FALSE(proc_.grpc_target().empty()) << proc_.output();
  }

  testing::TestPki pki_{"stratus-grpc"};
  StratusProcess proc_;
};

TEST_F(GrpcTlsTest, TheGrpcPortSpeaksTlsWithTheServersCertificate) {
  EXPECT_NE(proc_.output().find("gRPC API on https://127.0.0.1:"), std::string::npos) << proc_.output();
  EXPECT_TRUE(ListOverTls(proc_.grpc_target(), pki_.Read("ca.pem")).ok());
  EXPECT_EQ(ServedCommonName(PortOfTarget(proc_.grpc_target()), pki_.Path("ca.pem"), true), "stratus-grpc-1");
  // Plaintext to the TLS port does not get through.
  auto plain = pb::CloudTasks::NewStub(grpc::CreateChannel(proc_.grpc_target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pb::ListQueuesRequest req;
  req.set_parent("projects/p/locations/us-central1");
  pb::ListQueuesResponse resp;
  EXPECT_FALSE(plain->ListQueues(&ctx, req, &resp).ok());
}

TEST_F(GrpcTlsTest, SighupReloadsTheCertificateForNewGrpcConnections) {
  const uint16_t port = PortOfTarget(proc_.grpc_target());
  const std::string ca = pki_.Path("ca.pem");
  ASSERT_EQ(ServedCommonName(port, ca, true), "stratus-grpc-1");

  pki_.Install(2);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP, reloaded")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca, true), "stratus-grpc-2");
  EXPECT_TRUE(ListOverTls(proc_.grpc_target(), pki_.Read("ca.pem")).ok());

  // A broken certificate file: the reload fails and the gRPC port keeps the last good pair.
  {
    std::ofstream out(pki_.Path("live.pem"), std::ios::trunc);
    out << "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
  }
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP: ")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca, true), "stratus-grpc-2");
  EXPECT_TRUE(ListOverTls(proc_.grpc_target(), pki_.Read("ca.pem")).ok());

  pki_.Install(1);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP, reloaded")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca, true), "stratus-grpc-1");
}

}  // namespace
}  // namespace stratus
