#include "nimbus/aws/rest_protocol.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

RestRoutes lambda_like_routes() {
  RestRoutes routes;
  routes.add("GET", "/2015-03-31/functions/", "ListFunctions");
  routes.add("POST", "/2015-03-31/functions", "CreateFunction");
  routes.add("GET", "/2015-03-31/functions/{FunctionName}", "GetFunction");
  routes.add("POST", "/2015-03-31/functions/{FunctionName}/invocations", "Invoke");
  routes.add("GET", "/2015-03-31/functions/{FunctionName}/configuration",
             "GetFunctionConfiguration");
  routes.add("PUT", "/{Bucket}/{Key+}", "PutObject");
  routes.add("PUT", "/{Bucket}?x-id=CreateBucket", "CreateBucket");
  return routes;
}

TEST(RestRoutesTest, MatchesLiteralsAndLabels) {
  const auto routes = lambda_like_routes();
  auto match = routes.match("POST", "/2015-03-31/functions/my%3Afn/invocations");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->operation, "Invoke");
  EXPECT_EQ(match->label("FunctionName"), "my:fn");

  match = routes.match("GET", "/2015-03-31/functions/f/configuration");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->operation, "GetFunctionConfiguration");
}

TEST(RestRoutesTest, TrailingSlashIsIgnored) {
  const auto routes = lambda_like_routes();
  EXPECT_EQ(routes.match("GET", "/2015-03-31/functions/")->operation, "ListFunctions");
  EXPECT_EQ(routes.match("GET", "/2015-03-31/functions")->operation, "ListFunctions");
  EXPECT_EQ(routes.match("POST", "/2015-03-31/functions/")->operation, "CreateFunction");
}

TEST(RestRoutesTest, GreedyLabelTakesTheRest) {
  const auto routes = lambda_like_routes();
  const auto match = routes.match("PUT", "/bucket/a/b%20c/d.txt");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->operation, "PutObject");
  EXPECT_EQ(match->label("Bucket"), "bucket");
  EXPECT_EQ(match->label("Key"), "a/b c/d.txt");
  EXPECT_EQ(routes.match("PUT", "/bucket")->operation, "CreateBucket");
}

TEST(RestRoutesTest, NoMatch) {
  const auto routes = lambda_like_routes();
  EXPECT_FALSE(routes.match("DELETE", "/2015-03-31/functions/f"));
  EXPECT_FALSE(routes.match("GET", "/2015-03-31/functions/f/unknown"));
  EXPECT_FALSE(routes.match("POST", "/2015-03-31/functions/%ZZ/invocations"));
}

}  // namespace
}  // namespace nimbus::aws
