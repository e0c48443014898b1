#include "nimbus/services/apigateway/internal/validation.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::services::apigateway::internal {
namespace {

Result<boost::json::object> check(std::string_view shape, std::string_view body) {
  return validate_body(shape, boost::json::parse(body).as_object());
}

TEST(ValidationTest, KeepsModelledMembersAndDropsOthers) {
  const auto body = check("CreateApiRequest", R"({"name":"a","protocolType":"HTTP","bogus":1})");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("name"), "a");
  EXPECT_FALSE(body->contains("bogus"));
}

TEST(ValidationTest, RefusesWhatTheModelForbids) {
  EXPECT_EQ(check("CreateApiRequest", R"({"protocolType":"HTTP"})").error().message(),
            "Invalid input: name is required");
  EXPECT_FALSE(check("CreateApiRequest", R"({"name":"a","protocolType":"GRPC"})"));
  EXPECT_FALSE(check("CreateApiRequest", R"({"name":5,"protocolType":"HTTP"})"));
  EXPECT_FALSE(check("CreateIntegrationRequest",
                     R"({"integrationType":"AWS_PROXY","timeoutInMillis":40000})"));
  // Nested structures are checked too.
  const auto cors =
      check("CreateApiRequest",
            R"({"name":"a","protocolType":"HTTP","corsConfiguration":{"maxAge":"x"}})");
  ASSERT_FALSE(cors);
  EXPECT_EQ(cors.error().code(), "BadRequestException");
  EXPECT_NE(cors.error().message().find("corsConfiguration.maxAge"), std::string::npos);
  EXPECT_FALSE(
      check("CreateStageRequest",
            R"({"stageName":"s","routeSettings":{"GET /a":{"throttlingBurstLimit":"x"}}})"));
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
