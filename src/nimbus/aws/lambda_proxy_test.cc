#include "nimbus/aws/lambda_proxy.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace nimbus::aws {
namespace {

net::HttpRequest request_with(std::string method, std::string target, std::string body = {}) {
  net::HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.remote_address = "127.0.0.1";
  return request;
}

ProxyRequestFacts facts() {
  ProxyRequestFacts out;
  out.raw_path = "/orders/7";
  out.account_id = "000000000000";
  out.api_id = "abc";
  out.domain_name = "abc.lambda-url.us-east-1.localhost";
  out.domain_prefix = "abc";
  out.request_id = "rid";
  out.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'583'348'638'390));
  return out;
}

TEST(LambdaProxyTest, BuildsTheVersion2EventAsAwsDocumentsIt) {
  auto request = request_with("POST", "/orders/7?a=1&a=2&b=x%20y", R"({"k":1})");
  request.headers.add("Content-Type", "application/json");
  request.headers.add("X-Multi", "one");
  request.headers.add("x-multi", "two");
  request.headers.add("Cookie", "c1=v1; c2=v2");
  request.headers.add("User-Agent", "curl/8");
  const auto event = proxy_event_v2(request, facts());
  EXPECT_EQ(event.at("version"), "2.0");
  EXPECT_EQ(event.at("routeKey"), "$default");
  EXPECT_EQ(event.at("rawPath"), "/orders/7");
  EXPECT_EQ(event.at("rawQueryString"), "a=1&a=2&b=x%20y");
  EXPECT_EQ(boost::json::serialize(event.at("cookies")), R"(["c1=v1","c2=v2"])");
  EXPECT_EQ(event.at("headers").at("x-multi"), "one,two");
  EXPECT_EQ(event.at("headers").at("content-type"), "application/json");
  EXPECT_FALSE(event.at("headers").as_object().contains("cookie"));
  EXPECT_EQ(event.at("queryStringParameters").at("a"), "1,2");
  EXPECT_EQ(event.at("queryStringParameters").at("b"), "x y");
  const auto& context = event.at("requestContext");
  EXPECT_EQ(context.at("http").at("method"), "POST");
  EXPECT_EQ(context.at("http").at("sourceIp"), "127.0.0.1");
  EXPECT_EQ(context.at("http").at("userAgent"), "curl/8");
  EXPECT_EQ(context.at("time"), "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(context.at("timeEpoch"), 1583348638390);
  EXPECT_EQ(event.at("body"), R"({"k":1})");
  EXPECT_EQ(event.at("isBase64Encoded"), false);
}

// The event is written out as text: whatever bytes a request carries come
// back from it as they were sent.
TEST(LambdaProxyTest, TheVersion2EventCarriesAnyBytesIntact) {
  auto request = request_with("POST", "/p?q=%22x%5C", std::string("line\n\"quoted\"\t\x01", 15));
  request.headers.add("Content-Type", "text/plain");
  request.headers.add("X-Odd", std::string("a\"b\\c\x01\x7f", 7));
  request.headers.add("X-Bytes", "caf\xc3\xa9 \xff");
  request.headers.add("Cookie", "a=\"1\"; ; b=2");
  auto with = facts();
  with.path_parameters = {{"id", "first"}, {"other", "o"}, {"id", "last"}};
  with.authorizer = boost::json::object{{"lambda", {{"user", "u\"1"}}}};
  const auto text = proxy_event_v2_json(request, with);
  const auto event = proxy_event_v2(request, with);
  EXPECT_EQ(std::string(event.at("body").as_string()), std::string("line\n\"quoted\"\t\x01", 15));
  EXPECT_EQ(event.at("isBase64Encoded"), false);
  EXPECT_EQ(std::string(event.at("headers").at("x-odd").as_string()),
            std::string("a\"b\\c\x01\x7f", 7));
  EXPECT_EQ(event.at("headers").at("x-bytes"), "caf\xc3\xa9 \xff");
  EXPECT_EQ(boost::json::serialize(event.at("cookies")), R"(["a=\"1\"","b=2"])");
  EXPECT_EQ(event.at("queryStringParameters").at("q"), "\"x\\");
  // A repeated parameter is named once, where it first stood, with its last value.
  EXPECT_EQ(boost::json::serialize(event.at("pathParameters")), R"({"id":"last","other":"o"})");
  EXPECT_EQ(event.at("requestContext").at("authorizer").at("lambda").at("user"), "u\"1");
  // Members in the order AWS's examples list them.
  EXPECT_LT(text.find(R"("version")"), text.find(R"("routeKey")"));
  EXPECT_LT(text.find(R"("headers")"), text.find(R"("requestContext")"));
  EXPECT_LT(text.find(R"("pathParameters")"), text.find(R"("body")"));
  EXPECT_TRUE(text.ends_with(R"(,"body":"line\n\"quoted\"\t\u0001","isBase64Encoded":false})"))
      << text;
}

