#include "nimbus/core/strings.h"

#include <gtest/gtest.h>

namespace nimbus {
namespace {

TEST(StringsTest, CaseInsensitiveCompare) {
  EXPECT_TRUE(iequals("X-Amz-Target", "x-amz-target"));
  EXPECT_FALSE(iequals("X-Amz-Target", "x-amz-targe"));
  EXPECT_TRUE(starts_with_icase("AWS4-HMAC-SHA256 Credential", "aws4-hmac-sha256"));
}

TEST(StringsTest, TrimAndSplit) {
  EXPECT_EQ(trim("  a b \t"), "a b");
  EXPECT_EQ(trim(""), "");
  const auto parts = split("a&b&&c", '&');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(parts[3], "c");
}

TEST(StringsTest, HexEncode) {
  EXPECT_EQ(hex_encode(std::string_view("\x01\xab\xff", 3)), "01abff");
}

TEST(StringsTest, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", PlusAsSpace::kYes), "a b");
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%G1"), std::nullopt);
  EXPECT_EQ(percent_decode("%41"), "A");
}

TEST(StringsTest, ParseUint) {
  EXPECT_EQ(parse_uint("4566"), 4566u);
  EXPECT_EQ(parse_uint(""), std::nullopt);
  EXPECT_EQ(parse_uint("12a"), std::nullopt);
  EXPECT_EQ(parse_uint("-1"), std::nullopt);
  EXPECT_EQ(parse_uint("99999999999999999999999"), std::nullopt);
}

TEST(StringsTest, ForEachPartGivesTheSamePartsAsSplit) {
  for (const std::string_view text : {"", ";", "a", "a;b", ";a;;b;", "no separator here"}) {
    std::vector<std::string_view> parts;
    for_each_part(text, ';', [&](std::string_view part) { parts.push_back(part); });
    EXPECT_EQ(parts, split(text, ';')) << text;
  }
}

}  // namespace
}  // namespace nimbus
