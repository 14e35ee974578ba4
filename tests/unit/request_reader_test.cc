// The server's request reader on raw bytes: what Beast parses, plus the checks it lacks.
#include "http/request_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace stratus::http {
namespace {

constexpr size_t kHeaderLimit = 128 * 1024;
constexpr size_t kBodyLimit = 1024 * 1024;

struct Outcome {
  RequestReader::State state;
  int status = 0;
  std::string message;
  size_t used = 0;
};

// Feeds `bytes` in pieces of `step` bytes, as a connection would see them arrive.
Outcome Read(const std::string& bytes, size_t step = 0) {
  RequestReader reader(kHeaderLimit, kBodyLimit);
  std::string pending;
  size_t used = 0;
  size_t fed = 0;
  while (fed < bytes.size() && !reader.done() && !reader.failed()) {
    size_t n = step == 0 ? bytes.size() : std::min(step, bytes.size() - fed);
    pending.append(bytes, fed, n);
    fed += n;
    size_t u = reader.Put(asio::const_buffer(pending.data(), pending.size()));
    pending.erase(0, u);
    used += u;
  }
  return {reader.state(), reader.error_status(), reader.error_message(), used};
}

TEST(RequestReaderTest, ReadsAPlainRequestAndLeavesThePipelinedNextOne) {
  std::string first = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  Outcome o = Read(first + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(o.state, RequestReader::State::kDone);
  EXPECT_EQ(o.used, first.size());
}

TEST(RequestReaderTest, ReadsAChunkedBodyArrivingByteByByte) {
  RequestReader reader(kHeaderLimit, kBodyLimit);
  std::string bytes = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
  Outcome o = Read(bytes, 1);
  EXPECT_EQ(o.state, RequestReader::State::kDone) << o.message;
}

TEST(RequestReaderTest, AHeaderFieldTooLargeForBeastIs431NotAnException) {
  // 65,534 bytes is where Beast's 16-bit lengths end; the header limit is far above.
  for (size_t len : {size_t{65534}, size_t{70000}, size_t{120000}}) {
    Outcome value = Read("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(len, 'a') + "\r\n\r\n");
    EXPECT_EQ(value.state, RequestReader::State::kError) << len;
    EXPECT_EQ(value.status, 431) << len;
    Outcome name = Read("GET / HTTP/1.1\r\nHost: x\r\n" + std::string(len, 'n') + ": v\r\n\r\n");
    EXPECT_EQ(name.status, 431) << len;
  }
  EXPECT_EQ(Read("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(65000, 'a') + "\r\n\r\n").state,
            RequestReader::State::kDone);
}

TEST(RequestReaderTest, HeadersPastTheLimitAre431) {
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; many.size() < kHeaderLimit + 1000; ++i) many += "X-F" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Read(many + "\r\n").status, 431);
  EXPECT_EQ(Read("GET /" + std::string(kHeaderLimit, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n", 4096).status, 431);
}

TEST(RequestReaderTest, TransferEncodingOtherThanAFinalChunkedIs400) {
  for (const char* te :
       {"chunked, identity", "xchunked", "identity", "gzip, chunked", "chunked, chunked", "", "chunked;ext=1"}) {
    Outcome o = Read(std::string("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + te +
                     "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(o.state, RequestReader::State::kError) << te;
    EXPECT_EQ(o.status, 400) << te;
    EXPECT_NE(o.message.find("Transfer-Encoding"), std::string::npos) << o.message;
  }
  Outcome both = Read("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(both.status, 400);
  Outcome old = Read("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(old.status, 400);
  Outcome two = Read("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(two.status, 400);
}

TEST(RequestReaderTest, Http11NeedsExactlyOneHost) {
  EXPECT_EQ(Read("GET / HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(Read("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
  EXPECT_EQ(Read("GET / HTTP/1.0\r\n\r\n").state, RequestReader::State::kDone);
}

TEST(RequestReaderTest, WantsContinueAfterTheHeaderOnlyWhileTheBodyIsMissing) {
  RequestReader reader(kHeaderLimit, kBodyLimit);
  std::string head = "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(reader.Put(asio::const_buffer(head.data(), head.size())), head.size());
  EXPECT_EQ(reader.state(), RequestReader::State::kBody);
  EXPECT_TRUE(reader.WantsContinue());
  std::string body = "{}";
  EXPECT_EQ(reader.Put(asio::const_buffer(body.data(), body.size())), 2u);
  EXPECT_TRUE(reader.done());
  EXPECT_FALSE(reader.WantsContinue());

  // A body over the limit is refused from the header: no 100 first.
  RequestReader big(kHeaderLimit, kBodyLimit);
  std::string big_head =
      "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(kBodyLimit + 1) +
      "\r\n\r\n";
  big.Put(asio::const_buffer(big_head.data(), big_head.size()));
  EXPECT_TRUE(big.failed());
  EXPECT_EQ(big.error_status(), 413);
  EXPECT_FALSE(big.WantsContinue());
}

TEST(RequestReaderTest, EofMidRequestIsAPartialMessage) {
  RequestReader reader(kHeaderLimit, kBodyLimit);
  std::string head = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}";
  reader.Put(asio::const_buffer(head.data(), head.size()));
  EXPECT_TRUE(reader.started());
  reader.PutEof();
  EXPECT_TRUE(reader.failed());
  EXPECT_EQ(reader.error_status(), 400);
}

}  // namespace
}  // namespace stratus::http
