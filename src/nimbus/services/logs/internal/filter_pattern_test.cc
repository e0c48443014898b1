#include "nimbus/services/logs/internal/filter_pattern.h"

#include <gtest/gtest.h>

namespace nimbus::services::logs {
namespace {

bool match(std::string_view pattern, std::string_view message) {
  auto parsed = FilterPattern::parse(pattern);
  EXPECT_TRUE(parsed) << pattern << ": " << parsed.error().message();
  return parsed && parsed->matches(message);
}

TEST(FilterPattern, EmptyMatchesEverything) {
  EXPECT_TRUE(match("", "anything"));
  EXPECT_TRUE(match("   ", "anything"));
  EXPECT_TRUE(FilterPattern::parse("")->matches_everything());
}

TEST(FilterPattern, TermsMustAllAppearCaseSensitively) {
  EXPECT_TRUE(match("ERROR", "[ERROR] disk full"));
  EXPECT_FALSE(match("ERROR", "[error] disk full"));
  EXPECT_TRUE(match("ERROR disk", "[ERROR] disk full"));
  EXPECT_FALSE(match("ERROR memory", "[ERROR] disk full"));
}

TEST(FilterPattern, QuotedPhrasesKeepTheirSpaces) {
  EXPECT_TRUE(match("\"disk full\"", "ERROR: disk full"));
  EXPECT_FALSE(match("\"disk full\"", "disk is full"));
  EXPECT_TRUE(match("\"say \\\"hi\\\"\"", "they say \"hi\" here"));
  EXPECT_FALSE(FilterPattern::parse("\"open"));
}

TEST(FilterPattern, AlternativesAndExclusions) {
  EXPECT_TRUE(match("?ERROR ?WARN", "WARN low disk"));
  EXPECT_TRUE(match("?ERROR ?WARN", "ERROR"));
  EXPECT_FALSE(match("?ERROR ?WARN", "INFO fine"));
  EXPECT_TRUE(match("ERROR -retrying", "ERROR giving up"));
  EXPECT_FALSE(match("ERROR -retrying", "ERROR retrying in 5s"));
  EXPECT_FALSE(FilterPattern::parse("ERROR -"));
}

TEST(FilterPattern, JsonComparisons) {
  const std::string event =
      R"({"level":"error","status":503,"user":{"id":"u-17","tags":["a","b"]},"ok":false,"gone":null})";
  EXPECT_TRUE(match(R"({ $.level = "error" })", event));
  EXPECT_TRUE(match(R"({$.level="err*"})", event));
  EXPECT_FALSE(match(R"({ $.level = "warn" })", event));
  EXPECT_TRUE(match(R"({ $.level != "warn" })", event));
  EXPECT_TRUE(match(R"({ $.status = 503 })", event));
  EXPECT_TRUE(match(R"({ $.status >= 500 && $.status < 600 })", event));
  EXPECT_FALSE(match(R"({ $.status > 503 })", event));
  EXPECT_TRUE(match(R"({ $.user.id = "u-17" })", event));
  EXPECT_TRUE(match(R"({ $.user.tags[1] = "b" })", event));
  EXPECT_FALSE(match(R"({ $.user.tags[5] = "b" })", event));
  EXPECT_TRUE(match(R"({ $.ok IS FALSE })", event));
  EXPECT_TRUE(match(R"({ $.gone IS NULL })", event));
  EXPECT_TRUE(match(R"({ $.missing NOT EXISTS })", event));
  EXPECT_FALSE(match(R"({ $.level NOT EXISTS })", event));
  EXPECT_TRUE(match(R"({ ($.level = "warn" || $.status = 503) && $.user.id = "u-*" })", event));
  EXPECT_FALSE(match(R"({ $.level = "error" && ($.status = 200 || $.ok IS TRUE) })", event));
  // A comparison on a missing field is false, either way round.
  EXPECT_FALSE(match(R"({ $.missing != "x" })", event));
  // Messages that are not JSON objects never match a JSON pattern.
  EXPECT_FALSE(match(R"({ $.level = "error" })", "level=error"));
}

TEST(FilterPattern, MalformedPatternsAreInvalidParameters) {
  for (std::string_view bad :
       {"{ $.a = }", "{ $.a = 1", "{ a = 1 }", "{ $.a > \"x\" }", "{ $.a IS MAYBE }",
        "{ $.a = 1 } trailing", "{ ($.a = 1 }", "{ $.a[x] = 1 }", "[ip, user]"}) {
    auto parsed = FilterPattern::parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code(), "InvalidParameterException") << bad;
  }
}

}  // namespace
}  // namespace nimbus::services::logs
