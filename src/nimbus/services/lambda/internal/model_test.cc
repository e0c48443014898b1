#include "nimbus/services/lambda/internal/model.h"

#include <gtest/gtest.h>

namespace nimbus::services::lambda::internal {
namespace {

const Scope kScope{"us-east-1", "123456789012"};

TEST(ModelTest, ParsesEveryFormOfAFunctionName) {
  struct Case {
    std::string text, name, qualifier;
  };
  for (const auto& c :
       {Case{"my-function", "my-function", ""}, Case{"my-function:v1", "my-function", "v1"},
        Case{"my-function:$LATEST", "my-function", "$LATEST"},
        Case{"arn:aws:lambda:us-east-1:123456789012:function:my-function", "my-function", ""},
        Case{"arn:aws:lambda:us-east-1:123456789012:function:my-function:7", "my-function", "7"},
        Case{"123456789012:function:my-function", "my-function", ""}}) {
    auto ref = parse_function_name(c.text, kScope);
    ASSERT_TRUE(ref) << c.text << ": " << ref.error().message();
    EXPECT_EQ(ref->name, c.name) << c.text;
    EXPECT_EQ(ref->qualifier, c.qualifier) << c.text;
  }
}

TEST(ModelTest, RefusesMalformedNamesWithLambdasValidationMessage) {
  auto ref = parse_function_name("bad name!", kScope);
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().code(), "ValidationException");
  EXPECT_TRUE(ref.error().message().starts_with(
      "1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy "
      "constraint: Member must satisfy regular expression pattern: "))
      << ref.error().message();
  EXPECT_FALSE(parse_function_name(std::string(65, 'a'), kScope));
  EXPECT_FALSE(parse_function_name("a:b:c", kScope));
  EXPECT_FALSE(parse_function_name("f:bad.qualifier", kScope));
  EXPECT_FALSE(parse_function_name("", kScope));
  auto other_region =
      parse_function_name("arn:aws:lambda:eu-west-1:123456789012:function:f", kScope);
  ASSERT_FALSE(other_region);
  EXPECT_EQ(other_region.error().code(), "ResourceNotFoundException");
  auto other_account =
      parse_function_name("arn:aws:lambda:us-east-1:999999999999:function:f", kScope);
  ASSERT_FALSE(other_account);
}

TEST(ModelTest, QualifiersFromNameAndQueryMustAgree) {
  EXPECT_EQ(merge_qualifier({"f", ""}, "3")->qualifier, "3");
  EXPECT_EQ(merge_qualifier({"f", "3"}, "3")->qualifier, "3");
  auto conflict = merge_qualifier({"f", "3"}, "4");
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code(), "InvalidParameterValueException");
}

TEST(ModelTest, AliasNamesAreNotVersionNumbers) {
  EXPECT_TRUE(is_alias_name("live"));
  EXPECT_TRUE(is_alias_name("v1_blue-2"));
  EXPECT_FALSE(is_alias_name("12"));
  EXPECT_FALSE(is_alias_name("a.b"));
  EXPECT_TRUE(is_version_number("12"));
  EXPECT_FALSE(is_version_number("$LATEST"));
}

TEST(ModelTest, RecordsRoundTripThroughJson) {
  FunctionRecord record;
  record.name = "f";
  record.latest = {{"FunctionName", "f"}, {"Version", "$LATEST"}, {"CodeSha256", "YWJj"}};
  record.versions[2] = {{"FunctionName", "f"}, {"Version", "2"}, {"CodeSha256", "ZGVm"}};
  record.aliases["live"] = {{"Name", "live"}, {"FunctionVersion", "2"}};
  record.tags = {{"team", "a"}};
  record.reserved_concurrency = 5;
  record.provisioned_concurrency["live"] = 2;
  record.last_version = 2;
  record.published_revision = "r";
  auto back = FunctionRecord::from_json(record.to_json());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->to_json(), record.to_json());
  EXPECT_EQ(back->resolve_version("live"), "2");
  EXPECT_EQ(back->resolve_version("9"), std::nullopt);
  EXPECT_EQ(code_hex(record.latest), "616263");
}

TEST(ModelTest, TimestampsUseLambdasFormat) {
  const auto time =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  EXPECT_EQ(lambda_timestamp(time), "2023-11-14T22:13:20.123+0000");
}

}  // namespace
}  // namespace nimbus::services::lambda::internal
