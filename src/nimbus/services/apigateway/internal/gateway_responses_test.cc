#include "nimbus/services/apigateway/internal/gateway_responses.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "nimbus/aws/lambda_proxy.h"

namespace nimbus::services::apigateway::internal {
namespace {

namespace json = boost::json;

std::optional<std::string> lookup(std::string_view name) {
  if (name == "$context.requestId") return "req-1";
  if (name == "method.request.header.Origin") return "https://example.com";
  return std::nullopt;
}

TEST(GatewayResponses, NothingCustomizedLeavesTheGeneratedResponse) {
  const auto generated = aws::gateway_message(403, "Missing Authentication Token");
  const auto out =
      customize_gateway_response({}, "MISSING_AUTHENTICATION_TOKEN", generated, lookup);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(out.body, generated.body);
}

TEST(GatewayResponses, ATypesOwnCustomizationSetsStatusHeadersAndBody) {
  std::map<std::string, json::object> customized;
  customized["MISSING_AUTHENTICATION_TOKEN"] = json::parse(R"({
    "statusCode": "404",
    "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                           "gatewayresponse.header.X-Origin": "method.request.header.Origin",
                           "gatewayresponse.header.X-Nothing": "method.request.header.Nope"},
    "responseTemplates": {"application/json":
      "{\"error\": $context.error.messageString, \"id\": \"${context.requestId}\", \"type\": \"$context.error.responseType\", \"raw\": \"$context.error.message\", \"unknown\": \"$context.nothing\"}"}
  })")
                                                   .as_object();
  const auto out =
      customize_gateway_response(customized, "MISSING_AUTHENTICATION_TOKEN",
                                 aws::gateway_message(403, "Missing Authentication Token"), lookup);
  EXPECT_EQ(out.status, 404);
  EXPECT_EQ(out.headers.get("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(out.headers.get("X-Origin"), "https://example.com");
  EXPECT_FALSE(out.headers.contains("X-Nothing"));
  EXPECT_EQ(out.headers.get("Content-Type"), "application/json");
  const auto body = json::parse(out.body).as_object();
  EXPECT_EQ(body.at("error"), "Missing Authentication Token");
  EXPECT_EQ(body.at("id"), "req-1");
  EXPECT_EQ(body.at("type"), "MISSING_AUTHENTICATION_TOKEN");
  EXPECT_EQ(body.at("raw"), "Missing Authentication Token");
  EXPECT_EQ(body.at("unknown"), "");
}

TEST(GatewayResponses, TheDefaultsStandInForTypesNotCustomizedByStatusClass) {
  std::map<std::string, json::object> customized;
  customized["DEFAULT_4XX"] =
      json::parse(
          R"({"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}})")
          .as_object();
  customized["DEFAULT_5XX"] = json::parse(R"({"statusCode": "503"})").as_object();
  auto throttled = customize_gateway_response(
      customized, "THROTTLED", aws::gateway_message(429, "Too Many Requests"), lookup);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.headers.get("Access-Control-Allow-Origin"), "*");
  // The default template: the message as a JSON string.
  EXPECT_EQ(throttled.body, R"({"message":"Too Many Requests"})");
  auto failed = customize_gateway_response(
      customized, "DEFAULT_5XX", aws::gateway_message(502, "Internal server error"), lookup);
  EXPECT_EQ(failed.status, 503);
  EXPECT_FALSE(failed.headers.contains("Access-Control-Allow-Origin"));
  // A type's own customization replaces the fallback's.
  customized["THROTTLED"] =
      json::parse(R"({"responseParameters": {"gatewayresponse.header.X-Slow": "'down'"}})")
          .as_object();
  throttled = customize_gateway_response(customized, "THROTTLED",
                                         aws::gateway_message(429, "Too Many Requests"), lookup);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.headers.get("X-Slow"), "down");
  EXPECT_FALSE(throttled.headers.contains("Access-Control-Allow-Origin"));
}

TEST(GatewayResponses, DefaultsAreApiGatewaysOwn) {
  EXPECT_EQ(gateway_response_types().size(), 21u);
  EXPECT_TRUE(is_gateway_response_type("QUOTA_EXCEEDED"));
  EXPECT_FALSE(is_gateway_response_type("default_4xx"));
  const auto missing = default_gateway_response("MISSING_AUTHENTICATION_TOKEN");
  EXPECT_EQ(missing.at("statusCode"), "403");
  EXPECT_EQ(missing.at("defaultResponse"), true);
  EXPECT_EQ(missing.at("responseTemplates").at("application/json"),
            R"({"message":$context.error.messageString})");
  EXPECT_FALSE(default_gateway_response("DEFAULT_4XX").contains("statusCode"));
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
