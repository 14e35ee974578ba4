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

namespace stratus {
namespace {

namespace fs = std::filesystem;
namespace pb = ::google::cloud::tasks::v2;
using testing::StratusProcess;

// A CA and two server certificates for 127.0.0.1/localhost, CN stratus-grpc-1 and -2.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/stratus-grpc-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string script = "set -e; cd '" + dir_ +
                         "'; "
                         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
                         "-out ca.pem -days 2 -subj '/CN=stratus grpc test CA'; "
                         "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf; "
                         "for i in 1 2; do "
                         "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server$i.key "
                         "-out server$i.csr -subj /CN=stratus-grpc-$i; "
                         "openssl x509 -req -in server$i.csr -CA ca.pem -CAkey ca.key -set_serial 200$i -days 2 "
                         "-extfile ext.cnf -out server$i.pem; done";
    ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  ~Pki() { fs::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Install(int i) const {
    fs::copy_file(Path("server" + std::to_string(i) + ".pem"), Path("live.pem"), fs::copy_options::overwrite_existing);
    fs::copy_file(Path("server" + std::to_string(i) + ".key"), Path("live.key"), fs::copy_options::overwrite_existing);
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(Path(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

uint16_t PortOfTarget(const std::string& target) {
  return static_cast<uint16_t>(std::stoi(target.substr(target.rfind(':') + 1)));
}

// The subject CN the port presents in a TLS handshake offering h2 (as gRPC clients do), or ""
// when the handshake failed.
std::string ServedCommonName(uint16_t port, const std::string& ca) {
  namespace ssl = asio::ssl;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_set_alpn_protos(s.native_handle(), kAlpn, sizeof kAlpn);
  boost::system::error_code ec;
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return "";
  timeval tv{10, 0};
  setsockopt(s.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  s.handshake(ssl::stream_base::client, ec);
  if (ec) return "";
  X509* cert = SSL_get1_peer_certificate(s.native_handle());
  if (!cert) return "";
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
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

  Pki pki_;
  StratusProcess proc_;
};

TEST_F(GrpcTlsTest, TheGrpcPortSpeaksTlsWithTheServersCertificate) {
  EXPECT_NE(proc_.output().find("gRPC API on https://127.0.0.1:"), std::string::npos) << proc_.output();
  EXPECT_TRUE(ListOverTls(proc_.grpc_target(), pki_.Read("ca.pem")).ok());
  EXPECT_EQ(ServedCommonName(PortOfTarget(proc_.grpc_target()), pki_.Path("ca.pem")), "stratus-grpc-1");
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
  ASSERT_EQ(ServedCommonName(port, ca), "stratus-grpc-1");

  pki_.Install(2);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP, reloaded")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-grpc-2");
  EXPECT_TRUE(ListOverTls(proc_.grpc_target(), pki_.Read("ca.pem")).ok());

  // A broken certificate file: the reload fails and the gRPC port keeps the last good pair.
  {
    std::ofstream out(pki_.Path("live.pem"), std::ios::trunc);
    out << "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
  }
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP: ")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-grpc-2");
  EXPECT_TRUE(ListOverTls(proc_.grpc_target(), pki_.Read("ca.pem")).ok());

  pki_.Install(1);
  proc_.SendSignal(SIGHUP);
  ASSERT_TRUE(proc_.WaitForLine("stratus: SIGHUP, reloaded")) << proc_.output();
  EXPECT_EQ(ServedCommonName(port, ca), "stratus-grpc-1");
}

}  // namespace
}  // namespace stratus
