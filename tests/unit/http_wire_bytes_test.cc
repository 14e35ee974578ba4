// The server sends WireBytes(response) instead of writing through Beast's serializer: the
// bytes must be the serializer's, whatever the response holds.
#include <gtest/gtest.h>

#include <sstream>

#include "http/wire.h"

namespace stratus::http {
namespace {

namespace bh = beast::http;

std::string BeastBytes(const Response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

Response Prepared(Response res, bool keep_alive) {
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

TEST(WireBytesTest, MatchesBeastsSerializer) {
  Request req;
  req.version(11);
  std::vector<Response> cases;
  cases.push_back(Prepared(MakeResponse(req, bh::status::ok, R"({"result":"OK"})", "application/json"), true));
  cases.push_back(
      Prepared(MakeResponse(req, bh::status::bad_request, R"({"error":"ERR x"})", "application/json"), false));
  cases.push_back(Prepared(MakeResponse(req, bh::status::no_content, "", ""), true));
  Response custom = MakeResponse(req, bh::status::service_unavailable, "busy", "text/plain");
  custom.reason("Come Back Later");
  custom.set(bh::field::retry_after, "1");
  custom.set("upstash-sync-token", "1796187667713359");
  cases.push_back(Prepared(std::move(custom), true));
  Request old;
  old.version(10);
  cases.push_back(Prepared(MakeResponse(old, bh::status::ok, std::string(70000, 'x'), "text/plain"), false));
  Response odd = MakeResponse(req, static_cast<bh::status>(299), "", "");  // a code Beast has no reason for
  cases.push_back(Prepared(std::move(odd), true));
  for (const Response& res : cases) {
    EXPECT_EQ(WireBytes(res), BeastBytes(res));
  }
}

}  // namespace
}  // namespace stratus::http
