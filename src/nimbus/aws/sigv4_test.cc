#include "nimbus/aws/sigv4.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSuiteKey = "AKIDEXAMPLE";
constexpr std::string_view kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kS3DocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kEmptySha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

net::HttpRequest make_request(std::string method, std::string target,
                              std::vector<std::pair<std::string, std::string>> headers,
                              std::string body = "") {
  net::HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  for (auto& [name, value] : headers) request.headers.add(name, value);
  request.body = std::move(body);
  return request;
}

WallTime at(std::string_view amz_date) { return parse_amz_date(amz_date).value(); }

// Runs the server's path: find the signature, verify it at `now`.
Result<void> verify(const net::HttpRequest& request, std::string_view secret, WallTime now) {
  auto found = find_signature(request);
  if (!found) return AwsError::missing_authentication_token();
  if (!*found) return found->error();
  return verify_signature(request, **found, secret, now);
}

std::string suite_authorization(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         std::string(signed_headers) + ", Signature=" + std::string(signature);
}

// The AWS SigV4 test suite (2015 edition, service "service").
struct SuiteCase {
  const char* name;
  const char* method;
  const char* target;
  const char* signature;
};

void PrintTo(const SuiteCase& c, std::ostream* os) { *os << c.name; }

class SigV4SuiteTest : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteTest, VerifiesTheSuiteSignature) {
  const auto& c = GetParam();
  auto request =
      make_request(c.method, c.target,
                   {{"Host", "example.amazonaws.com"},
                    {"X-Amz-Date", "20150830T123600Z"},
                    {"Authorization", suite_authorization("host;x-amz-date", c.signature)}});
  EXPECT_TRUE(verify(request, kSuiteSecret, at("20150830T123600Z")));
  // One changed byte anywhere in what was signed breaks it.
  request.target += request.target.find('?') == std::string::npos ? "?x=1" : "&x=1";
  const auto broken = verify(request, kSuiteSecret, at("20150830T123600Z"));
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), "InvalidSignatureException");
}

