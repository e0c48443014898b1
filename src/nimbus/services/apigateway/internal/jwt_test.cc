#include "nimbus/services/apigateway/internal/jwt.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway::internal {
namespace {

// Made with PyJWT 2.6 and python3-cryptography: an ES256 and an RS256 token
// for {"iss":"http://issuer.test","aud":"app","exp":2000000000,
// "nbf":1700000000,"sub":"ann","scope":"read write","groups":["a","b"]}.
constexpr std::string_view kJwks =
    R"({"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec1", "use": "sig", "x": "0ubP6QX9cy0tYauJQI5nbQGa7m19Ze7ladXn2wDxFQM", "y": "fX25uIvYr_lDfyfnA7hqLXK5FCZnus85fMSZwBaXIiM"}, {"kty": "RSA", "kid": "rsa1", "n": "sB4lpzR08tSxdHPFp_oKEz8kAmMGhT9_9TgOhCaoDNUL6VjqpMEjRLyOMLGL_li4CTL3k4tCQlr6qCz95PceF2BP2mP6z3cEzcOolmMhDYrWir6lU-sDjDX9mG5IQEsqkGfMYYVH6x5fETKxYkpIbTrmTGhGRbwl76GdNsWNDwuc8Esx7LptQtqkh1zR9mTzd745ZBXvisOm3l07xJZOUSQYDkN8dgHwXqf4FsrlKt238RbvD4jMBaat2ui9BSoNRmD2UuZ0gOy2AvjK3Zj-3TRyV81md9xxApz1t4Wm9LQKnHywNOoQIwYPaRcKEzgqRp69QYjXbz4VupVcHfO2-w", "e": "AQAB"}]})";
constexpr std::string_view kEs256 =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6IkpXVCJ9."
    "eyJpc3MiOiJodHRwOi8vaXNzdWVyLnRlc3QiLCJhdWQiOiJhcHAiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAw"
    "MDAwMCwic3ViIjoiYW5uIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiZ3JvdXBzIjpbImEiLCJiIl19."
    "5saZZflwXDV9uFwdzr8KMNk9iQb_fVpzZv7rzDUIbmAMJuaBv7QK6_iF2PdEPL6HK2xhDg_S8V79UB7n6m-B5w";
constexpr std::string_view kRs256 =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ."
    "eyJpc3MiOiJodHRwOi8vaXNzdWVyLnRlc3QiLCJhdWQiOiJhcHAiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAw"
    "MDAwMCwic3ViIjoiYW5uIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiZ3JvdXBzIjpbImEiLCJiIl19."
    "IR-7_MjU3xx-IwXSogw_z5alKtrAEIPie4ilKuS2NRolOcSsUaWVBgccuAGRlTwSQz80nBO-hU6hhOvSKsOK7CZo9F5J"
    "AFnHwTLa1Kn6tAMMOmf_hAh8sXRBca6eGw3piQmiqgIphJhIixv2ESR1jZNbBIsamKI1Rfgr_dcvZ_bi25G_D3Z3S-Ne_"
    "ftdJBjKe2B08zludzdFl6EfGPcBerqVuBymjRT2rMFOrcagZ_S9-YNB9toIVtmJuzOX7QSUqqDkySGWjNzpqj4fO3IFX"
    "IHFIYl_VZjklTo9ALIvk0z8rnQ7Dj5xyZwPJKFnN3Ka7-ksmWL5l5LVfut9d42n0A";

std::chrono::system_clock::time_point at(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

JwtPolicy policy() { return {"http://issuer.test", {"other", "app"}, {}}; }

std::string rejection(const std::variant<JwtClaims, JwtRejection>& verdict) {
  const auto* rejected = std::get_if<JwtRejection>(&verdict);
  return rejected ? rejected->reason : "accepted";
}

TEST(JwtTest, AcceptsValidEs256AndRs256Tokens) {
  const auto keys = JwkSet::parse(kJwks);
  ASSERT_TRUE(keys);
  EXPECT_EQ((*keys)->size(), 2u);
  for (const auto token : {kEs256, kRs256}) {
    const auto verdict = verify_jwt(token, **keys, policy(), at(1'800'000'000));
    ASSERT_TRUE(std::holds_alternative<JwtClaims>(verdict)) << rejection(verdict);
    const auto& claims = std::get<JwtClaims>(verdict);
    EXPECT_EQ(claims.claims.at("sub"), "ann");
    EXPECT_EQ(claims.claims.at("exp"), "2000000000");
    EXPECT_EQ(claims.claims.at("groups"), "[a b]");
    EXPECT_EQ(claims.scopes, (std::vector<std::string>{"read", "write"}));
  }
  const auto header = peek_jwt(kRs256);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->kid, "rsa1");
  EXPECT_EQ(header->issuer, "http://issuer.test");
}

TEST(JwtTest, RefusesWhatApiGatewayRefuses) {
  const auto keys = *JwkSet::parse(kJwks);
  EXPECT_EQ(rejection(verify_jwt(kEs256, *keys, policy(), at(2'000'000'000))),
            "the token has expired");
  EXPECT_EQ(rejection(verify_jwt(kEs256, *keys, policy(), at(1'600'000'000))),
            "the token is not valid yet");
  auto wrong_issuer = policy();
  wrong_issuer.issuer = "http://other.test";
  EXPECT_EQ(rejection(verify_jwt(kEs256, *keys, wrong_issuer, at(1'800'000'000))),
            "the token's issuer is not trusted");
  auto wrong_audience = policy();
  wrong_audience.audience = {"nobody"};
  EXPECT_EQ(rejection(verify_jwt(kEs256, *keys, wrong_audience, at(1'800'000'000))),
            "the token's audience is not allowed");
  auto scoped = policy();
  scoped.required_scopes = {"admin"};
  const auto verdict = verify_jwt(kEs256, *keys, scoped, at(1'800'000'000));
  ASSERT_TRUE(std::holds_alternative<JwtRejection>(verdict));
  EXPECT_EQ(std::get<JwtRejection>(verdict).failure, JwtFailure::kInsufficientScope);
  scoped.required_scopes = {"admin", "write"};
  EXPECT_EQ(rejection(verify_jwt(kEs256, *keys, scoped, at(1'800'000'000))), "accepted");

  // A changed payload or signature, or garbage, fails the signature.
  std::string tampered(kEs256);
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(rejection(verify_jwt(tampered, *keys, policy(), at(1'800'000'000))),
            "the token's signature is invalid");
  const std::string swapped = std::string(kEs256.substr(0, kEs256.rfind('.'))) +
                              std::string(kRs256.substr(kRs256.rfind('.')));
  EXPECT_EQ(rejection(verify_jwt(swapped, *keys, policy(), at(1'800'000'000))),
            "the token's signature is invalid");
  EXPECT_EQ(rejection(verify_jwt("a.b", *keys, policy(), at(0))), "the token is not a JWT");
  EXPECT_EQ(rejection(verify_jwt("e30.e30.", *keys, policy(), at(0))),
            "the token's key is not the issuer's");
  EXPECT_FALSE(peek_jwt("not-a-token"));
}

TEST(JwtTest, ParsesOnlyJwksDocuments) {
  EXPECT_FALSE(JwkSet::parse("[]"));
  EXPECT_FALSE(JwkSet::parse("{\"keys\": 1}"));
  const auto skipped = JwkSet::parse(
      R"({"keys":[{"kty":"oct","kid":"x","k":"c2VjcmV0"},{"kty":"RSA","kid":"bad","n":"!","e":"AQAB"}]})");
  ASSERT_TRUE(skipped);
  EXPECT_EQ((*skipped)->size(), 0u);
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
