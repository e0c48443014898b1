#include "nimbus/aws/router.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "nimbus/aws/client.h"
#include "nimbus/aws/sigv4.h"

namespace nimbus::aws {
namespace {

using namespace std::chrono_literals;

// A service that answers with its own name and what the router told it.
class NamedService final : public Service {
 public:
  explicit NamedService(ServiceDescriptor descriptor) : descriptor_(std::move(descriptor)) {}
  const ServiceDescriptor& descriptor() const override { return descriptor_; }
  boost::asio::awaitable<net::HttpResponse> handle(const RequestContext& context,
                                                   net::HttpRequest&) override {
    auto response = net::HttpResponse::with_body(200, "text/plain", descriptor_.name);
    response.headers.add("X-Caller-Arn", context.caller.arn);
    response.headers.add("X-Region", context.region);
    co_return response;
  }

 private:
  ServiceDescriptor descriptor_;
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : clock_(parse_amz_date("20261126T120000Z").value()) {
    credentials_.add({"AKIAALICE", "alice-secret", "alice"});
  }

  Router& make_router(AuthMode mode) {
    RouterOptions options;
    options.auth = mode;
    options.account_id = "123456789012";
    options.max_body_bytes = 1000;
    router_ = std::make_unique<Router>(options, credentials_, clock_);
    EXPECT_TRUE(router_->add(dynamo_));
    EXPECT_TRUE(router_->add(sts_));
    EXPECT_TRUE(router_->add(lambda_));
    EXPECT_TRUE(router_->add(apigateway_v1_));
    EXPECT_TRUE(router_->add(apigateway_v2_));
    return *router_;
  }

  net::HttpResponse call(net::HttpRequest request) {
    boost::asio::io_context context;
    auto future = boost::asio::co_spawn(context, router_->handle(std::move(request)),
                                        boost::asio::use_future);
    context.run();
    return future.get();
  }

  static net::HttpRequest request(std::string method, std::string target) {
    net::HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers.add("Host", "127.0.0.1:4566");
    return r;
  }

  env::ManualClock clock_;
  CredentialStore credentials_;
  NamedService dynamo_{
      {"dynamodb", "dynamodb", Protocol::kJson10, {"DynamoDB_20120810"}, {}, 0, {}, {}}};
  NamedService sts_{{"sts", "sts", Protocol::kQuery, {}, {}, 100, {}, {}}};
  NamedService lambda_{{"lambda",
                        "lambda",
                        Protocol::kRestJson,
                        {},
                        {"/2015-03-31/functions"},
                        0,
                        {"lambda-url"},
                        {"/_lambda/url"}}};
  NamedService apigateway_v1_{
      {"apigateway", "apigateway", Protocol::kRestJson, {}, {"/restapis"}, 0, {}, {}}};
  NamedService apigateway_v2_{
      {"apigatewayv2", "apigateway", Protocol::kRestJson, {}, {"/v2/apis"}, 0, {}, {}}};
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, RoutesByTargetThenScopeThenPath) {
  make_router(AuthMode::kOff);
  auto by_target = request("POST", "/");
  by_target.headers.add("X-Amz-Target", "DynamoDB_20120810.PutItem");
  EXPECT_EQ(router_->route(by_target), &dynamo_);

  auto by_scope = request("POST", "/");
  sign_request(by_scope, "AKIAX", "s", "us-east-1", "sts", clock_.now());
  EXPECT_EQ(router_->route(by_scope), &sts_);

  EXPECT_EQ(router_->route(request("GET", "/2015-03-31/functions/")), &lambda_);
  EXPECT_EQ(router_->route(request("GET", "/2015-03-31/functionsX")), nullptr);
  EXPECT_EQ(router_->route(request("GET", "/nothing")), nullptr);
}

TEST_F(RouterTest, SharedSigningNameIsDisambiguatedByPath) {
  make_router(AuthMode::kOff);
  auto v2 = request("GET", "/v2/apis");
  sign_request(v2, "AKIAX", "s", "us-east-1", "apigateway", clock_.now());
  EXPECT_EQ(router_->route(v2), &apigateway_v2_);
  auto v1 = request("GET", "/restapis");
  sign_request(v1, "AKIAX", "s", "us-east-1", "apigateway", clock_.now());
  EXPECT_EQ(router_->route(v1), &apigateway_v1_);
}

TEST_F(RouterTest, UnknownTargetIsUnknownOperation) {
  make_router(AuthMode::kOff);
  auto garbage = request("POST", "/");
  garbage.headers.add("X-Amz-Target", "\x01garbage\xff");
  const auto response = call(garbage);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("\"__type\":\"UnknownOperationException\""), std::string::npos);
  EXPECT_TRUE(response.headers.contains("x-amzn-RequestId"));
}

TEST_F(RouterTest, BodyLimitIsTheServicesOrTheServers) {
  make_router(AuthMode::kOff);
  auto sts = request("POST", "/");
  sign_request(sts, "AKIAX", "s", "us-east-1", "sts", clock_.now());
  EXPECT_EQ(router_->body_limit(sts), 100u);
  EXPECT_EQ(router_->body_limit(request("POST", "/2015-03-31/functions")), 1000u);
  const auto refused = router_->reject(sts, net::RequestRejection::kBodyTooLarge, 100);
  EXPECT_EQ(refused.status, 413);
  EXPECT_NE(refused.body.find("<Code>RequestEntityTooLargeException</Code>"), std::string::npos);
}

TEST_F(RouterTest, AuthOffAcceptsAnyKeyAsRootAndKnownKeysAsTheirUser) {
  make_router(AuthMode::kOff);
  auto anyone = request("POST", "/");
  sign_request(anyone, "AKIAWHOEVER", "whatever", "eu-west-2", "sts", clock_.now() - 1h);
  auto response = call(anyone);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.get("X-Caller-Arn"), "arn:aws:iam::123456789012:root");
  EXPECT_EQ(response.headers.get("X-Region"), "eu-west-2");