TEST(LambdaProxyTest, RequestTimesAreApiGatewaysFormat) {
  using namespace std::chrono;
  auto at = facts();
  const auto request = request_with("GET", "/");
  at.time = sys_days{year{2021} / January / 1} + seconds(5) + milliseconds(999);
  EXPECT_EQ(proxy_event_v2(request, at).at("requestContext").at("time"),
            "01/Jan/2021:00:00:05 +0000");
  at.time = sys_days{year{1999} / December / 31} + hours(23) + minutes(59) + seconds(59);
  EXPECT_EQ(
      proxy_event_v1(request, at, HeaderNames::kAsSent).at("requestContext").at("requestTime"),
      "31/Dec/1999:23:59:59 +0000");
}

TEST(LambdaProxyTest, BinaryBodiesAreBase64) {
  auto request = request_with("PUT", "/", std::string("\x00\xff", 2));
  request.headers.add("Content-Type", "application/octet-stream");
  const auto event = proxy_event_v2(request, facts());
  EXPECT_EQ(event.at("body"), "AP8=");
  EXPECT_EQ(event.at("isBase64Encoded"), true);
}

TEST(LambdaProxyTest, MapsAStructuredResponse) {
  const auto response = proxy_response_v2(
      R"({"statusCode":201,"headers":{"x-a":"1","Content-Type":"text/plain"},"cookies":["s=1"],"body":"made"})");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "made");
  EXPECT_EQ(response.headers.get("x-a"), "1");
  EXPECT_EQ(response.headers.get("Content-Type"), "text/plain");
  EXPECT_EQ(response.headers.get("Set-Cookie"), "s=1");
  const auto binary =
      proxy_response_v2(R"({"statusCode":200,"body":"AP8=","isBase64Encoded":true})");
  EXPECT_EQ(binary.body, std::string("\x00\xff", 2));
  // The member is found as JSON spells it, escaped or not, with a larger
  // answer (past the stack scratch buffer) around it.
  const std::string padding(4096, 'p');
  const auto escaped =
      proxy_response_v2(R"({"pad":")" + padding + R"(","status\u0043ode":202,"body":"ok"})");
  EXPECT_EQ(escaped.status, 202);
  EXPECT_EQ(escaped.body, "ok");
}

TEST(LambdaProxyTest, ImpossibleStatusCodesAre500) {
  EXPECT_EQ(proxy_response_v2(R"({"statusCode":18446744073709551615})").status, 500);
  EXPECT_EQ(proxy_response_v2(R"({"statusCode":-1})").status, 500);
  EXPECT_EQ(proxy_response_v2(R"({"statusCode":"99999999999999999999"})").status, 500);
  EXPECT_EQ(proxy_response_v2(R"({"statusCode":2.5})").status, 500);
}

