#include "nimbus/aws/arn.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

TEST(ArnTest, RoundTrips) {
  const auto arn = Arn::parse("arn:aws:lambda:us-east-1:000000000000:function:hello:prod");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->service, "lambda");
  EXPECT_EQ(arn->region, "us-east-1");
  EXPECT_EQ(arn->account_id, "000000000000");
  EXPECT_EQ(arn->resource, "function:hello:prod");
  EXPECT_EQ(arn->to_string(), "arn:aws:lambda:us-east-1:000000000000:function:hello:prod");
}

TEST(ArnTest, GlobalServicesHaveNoRegion) {
  Arn arn{"aws", "iam", "", "123456789012", "user/alice"};
  EXPECT_EQ(arn.to_string(), "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(Arn::parse(arn.to_string()).value(), arn);
}

TEST(ArnTest, RejectsMalformed) {
  for (const auto* text :
       {"", "arn", "arn:aws", "nra:aws:s3:::bucket", "arn:aws:s3:::", "arn::s3:::b"}) {
    EXPECT_FALSE(Arn::parse(text)) << text;
  }
}

}  // namespace
}  // namespace nimbus::aws
