// Which addresses outbound task deliveries may reach (--allow-targets, --deny-targets,
// --deny-private-targets).
//
// Entries are address ranges ("10.0.0.0/8", "fe80::/10", "192.0.2.7" = /32) or host names
// ("api.example.com" exactly, ".example.com" or "*.example.com" for every name under it).
// Host-name entries match the URL's host as written; ranges match every address the host
// resolves to (an IPv4-mapped IPv6 address, ::ffff:a.b.c.d, is matched as a.b.c.d).
//
// The rule: the most specific matching entry decides. A host-name entry is more specific than
// any range (an exact name more than a suffix, a longer suffix more than a shorter one); among
// ranges, the longer prefix. On a tie an --deny-targets entry beats an --allow-targets one, and
// an --allow-targets entry beats the built-in lists (the defaults and --deny-private-targets).
// Nothing matching: allowed. So `--deny-private-targets
// --allow-targets 10.1.2.0/24` opens one subnet, and `--deny-targets 0.0.0.0/0,::/0
// --allow-targets api.example.com` allows one name only.
//
// Built-in defaults (always on): link-local and cloud metadata addresses (169.254.0.0/16,
// fe80::/10, fd00:ec2::254, 100.100.100.200, the name metadata.google.internal and whatever
// it resolves to at start), 0.0.0.0/8 and ::. Loopback is allowed unless
// --deny-private-targets (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, 127/8, ::1).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "stratus/status.h"

namespace stratus::http {

class TargetPolicy {
 public:
  enum class Source { kDefault, kAllow, kDeny, kPrivate };
  struct Range {
    std::array<uint8_t, 16> bytes{};  // IPv4 kept as its mapped IPv6 form (::ffff:a.b.c.d)
    int prefix = 0;                   // in bits of the 128-bit form
    std::string text;                 // as given, for messages
  };

  // The built-in defaults only.
  TargetPolicy();

  // Parses comma-separated entries; INVALID_ARGUMENT names the bad entry.
  Status Allow(std::string_view list);
  Status Deny(std::string_view list);
  void DenyPrivate();
  // Adds denies for the given addresses as built-in defaults (what metadata.google.internal resolves to).
  void DenyDefaultAddresses(const std::vector<asio::ip::address>& addresses);

  // OK, or PERMISSION_DENIED saying which entry refused `address` for `host`.
  Status Check(std::string_view host, const asio::ip::address& address) const;
  // OK unless a host-name entry denies `host` (before it is resolved).
  Status CheckHost(std::string_view host) const;

  // Parses "10.0.0.0/8", "::1", "192.0.2.7": a range, or INVALID_ARGUMENT.
  static StatusOr<Range> ParseRange(std::string_view text);
  static bool Contains(const Range& range, const asio::ip::address& address);

 private:
  struct RangeEntry {
    Range range;
    Source source;
  };
  struct NameEntry {
    std::string name;  // lower case; suffix entries start with '.'
    Source source;
  };
  Status Add(std::string_view list, Source source);
  void AddDefaultRange(std::string_view text, Source source);
  // The deciding host-name entry, or nullptr.
  const NameEntry* MatchName(std::string_view host) const;

  std::vector<RangeEntry> ranges_;
  std::vector<NameEntry> names_;
};

// The addresses `host` resolves to, waiting at most `timeout` (then none; the lookup is left
// to finish on its own thread). For the start-up lookup of metadata.google.internal.
std::vector<asio::ip::address> ResolveBounded(const std::string& host, std::chrono::milliseconds timeout);

// The address a URL host names literally ("192.0.2.7", "::1", also inet_aton forms such as
// "0251.0376.0251.0376" or "2130706433" that resolvers accept), or nothing for a host name.
std::optional<asio::ip::address> LiteralAddress(std::string_view host);

// For create time: INVALID_ARGUMENT when `url`'s host is a literal address or a host name that
// `policy` denies whatever it resolves to. Host names are checked again, per address, at
// delivery. A URL that does not parse is left to the caller's own validation (OK here).
Status CheckTargetUrl(const TargetPolicy& policy, std::string_view url);
// The same for a bare host (queue-level uriOverride.host).
Status CheckTargetHost(const TargetPolicy& policy, std::string_view host);

}  // namespace stratus::http
