// GlobEscape: outside text inside a Redis glob pattern matches itself only.
#include <gtest/gtest.h>

#include "stratus/sdk/cache.h"

namespace stratus::sdk {
namespace {

TEST(SdkGlobEscape, EscapesEveryGlobCharacter) {
  EXPECT_EQ(GlobEscape("alice"), "alice");
  EXPECT_EQ(GlobEscape("*"), "\\*");
  EXPECT_EQ(GlobEscape("a*b?c[d]e\\f"), "a\\*b\\?c\\[d\\]e\\\\f");
  EXPECT_EQ(GlobEscape(""), "");
  EXPECT_EQ(GlobEscape("^-!"), "^-!");  // special only inside [...], which is escaped
}

}  // namespace
}  // namespace stratus::sdk
