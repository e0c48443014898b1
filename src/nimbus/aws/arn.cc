#include "nimbus/aws/arn.h"

#include <fmt/format.h>

namespace nimbus::aws {

std::string Arn::to_string() const {
  return fmt::format("arn:{}:{}:{}:{}:{}", partition, service, region, account_id, resource);
}

Result<Arn> Arn::parse(std::string_view text) {
  // The resource may itself contain ':' ("function:name:alias").
  Arn arn;
  std::string_view rest = text;
  std::string* fields[] = {nullptr, &arn.partition, &arn.service, &arn.region, &arn.account_id};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return AwsError::validation(fmt::format("Invalid ARN: '{}'", text));
    }
    const auto part = rest.substr(0, colon);
    if (i == 0 && part != "arn")
      return AwsError::validation(fmt::format("Invalid ARN: '{}'", text));
    if (i > 0) *fields[i] = std::string(part);
    rest.remove_prefix(colon + 1);
  }
  if (arn.partition.empty() || arn.service.empty() || rest.empty()) {
    return AwsError::validation(fmt::format("Invalid ARN: '{}'", text));
  }
  arn.resource = std::string(rest);
  return arn;
}

}  // namespace nimbus::aws
