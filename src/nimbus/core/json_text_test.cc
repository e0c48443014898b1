#include "nimbus/core/json_text.h"

#include <string>

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace nimbus {
namespace {

// Whatever the bytes, the text is what Boost.JSON would write for them.
TEST(JsonText, StringsAreEscapedAsBoostJsonEscapesThem) {
  using namespace std::string_literals;
  const std::string inputs[] = {"",
                                "plain words",
                                "quote \" and backslash \\",
                                "nul \0 and controls \x01\x1f\t\n\r\b\f"s,
                                "del \x7f and utf-8 \xc3\xa9",
                                "invalid utf-8 \xff\xfe",
                                std::string(1000, 'x') + "\"" + std::string(1000, 'y')};
  for (const auto& input : inputs) {
    std::string out = "prefix:";
    append_json_string(out, input);
    EXPECT_EQ(out, "prefix:" + boost::json::serialize(boost::json::string_view(input))) << input;
  }
}

TEST(JsonText, NumbersAreJsonNumbers) {
  std::string out;
  append_json_number(out, -42);
  out += ',';
  append_json_number(out, 18446744073709551615ull);
  out += ',';
  append_json_number(out, 0.1);
  out += ',';
  append_json_number(out, 1.5e300);
  EXPECT_EQ(out, "-42,18446744073709551615,0.1,1.5e+300");
}

}  // namespace
}  // namespace nimbus
