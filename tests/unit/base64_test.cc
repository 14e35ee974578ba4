#include "common/base64.h"

#include <gtest/gtest.h>

namespace stratus {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, EncodesWithTheStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(Base64Encode(R"({"hello":"world"})"), "eyJoZWxsbyI6IndvcmxkIn0=");
}

TEST(Base64, DecodesPaddedAndUnpadded) {
  for (const char* text : {"Zm9vYg==", "Zm9vYg"}) EXPECT_EQ(*Base64Decode(text), "foob") << text;
  for (const char* text : {"Zm9vYmE=", "Zm9vYmE"}) EXPECT_EQ(*Base64Decode(text), "fooba") << text;
  EXPECT_EQ(*Base64Decode(""), "");
}

TEST(Base64, DecodesUrlSafeAndStandardAlphabets) {
  EXPECT_EQ(*Base64Decode("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(*Base64Decode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(*Base64Decode("-/+_"), "\xfb\xff\xbf");
}

TEST(Base64, RejectsInvalidText) {
  for (const char* bad : {"Z", "Zm9vY", "Zm 9v", "Zm9v\n", "Zg==Zg==", "Z=g=", "*abc", "\xc3\xa9"}) {
    auto d = Base64Decode(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(d.status().message(), "invalid base64 data");
  }
}

TEST(Base64, RoundTripsEveryByteAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::string data = all.substr(0, n);
    std::string text = Base64Encode(data);
    EXPECT_EQ(text.size() % 4, 0u);
    auto back = Base64Decode(text);
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, data) << n;
  }
}

}  // namespace
}  // namespace stratus
