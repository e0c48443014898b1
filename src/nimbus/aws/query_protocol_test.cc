#include "nimbus/aws/query_protocol.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

TEST(FormTest, DecodesPlusAndPercent) {
  const auto params =
      decode_form("Action=GetCallerIdentity&Version=2011-06-15&Tag.1=a+b%2Bc&Empty=&Flag");
  ASSERT_TRUE(params);
  ASSERT_EQ(params->size(), 5u);
  EXPECT_EQ((*params)[2].second, "a b+c");
  EXPECT_EQ((*params)[3].second, "");
  EXPECT_EQ((*params)[4].first, "Flag");
}

TEST(FormTest, MalformedEscapeIsAnError) {
  const auto params = decode_form("Action=%ZZ");
  ASSERT_FALSE(params);
  EXPECT_EQ(params.error().code(), "MalformedQueryString");
}

TEST(QueryProtocolTest, ReadsActionFromBodyOrQueryString) {
  net::HttpRequest post;
  post.method = "POST";
  post.target = "/";
  post.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  post.body = "Action=GetCallerIdentity&Version=2011-06-15";
  const auto decoded = decode_query_request(post);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->action, "GetCallerIdentity");
  EXPECT_EQ(decoded->version, "2011-06-15");

  net::HttpRequest get;
  get.method = "GET";
  get.target = "/?Action=GetCallerIdentity&Version=2011-06-15";
  EXPECT_EQ(decode_query_request(get).value().action, "GetCallerIdentity");

  net::HttpRequest none;
  none.target = "/";
  EXPECT_EQ(decode_query_request(none).error().code(), "MissingAction");
}

TEST(QueryProtocolTest, ResponseEnvelope) {
  const auto response =
      query_response("GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/",
                     "<Account>000000000000</Account>", "rid");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<GetCallerIdentityResult><Account>000000000000</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>");
}

}  // namespace
}  // namespace nimbus::aws
