#include "http/target_policy.h"

#include <gtest/gtest.h>

#include "http/client.h"

namespace stratus::http {
namespace {

asio::ip::address A(const char* s) {
  return asio::ip::make_address(s);
}

bool Denied(const TargetPolicy& p, const char* addr, const char* host = "example.com") {
  return !p.Check(host, A(addr)).ok();
}

TEST(TargetPolicyTest, RangeMatchingV4) {
  auto r = TargetPolicy::ParseRange("10.0.0.0/8");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*r, A("10.0.0.1")));
  EXPECT_TRUE(TargetPolicy::Contains(*r, A("10.255.255.255")));
  EXPECT_FALSE(TargetPolicy::Contains(*r, A("11.0.0.0")));
  EXPECT_FALSE(TargetPolicy::Contains(*r, A("9.255.255.255")));
  // Odd prefix lengths and host bits given in the entry.
  auto r12 = TargetPolicy::ParseRange("172.31.1.2/12");
  ASSERT_TRUE(r12.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*r12, A("172.16.0.0")));
  EXPECT_TRUE(TargetPolicy::Contains(*r12, A("172.31.255.255")));
  EXPECT_FALSE(TargetPolicy::Contains(*r12, A("172.32.0.0")));
  EXPECT_FALSE(TargetPolicy::Contains(*r12, A("172.15.255.255")));
  auto one = TargetPolicy::ParseRange("192.0.2.7");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*one, A("192.0.2.7")));
  EXPECT_FALSE(TargetPolicy::Contains(*one, A("192.0.2.8")));
  auto all = TargetPolicy::ParseRange("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*all, A("203.0.113.9")));
  EXPECT_FALSE(TargetPolicy::Contains(*all, A("2001:db8::1")));  // an IPv4 range holds no IPv6 address
}

TEST(TargetPolicyTest, RangeMatchingV6AndMapped) {
  auto r = TargetPolicy::ParseRange("fe80::/10");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*r, A("fe80::1")));
  EXPECT_TRUE(TargetPolicy::Contains(*r, A("febf:ffff::1")));
  EXPECT_FALSE(TargetPolicy::Contains(*r, A("fec0::1")));
  auto ula = TargetPolicy::ParseRange("[fc00::]/7");
  ASSERT_TRUE(ula.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*ula, A("fd12:3456::1")));
  EXPECT_FALSE(TargetPolicy::Contains(*ula, A("fe00::1")));
  // ::ffff:a.b.c.d is the IPv4 address, both ways round.
  auto v4 = TargetPolicy::ParseRange("169.254.0.0/16");
  ASSERT_TRUE(v4.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*v4, A("::ffff:169.254.169.254")));
  auto mapped = TargetPolicy::ParseRange("::ffff:10.0.0.0/104");
  ASSERT_TRUE(mapped.ok());
  EXPECT_TRUE(TargetPolicy::Contains(*mapped, A("10.1.2.3")));
  EXPECT_FALSE(TargetPolicy::Contains(*mapped, A("11.1.2.3")));
}

TEST(TargetPolicyTest, BadEntriesAreRefused) {
  TargetPolicy p;
  EXPECT_FALSE(p.Deny("10.0.0.0/33").ok());
  EXPECT_FALSE(p.Deny("::/129").ok());
  EXPECT_FALSE(p.Deny("10.0.0.0/").ok());
  EXPECT_FALSE(p.Deny("10.0.0.0/x").ok());
  EXPECT_FALSE(p.Deny("300.1.1.1/8").ok());
  EXPECT_FALSE(p.Allow("a*b.example.com").ok());
  EXPECT_FALSE(p.Allow("http://x/").ok());
  EXPECT_TRUE(p.Deny(" 10.0.0.0/8 , *.internal.example, ,host.example ").ok());
}

