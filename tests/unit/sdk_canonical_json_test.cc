// RFC 8785 canonical JSON: the RFC's published number, string and ordering examples, and
// the values it cannot represent.
#include <gtest/gtest.h>

#include <cstring>

#include "stratus/sdk/canonical_json.h"

namespace stratus::sdk {
namespace {

using json = nlohmann::json;

double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string Canonical(const json& value) {
  auto text = CanonicalJson(value);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

std::string Canonical(const char* text) {
  return Canonical(json::parse(text));
}

// RFC 8785 Appendix B: IEEE-754 bit patterns and the text JCS writes for them.
TEST(CanonicalJson, NumbersOfAppendixB) {
  const std::pair<uint64_t, const char*> kCases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, text] : kCases) {
    auto got = CanonicalNumber(FromBits(bits));
    ASSERT_TRUE(got.ok()) << std::hex << bits;
    EXPECT_EQ(*got, text) << std::hex << bits;
    EXPECT_EQ(Canonical(json(FromBits(bits))), text) << std::hex << bits;
  }
  // NaN and Infinity (Appendix B lists them as errors).
  for (uint64_t bits : {0x7fffffffffffffffULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL}) {
    EXPECT_EQ(CanonicalNumber(FromBits(bits)).status().code(), Code::kInvalidArgument) << std::hex << bits;
    EXPECT_EQ(CanonicalJson(json{{"n", FromBits(bits)}}).status().code(), Code::kInvalidArgument);
  }
}

TEST(CanonicalJson, OneNumberOneText) {
  EXPECT_EQ(Canonical("[1, 1.0, 1e0, 1E0, 10e-1]"), "[1,1,1,1,1]");
  EXPECT_EQ(Canonical("[10, 1e1, 10.0, 100e-1]"), "[10,10,10,10]");
  EXPECT_EQ(Canonical("[0.0, -0.0, 0, -0]"), "[0,0,0,0]");
  EXPECT_EQ(Canonical("[1e21, 1e20, 1e-6, 1e-7, 123e-20, -5]"),
            "[1e+21,100000000000000000000,0.000001,1e-7,1.23e-18,-5]");
  EXPECT_EQ(IdempotencyKey("j", json::parse(R"({"n":1})")).value(),
            IdempotencyKey("j", json::parse(R"({"n":1.0})")).value());
  EXPECT_EQ(IdempotencyKey("j", json::parse(R"({"n":10})")).value(),
            IdempotencyKey("j", json::parse(R"({"n":1e1})")).value());
  EXPECT_EQ(IdempotencyKey("j", json::parse(R"({"n":0.0})")).value(),
            IdempotencyKey("j", json::parse(R"({"n":-0.0})")).value());
}

// RFC 8785 section 3.2.2's example, input and output.
TEST(CanonicalJson, TheRfcSample) {
  const char* input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  EXPECT_EQ(Canonical(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785 section 3.2.3: members sorted by UTF-16 code units, so U+1F600 (D83D DE00) comes
// before U+FB33, unlike UTF-8 byte order.
TEST(CanonicalJson, MembersSortByUtf16CodeUnits) {
  const char* input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  json sorted = json::parse(Canonical(input));
  std::vector<std::string> values;
  // Read the order back from the text itself (nlohmann would re-sort an object).
  std::string text = Canonical(input);
  for (const char* v : {"Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
                        "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"}) {
    values.push_back(v);
  }
  size_t at = 0;
  for (const auto& v : values) {
    size_t found = text.find(v, at);
    ASSERT_NE(found, std::string::npos) << v << " out of order in " << text;
    at = found;
  }
  EXPECT_EQ(sorted.size(), 7u);
}

TEST(CanonicalJson, StringEscapes) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  EXPECT_EQ(Canonical(json(all_controls)),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
            "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
            "\\u001e\\u001f\"");
  EXPECT_EQ(Canonical(json("a/b\x7f\"\\")), "\"a/b\x7f\\\"\\\\\"");
}

TEST(CanonicalJson, InvalidUtf8IsRefusedNotReplaced) {
  for (const char* bad : {"\xff", "\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82"}) {
    auto value = CanonicalJson(json{{"s", std::string(bad)}});
    EXPECT_EQ(value.status().code(), Code::kInvalidArgument) << bad;
    auto name = CanonicalJson(json{{std::string(bad), 1}});
    EXPECT_EQ(name.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(IdempotencyKey("j", json{{"s", std::string(bad)}}).status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(Canonical(json("\xf0\x9f\x98\x80")), "\"\xf0\x9f\x98\x80\"");
}

TEST(CanonicalJson, IntegersADoubleCannotHoldAreRefused) {
  EXPECT_EQ(Canonical(json(int64_t{9007199254740992})), "9007199254740992");
  EXPECT_EQ(Canonical(json(uint64_t{1} << 60)), "1152921504606847000");  // exact, printed as a double
  EXPECT_EQ(CanonicalJson(json(int64_t{9007199254740993})).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CanonicalJson(json(uint64_t{18446744073709551615ULL})).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CanonicalJson(json(int64_t{-9223372036854775807 - 1})).value(), "-9223372036854776000");
  EXPECT_EQ(CanonicalJson(json(int64_t{9223372036854775807})).status().code(), Code::kInvalidArgument);
}

TEST(CanonicalJson, NullAndNaNNoLongerShareAKey) {
  EXPECT_EQ(Canonical(json{{"n", nullptr}}), "{\"n\":null}");
  EXPECT_FALSE(IdempotencyKey("j", json{{"n", std::nan("")}}).ok());
}

}  // namespace
}  // namespace stratus::sdk
