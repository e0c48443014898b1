#pragma once

// Access logs: a stage's accessLogSettings compiled once, and one line per
// request rendered from its format's $context variables.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace nimbus::services::apigateway::internal {

struct AccessLogTarget {
  std::string group;   // the CloudWatch Logs group named by destinationArn
  std::string format;  // with $context variables
};

// From a stage's accessLogSettings; nullopt unless it names a CloudWatch
// Logs group (arn:aws:logs:<region>:<account>:log-group:<name>[:*]) and a format.
std::optional<AccessLogTarget> access_log_target(const boost::json::object& stage);

// Replaces each $context.<name> with lookup(name), or "-" when it has no value.
std::string render_access_log(
    std::string_view format,
    const std::function<std::optional<std::string>(std::string_view name)>& lookup);

}  // namespace nimbus::services::apigateway::internal
