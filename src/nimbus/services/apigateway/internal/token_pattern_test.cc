#include "nimbus/services/apigateway/internal/token_pattern.h"

#include <string>

#include <gtest/gtest.h>

namespace nimbus::services::apigateway::internal {
namespace {

TEST(TokenPattern, TheWholeTokenMustMatch) {
  auto pattern = TokenPattern::compile(R"(Bearer [-0-9a-zA-Z\.]+)");
  ASSERT_TRUE(pattern) << pattern.error().message();
  EXPECT_TRUE((*pattern)->matches("Bearer abc.DEF-123"));
  EXPECT_FALSE((*pattern)->matches("Bearer abc!"));
  EXPECT_FALSE((*pattern)->matches("xBearer abc"));  // a match inside is not enough
  EXPECT_FALSE((*pattern)->matches("Basic abc"));
  EXPECT_FALSE((*pattern)->matches(""));
}

TEST(TokenPattern, AnchorsAndPerlClassesAreUnderstood) {
  auto pattern = TokenPattern::compile(R"(^\d{3}-\w+$)");
  ASSERT_TRUE(pattern);
  EXPECT_TRUE((*pattern)->matches("123-token_1"));
  EXPECT_FALSE((*pattern)->matches("12-token"));
}

TEST(TokenPattern, AnExpressionThatIsNotARegularExpressionIsABadRequest) {
  for (const char* bad : {"(unclosed", "[z-a]", "*leading", "a{2,1}"}) {
    auto pattern = TokenPattern::compile(bad);
    ASSERT_FALSE(pattern) << bad;
    EXPECT_EQ(pattern.error().code(), "BadRequestException");
    EXPECT_EQ(pattern.error().http_status(), 400);
  }
}

// A pattern that backtracks exponentially on a long, almost matching
// token: refused as no match, neither a crash nor a hang.
TEST(TokenPattern, ACatastrophicPatternIsNoMatchNotACrash) {
  auto pattern = TokenPattern::compile("(a|aa)*b");
  ASSERT_TRUE(pattern);
  EXPECT_FALSE((*pattern)->matches(std::string(60'000, 'a')));
  EXPECT_TRUE((*pattern)->matches("aaab"));
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
