#include "http/target_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <future>
#include <thread>

#include "http/client.h"

namespace stratus::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The 128-bit form: IPv4 (and IPv4-mapped IPv6) as ::ffff:a.b.c.d.
std::array<uint8_t, 16> Bytes16(const asio::ip::address& a) {
  if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

bool IsHostNameEntry(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '*' || c == '_')) return false;
  }
  // Something that parses as an address is a range, not a name.
  return !LiteralAddress(s).has_value();
}

const char* SourceName(TargetPolicy::Source s) {
  switch (s) {
    case TargetPolicy::Source::kAllow:
      return "--allow-targets";
    case TargetPolicy::Source::kDeny:
      return "--deny-targets";
    case TargetPolicy::Source::kPrivate:
      return "--deny-private-targets";
    default:
      return "the built-in link-local and metadata denies";
  }
}

bool Allows(TargetPolicy::Source s) {
  return s == TargetPolicy::Source::kAllow;
}

// Does `a` beat `b` on a tie? An explicit deny beats an allow; an allow beats the built-in lists.
bool WinsTie(TargetPolicy::Source a, TargetPolicy::Source b) {
  if (Allows(a) == Allows(b)) return false;
  if (Allows(a)) return b != TargetPolicy::Source::kDeny;
  return a == TargetPolicy::Source::kDeny;
}

}  // namespace

std::optional<asio::ip::address> LiteralAddress(std::string_view host) {
  if (host.empty() || host.size() > 255) return std::nullopt;
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  // inet_aton takes every form a resolver does for IPv4 ("127.1", "0x7f.0.0.1", "2130706433").
  in_addr v4{};
  if (inet_aton(h.c_str(), &v4) == 1) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), &v4.s_addr, 4);
    return asio::ip::address(asio::ip::address_v4(b));
  }
  boost::system::error_code ec;
  std::string without_zone = h.substr(0, h.find('%'));
  auto v6 = asio::ip::make_address_v6(without_zone, ec);
  if (!ec) return asio::ip::address(v6);
  return std::nullopt;
}

TargetPolicy::TargetPolicy() {
  for (const char* r :
       {"169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32", "0.0.0.0/8", "::/128"}) {
    AddDefaultRange(r, Source::kDefault);
  }
  names_.push_back({"metadata.google.internal", Source::kDefault});
}

void TargetPolicy::AddDefaultRange(std::string_view text, Source source) {
  auto r = ParseRange(text);
  if (r.ok()) ranges_.push_back({std::move(*r), source});
}

void TargetPolicy::DenyPrivate() {
  for (const char* r :
       {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "127.0.0.0/8", "::1/128"}) {
    AddDefaultRange(r, Source::kPrivate);
  }
}

void TargetPolicy::DenyDefaultAddresses(const std::vector<asio::ip::address>& addresses) {
  for (const auto& a : addresses) {
    Range r;
    r.bytes = Bytes16(a);
    r.prefix = 128;
    r.text = a.to_string();
    ranges_.push_back({std::move(r), Source::kDefault});
  }
}

Status TargetPolicy::Allow(std::string_view list) {
  return Add(list, Source::kAllow);
}
Status TargetPolicy::Deny(std::string_view list) {
  return Add(list, Source::kDeny);
}

Status TargetPolicy::Add(std::string_view list, Source source) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    if (item.find('/') == std::string_view::npos && IsHostNameEntry(item)) {
      std::string name = Lower(item);
      if (name.rfind("*.", 0) == 0) name.erase(0, 1);
      if (name.find('*') != std::string::npos || name == ".") {
        return InvalidArgument(std::string(SourceName(source)) + ": bad host name '" + std::string(item) +
                               "' (a '*' may only start it, as in *.example.com)");
      }
      while (name.size() > 1 && name.back() == '.') name.pop_back();
      names_.push_back({std::move(name), source});
      continue;
    }
    auto r = ParseRange(item);
    if (!r.ok()) return InvalidArgument(std::string(SourceName(source)) + ": " + r.status().message());
    ranges_.push_back({std::move(*r), source});
  }
  return Status::Ok();
}

StatusOr<TargetPolicy::Range> TargetPolicy::ParseRange(std::string_view text) {
  std::string_view addr = text;
  int prefix = -1;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v < 0 || v > 128) {
      return InvalidArgument("bad prefix length in '" + std::string(text) + "'");
    }
    prefix = v;
  }
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  boost::system::error_code ec;
  // Ranges take the strict forms only (no "127.1").
  auto a = asio::ip::make_address(std::string(addr), ec);
  if (ec) return InvalidArgument("'" + std::string(text) + "' is neither an address range nor a host name");
  Range r;
  r.text = std::string(text);
  if (prefix < 0) prefix = a.is_v4() ? 32 : 128;
  if (a.is_v4()) {
    if (prefix > 32) return InvalidArgument("bad prefix length in '" + std::string(text) + "'");
    prefix += 96;
  }
  r.bytes = Bytes16(a);
  r.prefix = prefix;
  // Clear host bits so "10.1.2.3/8" means 10.0.0.0/8.
  for (int bit = prefix; bit < 128; ++bit) r.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return r;
}

