#pragma once

// CloudWatch Logs filter patterns (FilterLogEvents' filterPattern): terms
// and quoted phrases, `?term` alternatives and `-term` exclusions, and JSON
// patterns `{ $.a.b[0] = "x*" && ($.n > 5 || $.c IS NULL) }`. Space-
// delimited `[a, b, ...]` patterns are refused (docs/compatibility/logs.md).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::services::logs {

class FilterPattern {
 public:
  // An InvalidParameterException naming what is wrong, for bad patterns.
  static Result<FilterPattern> parse(std::string_view text);

  bool matches(std::string_view message) const;
  bool matches_everything() const;

  struct Node;  // a JSON pattern's expression tree (filter_pattern.cc)

 private:
  // Term patterns.
  std::vector<std::string> required_;
  std::vector<std::string> any_of_;
  std::vector<std::string> excluded_;
  // JSON patterns.
  std::shared_ptr<const Node> json_;
};

}  // namespace nimbus::services::logs
