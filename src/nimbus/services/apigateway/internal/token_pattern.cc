#include "nimbus/services/apigateway/internal/token_pattern.h"

#include <stdexcept>

#include <fmt/format.h>
#include <boost/regex.hpp>

namespace nimbus::services::apigateway::internal {

struct TokenPattern::Compiled {
  boost::regex regex;
};

TokenPattern::TokenPattern(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}

TokenPattern::~TokenPattern() = default;

Result<std::shared_ptr<const TokenPattern>> TokenPattern::compile(std::string_view expression) {
  // Boost.Regex reports a bad pattern only by throwing.
  try {
    auto compiled = std::make_unique<Compiled>(
        Compiled{boost::regex(expression.begin(), expression.end(), boost::regex::perl)});
    return std::shared_ptr<const TokenPattern>(new TokenPattern(std::move(compiled)));
  } catch (const boost::regex_error& error) {
    return AwsError(
        "BadRequestException",
        fmt::format("Invalid identity validation expression specified: {}", error.what()), 400);
  }
}

bool TokenPattern::matches(std::string_view token) const {
  // Too costly a match throws (std::runtime_error): counted as no match.
  try {
    return boost::regex_match(token.begin(), token.end(), compiled_->regex);
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace nimbus::services::apigateway::internal
