#pragma once

// JWT authorizers as HTTP APIs run them: a bearer token's signature checked
// against the issuer's JSON Web Key Set (RS256 and ES256), then its issuer,
// audience, expiry and not-before, then the route's scopes.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/core/result.h"

namespace nimbus::services::apigateway::internal {

// The public keys of a JWKS document, by key id. Immutable once parsed;
// shared by every I/O thread.
class JwkSet {
 public:
  // RSA ("kty":"RSA", n, e) and P-256 EC ("kty":"EC", "crv":"P-256", x, y)
  // signing keys; others are skipped. An error if the document is not a
  // JWKS at all.
  static Result<std::shared_ptr<const JwkSet>> parse(std::string_view jwks);
  ~JwkSet();

  struct Key;
  const Key* find(std::string_view kid) const;
  std::size_t size() const { return keys_.size(); }

 private:
  JwkSet() = default;
  std::map<std::string, std::unique_ptr<Key>, std::less<>> keys_;
};

struct JwtPolicy {
  std::string issuer;
  std::vector<std::string> audience;
  std::vector<std::string> required_scopes;  // any one of them suffices
};

struct JwtClaims {
  boost::json::object claims;  // as the event carries them (values as strings)
  std::vector<std::string> scopes;
};

enum class JwtFailure { kInvalid, kInsufficientScope };
struct JwtRejection {
  JwtFailure failure;
  std::string reason;  // for the WWW-Authenticate error_description
};

// The token's claims if it is valid for `policy` at `now`.
std::variant<JwtClaims, JwtRejection> verify_jwt(std::string_view token, const JwkSet& keys,
                                                 const JwtPolicy& policy,
                                                 std::chrono::system_clock::time_point now);

// The "kid" and "iss" a token names, read without verifying, to pick keys.
struct JwtHeader {
  std::string kid;
  std::string issuer;
};
std::optional<JwtHeader> peek_jwt(std::string_view token);

}  // namespace nimbus::services::apigateway::internal
