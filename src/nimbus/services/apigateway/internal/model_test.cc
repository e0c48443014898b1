#include "nimbus/services/apigateway/internal/model.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway::internal {
namespace {

std::vector<CompiledRoute> routes(std::initializer_list<std::string_view> keys) {
  std::vector<CompiledRoute> out;
  for (const auto key : keys) {
    CompiledRoute route;
    route.route_key = std::string(key);
    route.key = *parse_route_key(key);
    out.push_back(std::move(route));
  }
  return out;
}

std::string matched(const std::vector<CompiledRoute>& table, std::string_view method,
                    std::string_view path) {
  const auto match = match_route(table, method, path);
  return match ? match->route->route_key : "(none)";
}

TEST(RouteKeyTest, ParsesWhatApiGatewayAccepts) {
  EXPECT_TRUE(parse_route_key("$default")->is_default);
  const auto key = parse_route_key("GET /items/{id}/{rest+}");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->method, "GET");
  ASSERT_EQ(key->segments.size(), 3u);
  EXPECT_EQ(key->segments[1].kind, RouteKey::Segment::Kind::kVariable);
  EXPECT_EQ(key->segments[2].kind, RouteKey::Segment::Kind::kGreedy);
  EXPECT_EQ(key->segments[2].text, "rest");
  EXPECT_TRUE(parse_route_key("ANY /"));
}

TEST(RouteKeyTest, RefusesMalformedKeys) {
  EXPECT_FALSE(parse_route_key("FETCH /x"));
  EXPECT_FALSE(parse_route_key("GET x"));
  EXPECT_FALSE(parse_route_key("GET"));
  EXPECT_FALSE(parse_route_key("GET /{proxy+}/more"));
  EXPECT_FALSE(parse_route_key("GET /a{b}"));
  EXPECT_FALSE(parse_route_key("GET /a//b"));
  EXPECT_EQ(parse_route_key("GET x").error().code(), "BadRequestException");
}

TEST(RouteMatchTest, FollowsApiGatewaysPrecedence) {
  const auto table = routes({"$default", "ANY /{proxy+}", "GET /pets/{id}", "GET /pets/dog",
                             "ANY /pets/{id}", "GET /pets/{id}/{rest+}", "POST /pets"});
  EXPECT_EQ(matched(table, "GET", "/pets/dog"), "GET /pets/dog");      // exact
  EXPECT_EQ(matched(table, "GET", "/pets/cat"), "GET /pets/{id}");     // named method first
  EXPECT_EQ(matched(table, "DELETE", "/pets/cat"), "ANY /pets/{id}");  // then ANY
  EXPECT_EQ(matched(table, "GET", "/pets/cat/a/b"), "GET /pets/{id}/{rest+}");  // longest greedy
  EXPECT_EQ(matched(table, "PUT", "/toys/1"), "ANY /{proxy+}");                 // greedy
  EXPECT_EQ(matched(table, "GET", "/"), "$default");  // greedy needs a segment
  EXPECT_EQ(matched(routes({"GET /pets"}), "GET", "/toys"), "(none)");
}

TEST(RouteMatchTest, ExtractsDecodedPathParameters) {
  const auto table = routes({"GET /files/{owner}/{path+}"});
  const auto match = match_route(table, "GET", "/files/ann%20b/docs/a.txt");
  ASSERT_TRUE(match);
  ASSERT_EQ(match->path_parameters.size(), 2u);
  EXPECT_EQ(match->path_parameters[0].second, "ann b");
  EXPECT_EQ(match->path_parameters[1].first, "path");
  EXPECT_EQ(match->path_parameters[1].second, "docs/a.txt");
}

TEST(HttpApiTest, StagesServeTheirDeploymentsSnapshot) {
  HttpApi api;
  api.id = "abc";
  api.api = {{"apiId", "abc"}};
  api.routes["r1"] = {{"routeId", "r1"}, {"routeKey", "GET /a"}, {"target", "integrations/i1"}};
  api.integrations["i1"] = {{"integrationId", "i1"}};
  api.deployments["d1"] = {{"deploymentId", "d1"}, {"autoDeployed", false}};
  api.snapshots["d1"] = api.snapshot();
  api.routes["r2"] = {{"routeId", "r2"}, {"routeKey", "GET /b"}};  // not deployed
  api.stages["prod"] = {{"stageName", "prod"}, {"deploymentId", "d1"}};
  api.compile();
  const auto& view = *api.views.at("prod");
  ASSERT_EQ(view.routes.size(), 1u);
  EXPECT_EQ(view.routes[0].route_key, "GET /a");
  EXPECT_EQ(view.routes[0].integration_id, "i1");

  const auto round_trip = HttpApi::decode(api.encode());
  ASSERT_TRUE(round_trip);
  EXPECT_EQ(round_trip->id, "abc");
  EXPECT_EQ(round_trip->views.at("prod")->routes.size(), 1u);
}

TEST(HttpApiTest, PrunesOnlyUnservedAutomaticSnapshots) {
  HttpApi api;
  api.deployments["auto"] = {{"autoDeployed", true}};
  api.deployments["manual"] = {{"autoDeployed", false}};
  api.snapshots["auto"] = api.snapshot();
  api.snapshots["manual"] = api.snapshot();
  api.prune_snapshots();
  EXPECT_FALSE(api.snapshots.contains("auto"));
  EXPECT_TRUE(api.snapshots.contains("manual"));
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
