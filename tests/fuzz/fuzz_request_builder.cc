// The outbound request builder: a stored task and its queue's httpTarget, as hostile as
// bytes can make them, through BuildDelivery and what HttpClient::Send does before writing
// (PrepareRequest), and the target policy's create-time check.
//
// Input: fields separated by 0x1f: url, uriOverride host, uriOverride path, uriOverride port,
// method digit, then header name/value pairs. An empty field leaves that part out.
//
// Invariants: nothing crashes or throws; a request the builder accepts serializes to bytes that
// Beast parses back as exactly one complete request (no byte left over) with the same method,
// target and header count, and whose target and header values carry no CR or LF.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "common/asio.h"
#include "http/client.h"
#include "http/target_policy.h"
#include "tasks/engine/delivery.h"

namespace {

namespace bh = stratus::beast::http;
namespace http = stratus::http;

[[noreturn]] void Fail(const std::string& what, const std::string& wire = "") {
  std::fprintf(stderr, "fuzz_request_builder: %s\n", what.c_str());
  if (!wire.empty()) std::fprintf(stderr, "  wire: %s\n", wire.substr(0, 2000).c_str());
  std::abort();
}

std::vector<std::string> Split(const uint8_t* data, size_t size) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0x1f) {
      parts.emplace_back();
    } else {
      parts.back() += static_cast<char>(data[i]);
    }
  }
  return parts;
}

void CheckWire(const http::Request& req) {
  std::ostringstream os;
  os << req;
  const std::string wire = os.str();
  bh::request_parser<bh::string_body> parser;
  parser.eager(true);
  parser.header_limit(1 << 20);
  parser.body_limit(1 << 24);
  boost::system::error_code ec;
  size_t used = parser.put(stratus::asio::buffer(wire), ec);
  if (ec || !parser.is_done()) Fail("an accepted request does not parse back: " + ec.message(), wire);
  if (used != wire.size()) Fail("an accepted request is followed by more bytes (a second request)", wire);
  const auto& back = parser.get();
  if (back.method() != req.method()) Fail("the method changed on the wire", wire);
  if (back.target() != req.target()) Fail("the target changed on the wire", wire);
  size_t sent = 0, parsed = 0;
  for (const auto& f : req) {
    (void)f;
    ++sent;
  }
  for (const auto& f : back) {
    (void)f;
    ++parsed;
  }
  if (sent != parsed) Fail("the header count changed on the wire", wire);
  if (back.body() != req.body()) Fail("the body changed on the wire", wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 17) return 0;
  std::vector<std::string> parts = Split(data, size);
  parts.resize(std::max<size_t>(parts.size(), 5));

  stratus::Queue queue;
  queue.name = "projects/p/locations/l/queues/q";
  stratus::UriOverride override;
  override.host = parts[1];
  if (!parts[2].empty()) override.path_override = stratus::UriOverride::PathOverride{parts[2]};
  if (!parts[3].empty()) {
    int64_t port = 0;
    std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), port);
    override.port = port;
  }
  stratus::HttpTarget target;
  if (!parts[1].empty() || !parts[2].empty() || !parts[3].empty()) target.uri_override = override;
  stratus::Task task;
  task.name = queue.name + "/tasks/t";
  stratus::HttpRequest r;
  r.url = parts[0];
  r.http_method = static_cast<stratus::HttpMethod>(parts[4].empty() ? 1 : (parts[4][0] % 8));
  for (size_t i = 5; i + 1 < parts.size(); i += 2) r.headers[parts[i]] = parts[i + 1];
  r.body = "body";
  task.http_request = std::move(r);
  task.dispatch_count = 1;
  queue.http_target = target;

  static const auto* policy = [] {
    auto* p = new http::TargetPolicy();
    p->DenyPrivate();
    return p;
  }();
  stratus::DeliveryOptions options;
  auto delivery = stratus::BuildDelivery(queue, task, /*signer=*/nullptr, options);
  (void)http::CheckTargetUrl(*policy, parts[0]);
  (void)http::CheckTargetHost(*policy, parts[1]);
  if (auto literal = http::LiteralAddress(parts[1])) (void)policy->Check(parts[1], *literal);

  if (!delivery.ok()) return 0;
  http::Request req = std::move(delivery->request);
  if (!http::PrepareRequest(delivery->url, &req).ok()) Fail("BuildDelivery accepted what Send refuses");
  for (char c : std::string_view(req.target().data(), req.target().size())) {
    if (c == '\r' || c == '\n') Fail("CR or LF in an accepted target");
  }
  for (const auto& f : req) {
    for (char c : std::string_view(f.value().data(), f.value().size())) {
      if (c == '\r' || c == '\n') Fail("CR or LF in an accepted header value");
    }
  }
  CheckWire(req);
  return 0;
}
