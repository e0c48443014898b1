// JWT authorizers' outside input: a JSON Web Key Set (fetched from an
// issuer's URL) and a bearer token (sent by any client). Input layout: the
// JWKS document on the first line, then the token.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <variant>

#include "nimbus/services/apigateway/internal/jwt.h"

namespace internal = nimbus::services::apigateway::internal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const auto token = newline == std::string_view::npos ? input : input.substr(newline + 1);
  (void)internal::peek_jwt(token);
  auto keys = internal::JwkSet::parse(input.substr(0, newline));
  if (!keys) return 0;
  const internal::JwtPolicy policy{"http://issuer.test", {"app"}, {"read"}};
  const auto verdict = internal::verify_jwt(
      token, **keys, policy,
      std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
  // Whatever is accepted came from the issuer and carries a required scope.
  if (const auto* accepted = std::get_if<internal::JwtClaims>(&verdict)) {
    const auto* issuer = accepted->claims.if_contains("iss");
    if (issuer == nullptr || *issuer != "http://issuer.test") __builtin_trap();
    if (std::find(accepted->scopes.begin(), accepted->scopes.end(), "read") ==
        accepted->scopes.end()) {
      __builtin_trap();
    }
  }
  return 0;
}
