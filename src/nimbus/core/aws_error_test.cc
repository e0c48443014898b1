#include "nimbus/core/aws_error.h"

#include <gtest/gtest.h>

#include "nimbus/core/result.h"

namespace nimbus {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return AwsError::validation("value must be positive");
  return value;
}

TEST(AwsErrorTest, NamedConstructorsCarryAwsShapeNamesAndStatus) {
  EXPECT_EQ(AwsError::unrecognized_client().code(), "UnrecognizedClientException");
  EXPECT_EQ(AwsError::unrecognized_client().http_status(), 403);
  EXPECT_EQ(AwsError::missing_authentication_token().message(), "Missing Authentication Token");
  EXPECT_EQ(AwsError::internal("x").fault(), Fault::kServer);
  EXPECT_EQ(AwsError::validation("x").fault(), Fault::kClient);
  EXPECT_EQ(AwsError::request_entity_too_large(10).http_status(), 413);
  EXPECT_EQ(AwsError::unknown_operation("Foo").message(),
            "The requested operation Foo is not recognized.");
}

TEST(AwsErrorTest, ResultCarriesValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), "ValidationException");
  EXPECT_THROW((void)bad.value(), std::logic_error);
}

TEST(AwsErrorTest, ExtraFieldsAreKeptInOrder) {
  AwsError error("TooManyRequestsException", "Rate exceeded", 429);
  error.with_field("Reason", "ConcurrentInvocationLimitExceeded").with_field("Type", "User");
  ASSERT_EQ(error.fields().size(), 2u);
  EXPECT_EQ(error.fields()[0].first, "Reason");
  EXPECT_EQ(error.fields()[1].second, "User");
}

}  // namespace
}  // namespace nimbus