  auto alice = request("POST", "/");
  sign_request(alice, "AKIAALICE", "wrong", "us-east-1", "sts", clock_.now());
  EXPECT_EQ(call(alice).headers.get("X-Caller-Arn"), "arn:aws:iam::123456789012:user/alice");
}

TEST_F(RouterTest, SigV4ModeVerifiesSignatures) {
  make_router(AuthMode::kSigV4);
  auto good = request("POST", "/");
  good.body = "Action=GetCallerIdentity";
  sign_request(good, "AKIAALICE", "alice-secret", "us-east-1", "sts", clock_.now());
  auto response = call(good);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.get("X-Caller-Arn"), "arn:aws:iam::123456789012:user/alice");

  auto wrong_secret = request("POST", "/");
  sign_request(wrong_secret, "AKIAALICE", "not-it", "us-east-1", "sts", clock_.now());
  response = call(wrong_secret);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos);

  auto unknown_key = request("POST", "/");
  unknown_key.headers.add("X-Amz-Target", "DynamoDB_20120810.ListTables");
  sign_request(unknown_key, "AKIAMALLORY", "x", "us-east-1", "dynamodb", clock_.now());
  response = call(unknown_key);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("UnrecognizedClientException"), std::string::npos);

  auto unsigned_request = request("GET", "/2015-03-31/functions/");
  response = call(unsigned_request);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.headers.get("X-Amzn-ErrorType"), "MissingAuthenticationTokenException");

  auto stale = request("POST", "/");
  sign_request(stale, "AKIAALICE", "alice-secret", "us-east-1", "sts", clock_.now() - 16min);
  response = call(stale);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("Signature expired"), std::string::npos);

  auto truncated = request("POST", "/");
  truncated.headers.add("X-Amz-Target", "DynamoDB_20120810.ListTables");
  truncated.headers.add("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE/2026");
  response = call(truncated);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("IncompleteSignatureException"), std::string::npos);
}

TEST_F(RouterTest, TruncatedAuthorizationIsRefusedEvenWithAuthOff) {
  make_router(AuthMode::kOff);
  auto truncated = request("POST", "/");
  truncated.headers.add("Content-Type", "application/x-www-form-urlencoded");
  truncated.headers.add("X-Amz-Date", "20261126T120000Z");
  truncated.headers.add("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAX/20261126/us-ea");
  truncated.body = "Action=GetCallerIdentity&Version=2011-06-15";
  const auto response = call(truncated);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("<Code>IncompleteSignature</Code>"), std::string::npos)
      << response.body;
}

TEST_F(RouterTest, DuplicateClaimsAreRefused) {
  make_router(AuthMode::kOff);
  NamedService clash{{"other", "other", Protocol::kJson11, {"DynamoDB_20120810"}, {}, 0, {}, {}}};
  EXPECT_FALSE(router_->add(clash));
}

TEST_F(RouterTest, PublicEndpointsTakeUnsignedRequestsEvenWithSigV4) {
  make_router(AuthMode::kSigV4);
  auto by_host = request("GET", "/anything/at/all");
  by_host.headers.set("Host", "abc123.lambda-url.us-east-1.localhost:4566");
  auto response = call(by_host);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "lambda");
  EXPECT_EQ(response.headers.get("X-Caller-Arn"), "");

  response = call(request("POST", "/_lambda/url/abc123/x"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "lambda");

  // The API itself still needs a signature.
  response = call(request("GET", "/2015-03-31/functions/"));
  EXPECT_EQ(response.status, 403);
  // A bad signature on a public endpoint is still refused.
  auto forged = request("GET", "/_lambda/url/abc123/");
  forged.headers.add("X-Amz-Date", "20261126T120000Z");
  forged.headers.add(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIAALICE/20261126/us-east-1/lambda/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=" +
          std::string(64, '0'));
  EXPECT_EQ(call(forged).status, 403);
  // An Authorization header that is not SigV4 is the application's.
  auto bearer = request("GET", "/_lambda/url/abc123/");
  bearer.headers.add("Authorization", "Bearer token-for-the-app");
  response = call(bearer);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "lambda");
  // Elsewhere it is still a malformed signature.
  auto api_call = request("GET", "/2015-03-31/functions/");
  api_call.headers.add("Authorization", "Bearer token-for-the-app");
  EXPECT_EQ(call(api_call).status, 403);
}

TEST_F(RouterTest, TheInProcessClientCallsAServiceAsTheCaller) {
  make_router(AuthMode::kSigV4);
  RequestContext caller;
  caller.request_id = "outer";
  caller.region = "eu-west-1";
  caller.account_id = "123456789012";
  caller.caller.arn = "arn:aws:iam::123456789012:user/alice";
  Client client(*router_);
  // Unsigned, yet served: the calling service vouches for its caller.
  boost::asio::io_context context;
  auto future =
      boost::asio::co_spawn(context, client.call(caller, request("GET", "/2015-03-31/functions/")),
                            boost::asio::use_future);
  context.run();
  const auto response = future.get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "lambda");
  EXPECT_EQ(response.headers.get("X-Caller-Arn"), "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(response.headers.get("X-Region"), "eu-west-1");
  // A path no service answers is the routing error, not a crash.
  boost::asio::io_context again;
  auto missing = boost::asio::co_spawn(again, client.call(caller, request("GET", "/nowhere")),
                                       boost::asio::use_future);
  again.run();
  EXPECT_EQ(missing.get().status, 404);
}

}  // namespace
}  // namespace nimbus::aws
