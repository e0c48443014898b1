#include "nimbus/services/apigateway/internal/validation.h"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "nimbus/core/strings.h"

namespace nimbus::services::apigateway::internal {
namespace json = boost::json;
namespace {

enum class Kind { kString, kBoolean, kInteger, kDouble, kList, kMap, kStructure };
constexpr std::int64_t kNoBound = std::numeric_limits<std::int64_t>::min();

struct MemberSpec {
  std::string_view shape;
  std::string_view member;
  Kind kind;
  std::string_view enum_values;
  std::int64_t min;
  std::int64_t max;
  bool required;
  std::string_view nested;
};

constexpr MemberSpec kMembers[] = {
#include "nimbus/services/apigateway/internal/shapes.inc"
};

AwsError bad_request(std::string message) {
  return AwsError("BadRequestException", std::move(message), 400);
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string";
    case Kind::kBoolean:
      return "a boolean";
    case Kind::kInteger:
      return "an integer";
    case Kind::kDouble:
      return "a number";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
    case Kind::kStructure:
      return "an object";
  }
  return "a value";
}

Result<json::object> validate_shape(std::string_view shape, const json::object& body,
                                    std::string_view path);

// Checks one value of a nested structure (a list or map element, or the
// member itself).
Result<json::value> validate_nested(std::string_view nested, const json::value& value,
                                    std::string_view path) {
  if (!value.is_object())
    return bad_request(fmt::format("Invalid input: {} must be an object", path));
  auto checked = validate_shape(nested, value.as_object(), path);
  if (!checked) return checked.error();
  return json::value(std::move(*checked));
}

Result<json::value> validate_member(const MemberSpec& spec, const json::value& value,
                                    std::string_view path) {
  auto wrong = [&] {
    return bad_request(fmt::format("Invalid input: {} must be {}", path, kind_name(spec.kind)));
  };
  switch (spec.kind) {
    case Kind::kString: {
      if (!value.is_string()) return wrong();
      if (!spec.enum_values.empty()) {
        bool known = false;
        for (const auto option : split(spec.enum_values, '|')) {
          known = known || option == value.as_string();
        }
        if (!known) {
          return bad_request(fmt::format("Invalid input: {} '{}' is not one of [{}]", path,
                                         std::string_view(value.as_string()), spec.enum_values));
        }
      }
      return value;
    }
    case Kind::kBoolean:
      if (!value.is_bool()) return wrong();
      return value;
    case Kind::kInteger: {
      if (!value.is_int64() && !value.is_uint64()) return wrong();
      if (value.is_uint64() && value.as_uint64() > std::uint64_t(INT64_MAX)) return wrong();
      const auto number = value.to_number<std::int64_t>();
      if ((spec.min != kNoBound && number < spec.min) ||
          (spec.max != kNoBound && number > spec.max)) {
        return bad_request(
            fmt::format("Invalid input: {} must be between {} and {}", path, spec.min, spec.max));
      }
      return json::value(number);
    }
    case Kind::kDouble:
      if (!value.is_number()) return wrong();
      return value;
    case Kind::kList: {
      if (!value.is_array()) return wrong();
      json::array out;
      for (const auto& item : value.as_array()) {
        if (spec.nested.empty()) {
          if (!item.is_string()) {
            return bad_request(fmt::format("Invalid input: {} must be a list of strings", path));
          }
          out.push_back(item);
        } else {
          auto checked = validate_nested(spec.nested, item, path);
          if (!checked) return checked.error();
          out.push_back(std::move(*checked));
        }
      }
      return json::value(std::move(out));
    }
    case Kind::kMap: {
      if (!value.is_object()) return wrong();
      json::object out;
      for (const auto& [key, item] : value.as_object()) {
        const std::string item_path = fmt::format("{}.{}", path, std::string_view(key));
        if (spec.nested.empty()) {
          if (!item.is_string()) {
            return bad_request(fmt::format("Invalid input: {} must be a string", item_path));
          }
          out[key] = item;
        } else {
          auto checked = validate_nested(spec.nested, item, item_path);
          if (!checked) return checked.error();
          out[key] = std::move(*checked);
        }
      }
      return json::value(std::move(out));
    }
    case Kind::kStructure:
      return validate_nested(spec.nested, value, path);
  }
  return wrong();
}

Result<json::object> validate_shape(std::string_view shape, const json::object& body,
                                    std::string_view path) {
  json::object out;
  for (const auto& spec : kMembers) {
    if (spec.shape != shape) continue;
    const std::string member_path =
        path.empty() ? std::string(spec.member) : fmt::format("{}.{}", path, spec.member);
    const auto* value = body.if_contains(spec.member);
    if (value == nullptr || value->is_null()) {
      if (spec.required) {
        return bad_request(fmt::format("Invalid input: {} is required", member_path));
      }
      continue;
    }
    auto checked = validate_member(spec, *value, member_path);
    if (!checked) return checked.error();
    out[spec.member] = std::move(*checked);
  }
  return out;
}

}  // namespace

Result<json::object> validate_body(std::string_view input_shape, const json::object& body) {
  return validate_shape(input_shape, body, "");
}

}  // namespace nimbus::services::apigateway::internal