TEST(LambdaProxyTest, AnythingElseIsAJsonBody) {
  const auto object = proxy_response_v2(R"({"message":"hi"})");
  EXPECT_EQ(object.status, 200);
  EXPECT_EQ(object.body, R"({"message":"hi"})");
  EXPECT_EQ(object.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(proxy_response_v2(R"("plain words")").body, "plain words");
  // A statusCode below the top level does not make an answer structured.
  const std::string nested = R"({"inner":{"statusCode":500},"statusCodes":1})";
  EXPECT_EQ(proxy_response_v2(nested).status, 200);
  EXPECT_EQ(proxy_response_v2(nested).body, nested);
  EXPECT_EQ(proxy_response_v2("{not json").body, "{not json");
}

TEST(LambdaProxyTest, TheVersion2EventCarriesRouteStageAndParameters) {
  auto request = request_with("GET", "/prod/items/7");
  auto with_route = facts();
  with_route.raw_path = "/prod/items/7";
  with_route.route_key = "GET /items/{id}";
  with_route.stage = "prod";
  with_route.path_parameters = {{"id", "7"}};
  with_route.stage_variables = {{"color", "blue"}};
  with_route.authorizer = boost::json::object{{"lambda", boost::json::object{{"user", "ann"}}}};
  const auto event = proxy_event_v2(request, with_route);
  EXPECT_EQ(event.at("routeKey"), "GET /items/{id}");
  EXPECT_EQ(event.at("pathParameters").at("id"), "7");
  EXPECT_EQ(event.at("stageVariables").at("color"), "blue");
  EXPECT_EQ(event.at("requestContext").at("stage"), "prod");
  EXPECT_EQ(event.at("requestContext").at("authorizer").at("lambda").at("user"), "ann");
  // Absent members are omitted in 2.0.
  EXPECT_FALSE(event.contains("body"));
  EXPECT_FALSE(event.contains("queryStringParameters"));
  EXPECT_FALSE(proxy_event_v2(request, facts()).contains("stageVariables"));
}

TEST(LambdaProxyTest, BuildsTheVersion1Event) {
  auto request = request_with("POST", "/items/7?a=1&a=2&b=x", "hi");
  request.headers.add("X-Multi", "one");
  request.headers.add("X-Multi", "two");
  request.headers.add("User-Agent", "curl/8");
  auto with_route = facts();
  with_route.raw_path = "/items/7";
  with_route.resource_path = "/items/{id}";
  with_route.path_parameters = {{"id", "7"}};
  const auto event = proxy_event_v1(request, with_route, HeaderNames::kLowerCase);
  EXPECT_EQ(event.at("version"), "1.0");
  EXPECT_EQ(event.at("resource"), "/items/{id}");
  EXPECT_EQ(event.at("path"), "/items/7");
  EXPECT_EQ(event.at("httpMethod"), "POST");
  EXPECT_EQ(event.at("headers").at("x-multi"), "two");
  EXPECT_EQ(boost::json::serialize(event.at("multiValueHeaders").at("x-multi")),
            R"(["one","two"])");
  EXPECT_EQ(event.at("queryStringParameters").at("a"), "2");
  EXPECT_EQ(boost::json::serialize(event.at("multiValueQueryStringParameters").at("a")),
            R"(["1","2"])");
  EXPECT_EQ(event.at("pathParameters").at("id"), "7");
  EXPECT_TRUE(event.at("stageVariables").is_null());
  EXPECT_EQ(event.at("body"), "hi");
  const auto& context = event.at("requestContext");
  EXPECT_EQ(context.at("resourcePath"), "/items/{id}");
  EXPECT_EQ(context.at("requestTimeEpoch"), 1583348638390);
  EXPECT_EQ(context.at("identity").at("sourceIp"), "127.0.0.1");
  EXPECT_TRUE(context.at("identity").at("caller").is_null());
  // REST APIs keep header names as sent.
  const auto as_sent = proxy_event_v1(request, with_route, HeaderNames::kAsSent);
  EXPECT_TRUE(as_sent.at("headers").as_object().contains("X-Multi"));
  // Without a body or query string those members are null.
  const auto bare = proxy_event_v1(request_with("GET", "/"), facts(), HeaderNames::kLowerCase);
  EXPECT_TRUE(bare.at("body").is_null());
  EXPECT_TRUE(bare.at("queryStringParameters").is_null());
}

TEST(LambdaProxyTest, MapsAVersion1Response) {
  const auto response =
      proxy_response_v1(R"({"statusCode":202,"headers":{"x-a":"1","x-b":"single"},)"
                        R"("multiValueHeaders":{"x-b":["m1","m2"]},"body":"ok"})");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(response->headers.get("x-a"), "1");
  EXPECT_EQ(response->headers.get_joined("x-b"), "m1,m2");  // multiValueHeaders wins
  EXPECT_EQ(response->headers.get("Content-Type"), "application/json");
  EXPECT_FALSE(proxy_response_v1(R"({"body":"no status"})"));
  EXPECT_FALSE(proxy_response_v1(R"("text")"));
  EXPECT_FALSE(proxy_response_v1("not json"));
  EXPECT_FALSE(proxy_response_v1(R"({"statusCode":200,"headers":"x"})"));
}

TEST(LambdaProxyTest, GatewayMessagesAreApiGatewaysShape) {
  const auto response = gateway_message(404, "Not Found");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, R"({"message":"Not Found"})");
  EXPECT_EQ(proxy_response_v2(R"({"statusCode":-1})").body,
            R"({"message":"Internal Server Error"})");
}

}  // namespace
}  // namespace nimbus::aws
