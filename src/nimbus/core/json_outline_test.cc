#include "nimbus/core/json_outline.h"

#include <string>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nimbus {
namespace {

namespace json = boost::json;

TEST(JsonOutline, TellsTheTopLevelKindAndMember) {
  auto outline = outline_json(R"( {"a":{"statusCode":1},"statusCode":200} )", "statusCode");
  ASSERT_TRUE(outline);
  EXPECT_EQ(outline->kind, json::kind::object);
  EXPECT_TRUE(outline->has_member);

  // Only a top-level member counts, and only the whole key.
  EXPECT_FALSE(outline_json(R"({"a":{"statusCode":1}})", "statusCode")->has_member);
  EXPECT_FALSE(outline_json(R"({"statusCod":1,"statusCodes":2})", "statusCode")->has_member);
  EXPECT_FALSE(outline_json(R"([{"statusCode":1}])", "statusCode")->has_member);
  EXPECT_FALSE(outline_json(R"("statusCode")", "statusCode")->has_member);
  // An escaped key is compared as the key it spells.
  EXPECT_TRUE(outline_json(R"({"status\u0043ode":1})", "statusCode")->has_member);
  EXPECT_TRUE(outline_json(R"({"x":[1,{"y":2}],"statusCode":null})", "statusCode")->has_member);

  EXPECT_EQ(outline_json(R"(["a"])")->kind, json::kind::array);
  EXPECT_EQ(outline_json(R"("a")")->kind, json::kind::string);
  EXPECT_EQ(outline_json("-3")->kind, json::kind::int64);
  EXPECT_EQ(outline_json("18446744073709551615")->kind, json::kind::uint64);
  EXPECT_EQ(outline_json("2.5")->kind, json::kind::double_);
  EXPECT_EQ(outline_json("true")->kind, json::kind::bool_);
  EXPECT_EQ(outline_json(" null\n")->kind, json::kind::null);
}

// The outline and json::parse must agree on what is JSON: Lambda checks a
// payload with the one and the gateway maps answers with both.
TEST(JsonOutline, RefusesExactlyWhatJsonParseRefuses) {
  std::string deep_enough(32, '[');
  deep_enough += std::string(32, ']');
  std::string too_deep(33, '[');
  too_deep += std::string(33, ']');
  const std::string inputs[] = {"",
                                " ",
                                "{}",
                                "{} ",
                                "{} x",
                                "{}{}",
                                "[1,]",
                                R"({"a":1,})",
                                "// c\n{}",
                                "\"\xff\"",
                                "\"\xc3\xa9\"",
                                "01",
                                "1e999",
                                "tru",
                                R"({"a":"\ud800"})",
                                deep_enough,
                                too_deep};
  for (const auto& input : inputs) {
    boost::system::error_code parse_error;
    json::parse(input, parse_error);
    boost::system::error_code outline_error;
    const auto outline = outline_json(input, "", outline_error);
    EXPECT_EQ(outline.has_value(), !parse_error) << input;
    EXPECT_EQ(outline_error, parse_error) << input;
  }
}

}  // namespace
}  // namespace nimbus
