#pragma once

// A REST API TOKEN authorizer's identityValidationExpression: a regular
// expression (Perl syntax, close to the Java syntax AWS evaluates) the
// whole token must match before the authorizer is asked; a token that
// does not is refused with 401 without calling it.
//
// Boost.Regex, not std::regex: it matches without recursion and gives up
// when a pattern would take too long on an input, so no token can overflow
// the stack or stall an I/O thread.

#include <memory>
#include <string_view>

#include "nimbus/core/result.h"

namespace nimbus::services::apigateway::internal {

class TokenPattern {
 public:
  // BadRequestException for an expression that is not a regular expression.
  static Result<std::shared_ptr<const TokenPattern>> compile(std::string_view expression);
  ~TokenPattern();
  TokenPattern(const TokenPattern&) = delete;
  TokenPattern& operator=(const TokenPattern&) = delete;

  // Whether the whole token matches; false too when matching it would
  // cost more than Boost.Regex allows.
  bool matches(std::string_view token) const;

 private:
  struct Compiled;
  explicit TokenPattern(std::unique_ptr<Compiled> compiled);
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace nimbus::services::apigateway::internal
