#pragma once

// Amazon Resource Names: arn:partition:service:region:account-id:resource.

#include <string>
#include <string_view>

#include "nimbus/core/result.h"

namespace nimbus::aws {

struct Arn {
  std::string partition = "aws";
  std::string service;
  std::string region;  // empty for global services (iam)
  std::string account_id;
  std::string resource;  // "function:name", "table/name", "user/alice"...

  std::string to_string() const;
  static Result<Arn> parse(std::string_view text);
  friend bool operator==(const Arn&, const Arn&) = default;
};

}  // namespace nimbus::aws
