#include "nimbus/services/apigateway/internal/rest_wire.h"

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "nimbus/services/apigateway/internal/model.h"
#include "nimbus/services/apigateway/internal/service_impl.h"

namespace nimbus::services::apigateway::internal {
namespace json = boost::json;

std::int64_t epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> string_member(const json::object& body, std::string_view key, bool required) {
  const auto* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) return bad_request(fmt::format("Invalid input: {} is required", key));
    return std::string();
  }
  if (!value->is_string())
    return bad_request(fmt::format("Invalid input: {} must be a string", key));
  return std::string(value->as_string());
}

void copy_members(json::object& into, const json::object& body,
                  std::initializer_list<std::string_view> keys) {
  for (const auto key : keys) {
    if (const auto* value = body.if_contains(key); value && !value->is_null()) into[key] = *value;
  }
}

Result<void> apply_patch(json::object& target, const json::object& body,
                         std::initializer_list<std::string_view> paths) {
  const auto* operations = body.if_contains("patchOperations");
  if (operations == nullptr) return ok();
  if (!operations->is_array()) return bad_request("Invalid input: patchOperations must be a list");
  for (const auto& item : operations->as_array()) {
    if (!item.is_object()) return bad_request("Invalid patch operation");
    const auto& operation = item.as_object();
    const auto op = text_member(operation, "op");
    const auto path = text_member(operation, "path");
    const auto slash = path.find('/', 1);
    const std::string head = path.substr(1, slash == std::string::npos ? slash : slash - 1);
    bool allowed = false;
    for (const auto known : paths) allowed = allowed || known == head;
    if (!path.starts_with('/') || !allowed) {
      return bad_request(fmt::format("Invalid patch path {}", path));
    }
    auto* parent = &target;
    std::string key = head;
    if (slash != std::string::npos) {
      auto& map = target[head];
      if (!map.is_object()) map = json::object();
      parent = &map.as_object();
      key = path.substr(slash + 1);
    }
    if (op == "replace" || op == "add") {
      const auto* value = operation.if_contains("value");
      if (value == nullptr || !value->is_string()) {
        return bad_request(fmt::format("Invalid patch operation: {} {} needs a value", op, path));
      }
      (*parent)[key] = *value;
    } else if (op == "remove") {
      parent->erase(key);
    } else {
      return bad_request(fmt::format("Invalid patch operation: {} is not supported", op));
    }
  }
  return ok();
}

std::string unescape_path_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment.substr(i).starts_with("~1")) {
      out += '/';
      ++i;
    } else {
      out += segment[i];
    }
  }
  return out;
}

Result<json::value> patch_limit(std::string_view path, std::string_view value, bool fractional) {
  const std::string text(value);
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || number < 0) {
    return bad_request(fmt::format("Invalid value for {}: {}", path, text));
  }
  if (fractional) return json::value(number);
  return json::value(static_cast<std::int64_t>(number));
}

}  // namespace nimbus::services::apigateway::internal