bool TargetPolicy::Contains(const Range& range, const asio::ip::address& address) {
  asio::ip::address a = address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  const auto b = Bytes16(a);
  int full = range.prefix / 8;
  if (std::memcmp(b.data(), range.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = range.prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (b[full] & mask) == (range.bytes[full] & mask);
}

const TargetPolicy::NameEntry* TargetPolicy::MatchName(std::string_view host_in) const {
  std::string host = Lower(host_in);
  while (host.size() > 1 && host.back() == '.') host.pop_back();
  const NameEntry* best = nullptr;
  size_t best_rank = 0;
  for (const auto& e : names_) {
    size_t rank = 0;
    if (e.name.front() == '.') {
      if (host.size() > e.name.size() && host.compare(host.size() - e.name.size(), e.name.size(), e.name) == 0) {
        rank = e.name.size();
      }
    } else if (host == e.name) {
      rank = 1000;  // an exact name beats any suffix
    }
    if (rank == 0) continue;
    if (!best || rank > best_rank || (rank == best_rank && WinsTie(e.source, best->source))) {
      best = &e;
      best_rank = rank;
    }
  }
  return best;
}

Status TargetPolicy::CheckHost(std::string_view host) const {
  const NameEntry* n = MatchName(host);
  if (n && !Allows(n->source)) {
    return Status(Code::kPermissionDenied,
                  "target host " + std::string(host) + " is denied by " + SourceName(n->source) + " (" + n->name + ")");
  }
  return Status::Ok();
}

// The IPv4 address a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address reaches, if it is one:
// a denied IPv4 range must not be reachable through its IPv6 translation.
std::optional<asio::ip::address> EmbeddedV4(const asio::ip::address& a) {
  if (!a.is_v6()) return std::nullopt;
  const auto b = a.to_v6().to_bytes();
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  asio::ip::address_v4::bytes_type v4{};
  if (std::memcmp(b.data(), kNat64, sizeof kNat64) == 0) {
    std::memcpy(v4.data(), b.data() + 12, 4);
  } else if (b[0] == 0x20 && b[1] == 0x02) {
    std::memcpy(v4.data(), b.data() + 2, 4);
  } else {
    return std::nullopt;
  }
  return asio::ip::address(asio::ip::address_v4(v4));
}

Status TargetPolicy::Check(std::string_view host, const asio::ip::address& address) const {
  if (const NameEntry* n = MatchName(host)) {
    if (Allows(n->source)) return Status::Ok();
    return CheckHost(host);
  }
  if (auto v4 = EmbeddedV4(address)) {
    Status inner = Check(v4->to_string(), *v4);
    if (!inner.ok()) {
      return Status(inner.code(), "target " + std::string(host) + " (" + address.to_string() + ") reaches " +
                                      v4->to_string() + ": " + inner.message());
    }
  }
  const RangeEntry* best = nullptr;
  for (const auto& e : ranges_) {
    if (!Contains(e.range, address)) continue;
    if (!best || e.range.prefix > best->range.prefix ||
        (e.range.prefix == best->range.prefix && WinsTie(e.source, best->source))) {
      best = &e;
    }
  }
  if (!best || Allows(best->source)) return Status::Ok();
  std::string addr = address.to_string();
  std::string who = addr == host ? addr : std::string(host) + " (" + addr + ")";
  return Status(Code::kPermissionDenied,
                "target " + who + " is in " + best->range.text + ", denied by " + SourceName(best->source));
}

std::vector<asio::ip::address> ResolveBounded(const std::string& host, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<std::vector<asio::ip::address>>>();
  auto future = promise->get_future();
  std::thread([host, promise] {
    std::vector<asio::ip::address> out;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0) {
      for (addrinfo* a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
          asio::ip::address_v4::bytes_type b;
          std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
          out.emplace_back(asio::ip::address_v4(b));
        } else if (a->ai_family == AF_INET6) {
          asio::ip::address_v6::bytes_type b;
          std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
          out.emplace_back(asio::ip::address_v6(b));
        }
      }
      ::freeaddrinfo(res);
    }
    promise->set_value(std::move(out));
  }).detach();
  if (future.wait_for(timeout) != std::future_status::ready) return {};
  return future.get();
}

Status CheckTargetHost(const TargetPolicy& policy, std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  Status st = policy.CheckHost(host);
  if (st.ok()) {
    if (auto literal = LiteralAddress(host)) st = policy.Check(host, *literal);
  }
  if (st.ok()) return st;
  return InvalidArgument(st.message() + ".");
}

Status CheckTargetUrl(const TargetPolicy& policy, std::string_view url) {
  auto parsed = Url::Parse(url);
  if (!parsed.ok()) return Status::Ok();
  return CheckTargetHost(policy, parsed->host);
}

}  // namespace stratus::http
