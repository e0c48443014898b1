#include "nimbus/net/http_message.h"

#include <gtest/gtest.h>

namespace nimbus::net {
namespace {

TEST(HttpHeadersTest, LookupIgnoresCaseAndKeepsOrder) {
  HttpHeaders headers;
  headers.add("X-Amz-Target", "DynamoDB_20120810.PutItem");
  headers.add("Accept", "a");
  headers.add("accept", "b");
  EXPECT_EQ(headers.get("x-amz-target"), "DynamoDB_20120810.PutItem");
  EXPECT_EQ(headers.get("ACCEPT"), "a");
  EXPECT_EQ(headers.get_joined("Accept"), "a,b");
  EXPECT_FALSE(headers.get("missing"));
  headers.set("accept", "c");
  EXPECT_EQ(headers.get_joined("Accept"), "c");
  EXPECT_EQ(headers.size(), 2u);
}

TEST(HttpRequestTest, SplitsPathAndQuery) {
  HttpRequest request;
  request.target = "/2015-03-31/functions/f/invocations?Qualifier=1";
  EXPECT_EQ(request.path(), "/2015-03-31/functions/f/invocations");
  EXPECT_EQ(request.query(), "Qualifier=1");
  request.target = "/";
  EXPECT_EQ(request.query(), "");
}

}  // namespace
}  // namespace nimbus::net
