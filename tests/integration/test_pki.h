// Certificates for the TLS tests, made with the openssl CLI at test time: a CA and two server
// certificates for 127.0.0.1/localhost (CN <prefix>-1 and -2), and a TLS client that reports
// which certificate a port presents.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/asio.h"

namespace stratus::testing {

class TestPki {
 public:
  explicit TestPki(const std::string& cn_prefix) {
    char tmpl[] = "/tmp/stratus-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string script = "set -e; cd '" + dir_ +
                         "'; "
                         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
                         "-out ca.pem -days 2 -subj '/CN=" +
                         cn_prefix +
                         " CA'; "
                         "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf; "
                         "for i in 1 2; do "
                         "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server$i.key "
                         "-out server$i.csr -subj /CN=" +
                         cn_prefix +
                         "-$i; "
                         "openssl x509 -req -in server$i.csr -CA ca.pem -CAkey ca.key -set_serial 100$i -days 2 "
                         "-extfile ext.cnf -out server$i.pem; done";
    ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  ~TestPki() { std::filesystem::remove_all(dir_); }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // Copies server<i>.pem/.key to live.pem/live.key, the files a server is started with.
  void Install(int i) const {
    namespace fs = std::filesystem;
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

// Connects with TLS, verifying against `ca` (offering h2 by ALPN when `h2`, as gRPC clients
// do); the subject CN the server presented, or "" when the handshake failed.
inline std::string ServedCommonName(uint16_t port, const std::string& ca, bool h2 = false) {
  namespace ssl = asio::ssl;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  if (h2) {
    static const unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_set_alpn_protos(s.native_handle(), kAlpn, sizeof kAlpn);
  }
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
  s.shutdown(ec);
  return cn;
}

}  // namespace stratus::testing