INSTANTIATE_TEST_SUITE_P(
    AwsSuite, SigV4SuiteTest,
    ::testing::Values(
        SuiteCase{"get_vanilla", "GET", "/",
                  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        SuiteCase{"get_vanilla_query_order_key_case", "GET", "/?Param2=value2&Param1=value1",
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        SuiteCase{"post_vanilla", "POST", "/",
                  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SigV4Test, StringToSignOfGetVanillaMatchesTheSuite) {
  auto request = make_request(
      "GET", "/", {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}});
  SigV4Signature signature;
  signature.credential = {"AKIDEXAMPLE", "20150830", "us-east-1", "service"};
  signature.signed_headers = {"host", "x-amz-date"};
  signature.amz_date = "20150830T123600Z";
  const auto canonical = canonical_request(request, signature, kEmptySha, PathEncoding::kDouble);
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptySha));
  EXPECT_EQ(string_to_sign(signature.amz_date, signature.credential.scope(), canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

// The 2011 suite (service "host", dated by the Date header): paths are
// normalised and percent-encoded twice.
TEST(SigV4Test, PathsAreEncodedTwiceForNonS3Services) {
  struct Case {
    const char* path;
    const char* canonical_path;
    const char* signature;
  };
  for (const auto& c : {Case{"/%E1%88%B4", "/%25E1%2588%25B4",
                             "57b1eb3df3b16a8479c0097b66c0b261cfd65b829419a3f2c3d05319722490b8"},
                        Case{"/%20/foo", "/%2520/foo",
                             "2be9e587d1ee1f0fd02128724b86b4358ba3630d39f493b6e06610a19a50779e"}}) {
    auto request = make_request(
        "GET", c.path,
        {{"Date", "Mon, 09 Sep 2011 23:36:00 GMT"},
         {"Host", "host.foo.com"},
         {"Authorization",
          std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/"
                      "aws4_request, SignedHeaders=date;host, Signature=") +
              c.signature}});
    auto found = find_signature(request);
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->amz_date, "20110909T233600Z");
    const auto canonical = canonical_request(request, **found, kEmptySha, PathEncoding::kDouble);
    EXPECT_EQ(canonical, std::string("GET\n") + c.canonical_path +
                             "\n\ndate:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\n"
                             "date;host\n" +
                             std::string(kEmptySha));
    EXPECT_TRUE(verify(request, kSuiteSecret, at("20110909T233600Z"))) << c.path;
  }
}

TEST(SigV4Test, DotSegmentsAndRepeatedSlashesAreNormalised) {
  auto request = make_request("GET", "/a/./b/../c//d/", {{"Host", "h"}});
  SigV4Signature signature;
  signature.signed_headers = {"host"};
  const auto canonical = canonical_request(request, signature, kEmptySha, PathEncoding::kDouble);
  EXPECT_TRUE(canonical.starts_with("GET\n/a/c/d/\n")) << canonical;
}

// Examples from the Amazon S3 API Reference ("Signature Calculations for the
// Authorization Header"), which signs the path once.
TEST(SigV4Test, S3DocumentationExamples) {
  const auto when = at("20130524T000000Z");
  const std::string scope =
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ";
  auto get_object = make_request(
      "GET", "/test.txt",
      {{"Host", "examplebucket.s3.amazonaws.com"},
       {"Range", "bytes=0-9"},
       {"x-amz-content-sha256", std::string(kEmptySha)},
       {"x-amz-date", "20130524T000000Z"},
       {"Authorization",
        scope + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"}});
  EXPECT_TRUE(verify(get_object, kS3DocSecret, when));

  auto put_object = make_request(
      "PUT", "/test%24file.text",
      {{"Host", "examplebucket.s3.amazonaws.com"},
       {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
       {"x-amz-date", "20130524T000000Z"},
       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
       {"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
       {"Authorization",
        scope + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"}},
      "Welcome to Amazon S3.");
  EXPECT_TRUE(verify(put_object, kS3DocSecret, when));

  auto list_objects = make_request(
      "GET", "/?max-keys=2&prefix=J",
      {{"Host", "examplebucket.s3.amazonaws.com"},
       {"x-amz-content-sha256", std::string(kEmptySha)},
       {"x-amz-date", "20130524T000000Z"},
       {"Authorization",
        scope + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"}});
  EXPECT_TRUE(verify(list_objects, kS3DocSecret, when));

  auto lifecycle = make_request(
      "GET", "/?lifecycle",
      {{"Host", "examplebucket.s3.amazonaws.com"},
       {"x-amz-content-sha256", std::string(kEmptySha)},
       {"x-amz-date", "20130524T000000Z"},
       {"Authorization",
        scope + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"}});
  EXPECT_TRUE(verify(lifecycle, kS3DocSecret, when));
}

// The S3 documentation's presigned URL example.
TEST(SigV4Test, PresignedQueryStringExample) {
  auto request = make_request(
      "GET",
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%"
      "2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
      "SignedHeaders=host&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
      {{"Host", "examplebucket.s3.amazonaws.com"}});
  EXPECT_EQ(signing_service(request), "s3");
  EXPECT_TRUE(verify(request, kS3DocSecret, at("20130524T000000Z") + 1h));
  const auto expired = verify(request, kS3DocSecret, at("20130524T000000Z") + 86401s);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), "InvalidSignatureException");
  EXPECT_TRUE(expired.error().message().starts_with("Signature expired"))
      << expired.error().message();
}

TEST(SigV4Test, SignRequestRoundTripsThroughVerification) {
  auto request = make_request(
      "POST", "/",
      {{"Host", "127.0.0.1:4566"}, {"Content-Type", "application/x-www-form-urlencoded"}},
      "Action=GetCallerIdentity&Version=2011-06-15");
  const auto now = at("20261126T120000Z");
  sign_request(request, "AKIATEST", "secret", "eu-west-1", "sts", now);
  EXPECT_EQ(signing_service(request), "sts");
  EXPECT_TRUE(verify(request, "secret", now + 14min));
  EXPECT_FALSE(verify(request, "Secret", now));

  request.body += "&x=y";
  EXPECT_FALSE(verify(request, "secret", now)) << "body is covered by the signature";
}

TEST(SigV4Test, TimeWindowIsFifteenMinutesEachWay) {
  auto request = make_request("GET", "/", {{"Host", "h"}});
  const auto signed_at = at("20150830T123600Z");
  sign_request(request, "AKID", "s", "us-east-1", "service", signed_at);
  EXPECT_TRUE(verify(request, "s", signed_at + 15min));
  EXPECT_TRUE(verify(request, "s", signed_at - 15min));
  const auto late = verify(request, "s", signed_at + 20min);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z "
            "(20150830T125600Z - 15 min.)");
  const auto early = verify(request, "s", signed_at - 20min);
  ASSERT_FALSE(early);
  EXPECT_TRUE(early.error().message().starts_with("Signature not yet current: 20150830T123600Z"));
}

TEST(SigV4Test, MalformedAuthorizationHeadersAreIncompleteSignatures) {
  for (const std::string header :
       {"AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=AKID/2015", "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws5_request, SignedHeaders=host, "
        "Signature=00",
        ""}) {
    auto request = make_request(
        "GET", "/", {{"Host", "h"}, {"X-Amz-Date", "20150830T123600Z"}, {"Authorization", header}});
    auto found = find_signature(request);
    ASSERT_TRUE(found.has_value()) << header;
    ASSERT_FALSE(*found) << header;
    EXPECT_EQ(found->error().code(), "IncompleteSignatureException") << header;
    EXPECT_EQ(found->error().http_status(), 403);
  }
}

TEST(SigV4Test, MissingDateIsReported) {
  auto request = make_request(
      "GET", "/", {{"Host", "h"}, {"Authorization", suite_authorization("host", "00")}});
  auto found = find_signature(request);
  ASSERT_TRUE(found && !*found);
  EXPECT_TRUE(found->error().message().starts_with(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."));
}

TEST(SigV4Test, HostMustBeSigned) {
  auto request = make_request("GET", "/",
                              {{"Host", "h"},
                               {"X-Amz-Date", "20150830T123600Z"},
                               {"Authorization", suite_authorization("x-amz-date", "00")}});
  const auto result = verify(request, kSuiteSecret, at("20150830T123600Z"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), "IncompleteSignatureException");
}

TEST(SigV4Test, UnsignedRequestHasNoSignature) {
  auto request = make_request("GET", "/?Action=GetCallerIdentity", {{"Host", "h"}});
  EXPECT_FALSE(find_signature(request).has_value());
  EXPECT_FALSE(signing_service(request).has_value());
}

TEST(SigV4Test, CredentialScopeParsing) {
  const auto scope = parse_credential_scope("AKID/20150830/us-east-1/dynamodb/aws4_request");
  ASSERT_TRUE(scope);
  EXPECT_EQ(scope->service, "dynamodb");
  EXPECT_EQ(scope->scope(), "20150830/us-east-1/dynamodb/aws4_request");
  EXPECT_FALSE(parse_credential_scope("AKID/2015/us-east-1/dynamodb/aws4_request"));
  EXPECT_FALSE(parse_credential_scope("AKID//us-east-1/dynamodb/aws4_request/x"));
  EXPECT_FALSE(parse_credential_scope("AKID/20150830/us-east-1/dynamodb/aws4_request/"));
  EXPECT_FALSE(parse_credential_scope(""));
}

TEST(SigV4Test, SignedHeadersAreReadAsListed) {
  const std::string head =
      "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws4_request, SignedHeaders=";
  const auto listed = parse_authorization_header(head + "Host;X-Amz-Date;;x-b, Signature=AB");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->signed_headers, (std::vector<std::string>{"host", "x-amz-date", "", "x-b"}));
  EXPECT_EQ(listed->signature, "ab");
  // An empty list is one empty name (which no request has signed).
  const auto empty = parse_authorization_header(head + ", Signature=ab");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->signed_headers, std::vector<std::string>{""});
}

}  // namespace
}  // namespace nimbus::aws
