#include "nimbus/aws/protocol.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "nimbus/aws/json_protocol.h"
#include "nimbus/aws/xml_writer.h"

namespace nimbus::aws {
namespace {

TEST(ProtocolTest, JsonErrorsCarryTypeMessageAndRequestId) {
  AwsError error("ResourceNotFoundException", "Requested resource not found", 400);
  const auto response = error_response(Protocol::kJson10, error, "req-1");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.headers.get("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(response.headers.get("x-amzn-RequestId"), "req-1");
  const auto body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.at("__type").as_string(), "ResourceNotFoundException");
  EXPECT_EQ(body.at("message").as_string(), "Requested resource not found");
}

TEST(ProtocolTest, RestJsonErrorsUseTheErrorTypeHeader) {
  AwsError error("TooManyRequestsException", "Rate Exceeded.", 429);
  error.with_field("Reason", "ReservedFunctionConcurrentInvocationLimitExceeded");
  const auto response = error_response(Protocol::kRestJson, error, "req-2");
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.headers.get("X-Amzn-ErrorType"), "TooManyRequestsException");
  const auto body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.at("Type").as_string(), "User");
  EXPECT_EQ(body.at("message").as_string(), "Rate Exceeded.");
  EXPECT_EQ(body.at("Reason").as_string(), "ReservedFunctionConcurrentInvocationLimitExceeded");
}

TEST(ProtocolTest, QueryErrorsUseQueryNamesAndXml) {
  const auto response =
      error_response(Protocol::kQuery, AwsError::invalid_signature("bad <sig>"), "req-3");
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.headers.get("Content-Type"), "text/xml");
  EXPECT_EQ(response.body,
            "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
            "<Message>bad &lt;sig&gt;</Message></Error><RequestId>req-3</RequestId>"
            "</ErrorResponse>");
}

TEST(ProtocolTest, RestXmlErrorsLikeS3) {
  const auto response =
      error_response(Protocol::kRestXml,
                     AwsError("NoSuchBucket", "The specified bucket does not exist", 404), "r4");
  EXPECT_EQ(response.headers.get("x-amz-request-id"), "r4");
  EXPECT_NE(response.body.find("<Error><Code>NoSuchBucket</Code><Message>The specified bucket does "
                               "not exist</Message><RequestId>r4</RequestId></Error>"),
            std::string::npos);
}

TEST(JsonProtocolTest, DecodesTargetAndBody) {
  net::HttpRequest request;
  request.headers.add("X-Amz-Target", "DynamoDB_20120810.GetItem");
  request.body = R"({"TableName":"t"})";
  const auto decoded = decode_json_request(request);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->operation, "GetItem");
  EXPECT_EQ(decoded->input.at("TableName").as_string(), "t");

  request.body = "";
  EXPECT_TRUE(decode_json_request(request).value().input.empty());
  for (const auto* bad : {"[1]", "{", "\"x\"", "nul"}) {
    request.body = bad;
    const auto failed = decode_json_request(request);
    ASSERT_FALSE(failed) << bad;
    EXPECT_EQ(failed.error().code(), "SerializationException");
  }
  request.headers.set("X-Amz-Target", "NoOperation");
  EXPECT_EQ(decode_json_request(request).error().code(), "UnknownOperationException");
}

TEST(XmlWriterTest, EscapesAndNests) {
  XmlWriter xml;
  xml.open("A", "urn:x").element("B", "1 < 2 & \"q\"").open("C").finish();
  EXPECT_EQ(xml_escape("<&>'\""), "&lt;&amp;&gt;&apos;&quot;");
  XmlWriter other;
  EXPECT_EQ(other.open("A", "urn:x").element("B", "x&y").open("C").finish(),
            "<A xmlns=\"urn:x\"><B>x&amp;y</B><C></C></A>");
}

}  // namespace
}  // namespace nimbus::aws