TEST(TargetPolicyTest, Defaults) {
  TargetPolicy p;
  EXPECT_TRUE(Denied(p, "169.254.169.254"));
  EXPECT_TRUE(Denied(p, "::ffff:169.254.169.254"));
  EXPECT_TRUE(Denied(p, "fe80::1"));
  EXPECT_TRUE(Denied(p, "fd00:ec2::254"));
  EXPECT_TRUE(Denied(p, "0.0.0.0"));
  EXPECT_TRUE(Denied(p, "::"));
  EXPECT_FALSE(Denied(p, "127.0.0.1"));  // local development
  EXPECT_FALSE(Denied(p, "::1"));
  EXPECT_FALSE(Denied(p, "10.1.2.3"));
  EXPECT_FALSE(Denied(p, "203.0.113.9"));
  EXPECT_FALSE(p.CheckHost("metadata.google.internal").ok());
  EXPECT_FALSE(p.CheckHost("METADATA.google.internal.").ok());
  EXPECT_TRUE(p.CheckHost("example.com").ok());
  p.DenyDefaultAddresses({A("192.0.2.1")});
  EXPECT_TRUE(Denied(p, "192.0.2.1"));
  Status st = p.Check("evil.example", A("169.254.169.254"));
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("evil.example (169.254.169.254)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("169.254.0.0/16"), std::string::npos) << st.message();
}

// NAT64 and 6to4 addresses reach the IPv4 address inside them: a denied IPv4 range stays
// denied through them.
TEST(TargetPolicyTest, TranslatedIpv6ReachesTheEmbeddedIpv4) {
  TargetPolicy p;
  EXPECT_TRUE(Denied(p, "64:ff9b::a9fe:a9fe"));   // 169.254.169.254 through NAT64
  EXPECT_TRUE(Denied(p, "2002:a9fe:a9fe::1"));    // ... through 6to4
  EXPECT_FALSE(Denied(p, "64:ff9b::cb00:7109"));  // 203.0.113.9
  EXPECT_FALSE(Denied(p, "2001:db8::1"));
  TargetPolicy priv;
  priv.DenyPrivate();
  EXPECT_TRUE(Denied(priv, "64:ff9b::a00:1"));  // 10.0.0.1
  EXPECT_TRUE(Denied(priv, "2002:7f00:1::"));   // 127.0.0.1
}

TEST(TargetPolicyTest, DenyPrivate) {
  TargetPolicy p;
  p.DenyPrivate();
  for (const char* a : {"10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "fd00::1", "127.0.0.1", "127.9.9.9",
                        "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"}) {
    EXPECT_TRUE(Denied(p, a)) << a;
  }
  for (const char* a : {"172.32.0.1", "192.169.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1"}) {
    EXPECT_FALSE(Denied(p, a)) << a;
  }
}

TEST(TargetPolicyTest, MoreSpecificEntryWins) {
  TargetPolicy p;
  p.DenyPrivate();
  ASSERT_TRUE(p.Allow("10.1.2.0/24,127.0.0.0/8").ok());
  ASSERT_TRUE(p.Deny("10.1.2.128/25").ok());
  EXPECT_TRUE(Denied(p, "10.1.1.1"));    // /8 private deny
  EXPECT_FALSE(Denied(p, "10.1.2.1"));   // /24 allow beats /8 deny
  EXPECT_TRUE(Denied(p, "10.1.2.200"));  // /25 deny beats /24 allow
  EXPECT_FALSE(Denied(p, "127.0.0.1"));  // an allow wins a tie with --deny-private-targets
  ASSERT_TRUE(p.Deny("127.0.0.0/8").ok());
  EXPECT_TRUE(Denied(p, "127.0.0.1"));  // an explicit deny wins a tie with an allow
  // Allow one name only: a host-name entry beats any range.
  TargetPolicy only;
  ASSERT_TRUE(only.Deny("0.0.0.0/0,::/0").ok());
  ASSERT_TRUE(only.Allow("api.example.com,.hooks.example.com").ok());
  EXPECT_TRUE(only.Check("api.example.com", A("203.0.113.9")).ok());
  EXPECT_TRUE(only.Check("a.hooks.example.com", A("203.0.113.9")).ok());
  EXPECT_FALSE(only.Check("hooks.example.com", A("203.0.113.9")).ok());
  EXPECT_FALSE(only.Check("other.example.com", A("203.0.113.9")).ok());
  EXPECT_FALSE(only.Check("other.example.com", A("2001:db8::1")).ok());
  // A deny by name beats a range allow; an exact allow beats a suffix deny.
  TargetPolicy names;
  ASSERT_TRUE(names.Deny("*.corp.example,secret.example").ok());
  ASSERT_TRUE(names.Allow("203.0.113.0/24,ok.corp.example").ok());
  EXPECT_FALSE(names.Check("secret.example", A("203.0.113.9")).ok());
  EXPECT_FALSE(names.Check("x.corp.example", A("203.0.113.9")).ok());
  EXPECT_TRUE(names.Check("ok.corp.example", A("203.0.113.9")).ok());
}

TEST(TargetPolicyTest, LiteralAddresses) {
  EXPECT_EQ(LiteralAddress("169.254.169.254"), A("169.254.169.254"));
  EXPECT_EQ(LiteralAddress("0251.0376.0251.0376"), A("169.254.169.254"));  // octal, as resolvers read it
  EXPECT_EQ(LiteralAddress("2852039166"), A("169.254.169.254"));
  EXPECT_EQ(LiteralAddress("[::1]"), A("::1"));
  EXPECT_EQ(LiteralAddress("fe80::1%eth0"), A("fe80::1"));
  EXPECT_FALSE(LiteralAddress("example.com").has_value());
  EXPECT_FALSE(LiteralAddress("").has_value());
}

TEST(TargetPolicyTest, CheckTargetUrlRefusesDeniedLiterals) {
  TargetPolicy p;
  EXPECT_EQ(CheckTargetUrl(p, "http://169.254.169.254/computeMetadata/v1/").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckTargetUrl(p, "http://[fe80::1]:8080/").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckTargetUrl(p, "http://[::ffff:169.254.169.254]/").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckTargetUrl(p, "http://0251.0376.0251.0376/").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckTargetUrl(p, "http://metadata.google.internal/").code(), Code::kInvalidArgument);
  EXPECT_TRUE(CheckTargetUrl(p, "http://127.0.0.1:8080/").ok());
  EXPECT_TRUE(CheckTargetUrl(p, "https://example.com/").ok());  // names are checked when they resolve
  EXPECT_EQ(CheckTargetHost(p, "169.254.1.1").code(), Code::kInvalidArgument);
  EXPECT_TRUE(CheckTargetHost(p, "example.com").ok());
}

// The request builder's last check: exactly one request or none.
TEST(CheckRequestTest, RefusesWhatWouldSplitTheRequest) {
  auto url = Url::Parse("http://127.0.0.1:9/a?b=c");
  ASSERT_TRUE(url.ok());
  Request ok{Verb::post, url->target, 11};
  ok.set("X-A", "value with\ttab and \xc3\xa9");
  EXPECT_TRUE(CheckRequest(*url, ok).ok());

  Request value = ok;
  value.set("X-A", "v\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1");
  EXPECT_EQ(CheckRequest(*url, value).code(), Code::kInvalidArgument);
  Request lf = ok;
  lf.set("X-A", "v\nX: y");
  EXPECT_FALSE(CheckRequest(*url, lf).ok());
  Request nul = ok;
  nul.set("X-A", std::string("v\0w", 3));
  EXPECT_FALSE(CheckRequest(*url, nul).ok());
  Request name = ok;
  name.set("X-A\r\nX-B", "v");
  EXPECT_FALSE(CheckRequest(*url, name).ok());
  Request spaced = ok;
  spaced.set("X A", "v");
  EXPECT_FALSE(CheckRequest(*url, spaced).ok());
  Request target = ok;
  target.target("/a HTTP/1.1\r\nHost: x\r\n\r\nGET /smuggled");
  EXPECT_FALSE(CheckRequest(*url, target).ok());
  Request space = ok;
  space.target("/a b");
  EXPECT_FALSE(CheckRequest(*url, space).ok());
  Url host = *url;
  host.host = "127.0.0.1\r\nX-Injected: 1";
  EXPECT_FALSE(CheckRequest(host, ok).ok());
  host.host = "evil/path";
  EXPECT_FALSE(CheckRequest(host, ok).ok());
}

}  // namespace
}  // namespace stratus::http
