#include "http/message.h"
#include "http/wire.h"

namespace stratus::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && i + 2 <= s.size() - 1 + 0) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && s[i] == '+') ? ' ' : s[i];
  }
  return out;
}

std::vector<QueryParam> ParseQueryList(std::string_view query) {
  std::vector<QueryParam> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    QueryParam p;
    p.key = PercentDecode(pair.substr(0, eq), true);
    p.has_value = eq != std::string_view::npos;
    if (p.has_value) p.value = PercentDecode(pair.substr(eq + 1), true);
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  for (auto& p : ParseQueryList(query)) out[std::move(p.key)] = std::move(p.value);
  return out;
}

const std::string& RequestContext::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

std::string RequestContext::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

Response MakeResponse(const Request& req, beast::http::status status, std::string body, std::string_view content_type) {
  Response res{status, req.version()};
  res.set(beast::http::field::server, "stratus");
  if (!content_type.empty())
    res.set(beast::http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string WireBytes(const Response& res) {
  namespace bh = beast::http;
  std::string_view reason(res.reason().data(), res.reason().size());
  if (reason.empty()) {
    auto obsolete = bh::obsolete_reason(res.result());
    reason = std::string_view(obsolete.data(), obsolete.size());
  }
  const unsigned version = res.version();
  const unsigned code = res.result_int();
  size_t size = 13 + reason.size() + 4 + res.body().size();
  for (const auto& f : res) size += f.name_string().size() + f.value().size() + 4;
  std::string out;
  out.reserve(size);
  char line[] = "HTTP/1.1 200 ";  // "HTTP/X.Y ### ", as Beast writes it
  line[5] = static_cast<char>('0' + version / 10);
  line[7] = static_cast<char>('0' + version % 10);
  line[9] = static_cast<char>('0' + code / 100);
  line[10] = static_cast<char>('0' + (code / 10) % 10);
  line[11] = static_cast<char>('0' + code % 10);
  out.append(line, sizeof line - 1);
  out += reason;
  out += "\r\n";
  for (const auto& f : res) {
    out.append(f.name_string().data(), f.name_string().size());
    out += ": ";
    out.append(f.value().data(), f.value().size());
    out += "\r\n";
  }
  out += "\r\n";
  out += res.body();
  return out;
}

}  // namespace stratus::http
