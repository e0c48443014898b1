#include "nimbus/services/apigateway/internal/access_log.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace nimbus::services::apigateway::internal {
namespace {

boost::json::object stage(std::string_view json) { return boost::json::parse(json).as_object(); }

TEST(AccessLog, TargetsCloudWatchLogGroupsOnly) {
  auto target = access_log_target(stage(
      R"({"accessLogSettings":{"destinationArn":"arn:aws:logs:us-east-1:000000000000:log-group:/api/access:*","format":"$context.requestId"}})"));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->group, "/api/access");
  EXPECT_EQ(target->format, "$context.requestId");
  EXPECT_TRUE(access_log_target(stage(
      R"({"accessLogSettings":{"destinationArn":"arn:aws:logs:us-east-1:000000000000:log-group:plain","format":"x"}})")));
  EXPECT_FALSE(access_log_target(stage(
      R"({"accessLogSettings":{"destinationArn":"arn:aws:firehose:us-east-1:000000000000:deliverystream/amazon-apigateway-x","format":"x"}})")));
  EXPECT_FALSE(access_log_target(stage(R"({"accessLogSettings":{"format":"x"}})")));
  EXPECT_FALSE(access_log_target(stage(R"({})")));
}

TEST(AccessLog, RendersContextVariables) {
  auto lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name == "requestId") return "r-1";
    if (name == "status") return "200";
    if (name == "identity.sourceIp") return "127.0.0.1";
    if (name == "empty") return "";
    return std::nullopt;
  };
  EXPECT_EQ(
      render_access_log(
          R"({"id":"$context.requestId","ip":"$context.identity.sourceIp","s":$context.status})",
          lookup),
      R"({"id":"r-1","ip":"127.0.0.1","s":200})");
  EXPECT_EQ(render_access_log("$context.requestId $context.unknown $context.empty.", lookup),
            "r-1 - -.");
  EXPECT_EQ(render_access_log("cost: $5 $context. $context", lookup),
            "cost: $5 $context. $context");
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
