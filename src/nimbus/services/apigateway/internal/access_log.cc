#include "nimbus/services/apigateway/internal/access_log.h"

#include <cctype>

namespace nimbus::services::apigateway::internal {

std::optional<AccessLogTarget> access_log_target(const boost::json::object& stage) {
  const auto* settings = stage.if_contains("accessLogSettings");
  if (settings == nullptr || !settings->is_object()) return std::nullopt;
  const auto* arn = settings->as_object().if_contains("destinationArn");
  const auto* format = settings->as_object().if_contains("format");
  if (arn == nullptr || !arn->is_string() || format == nullptr || !format->is_string() ||
      format->as_string().empty()) {
    return std::nullopt;
  }
  std::string_view text = arn->as_string();
  constexpr std::string_view kMarker = ":log-group:";
  if (!text.starts_with("arn:") || text.find(":logs:") == std::string_view::npos) {
    return std::nullopt;  // Kinesis Data Firehose is not served
  }
  const auto at = text.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view group = text.substr(at + kMarker.size());
  if (group.ends_with(":*")) group.remove_suffix(2);
  if (group.empty()) return std::nullopt;
  return AccessLogTarget{std::string(group), std::string(format->as_string())};
}

std::string render_access_log(
    std::string_view format,
    const std::function<std::optional<std::string>(std::string_view name)>& lookup) {
  constexpr std::string_view kPrefix = "$context.";
  std::string out;
  out.reserve(format.size() + 64);
  std::size_t i = 0;
  while (i < format.size()) {
    if (!format.substr(i).starts_with(kPrefix)) {
      out.push_back(format[i++]);
      continue;
    }
    std::size_t end = i + kPrefix.size();
    while (end < format.size() &&
           (std::isalnum(static_cast<unsigned char>(format[end])) || format[end] == '_' ||
            format[end] == '.' || format[end] == '-')) {
      ++end;
    }
    // A sentence's full stop is not part of the name.
    while (end > i + kPrefix.size() && format[end - 1] == '.') --end;
    const std::string_view name = format.substr(i + kPrefix.size(), end - i - kPrefix.size());
    if (name.empty()) {
      out += kPrefix;
      i += kPrefix.size();
      continue;
    }
    auto value = lookup(name);
    out += value && !value->empty() ? *value : "-";
    i = end;
  }
  return out;
}

}  // namespace nimbus::services::apigateway::internal
