#include "nimbus/services/dynamodb/internal/attribute_value.h"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/services/dynamodb/internal/number.h"

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

constexpr int kMaxDepth = 32;

constexpr std::array<std::pair<std::string_view, ValueType>, 10> kTypeNames = {{
    {"S", ValueType::kS},
    {"N", ValueType::kN},
    {"B", ValueType::kB},
    {"BOOL", ValueType::kBool},
    {"NULL", ValueType::kNull},
    {"M", ValueType::kM},
    {"L", ValueType::kL},
    {"SS", ValueType::kSS},
    {"NS", ValueType::kNS},
    {"BS", ValueType::kBS},
}};

AwsError invalid(std::string_view message) {
  return AwsError::validation(
      fmt::format("One or more parameter values were invalid: {}", message));
}

AwsError wrong_json_type(std::string_view expected) {
  return AwsError::serialization(
      fmt::format("Unexpected value type in payload: expected {}", expected));
}

Result<std::string> wire_string(const json::value& value) {
  if (!value.is_string()) return wrong_json_type("a string");
  return std::string(value.get_string());
}

Result<std::string> wire_binary(const json::value& value) {
  if (!value.is_string()) return wrong_json_type("a base64 string");
  auto bytes = aws::base64_decode(value.get_string());
  if (!bytes) return AwsError::serialization("Invalid Base64 data in a B or BS attribute value");
  return std::move(*bytes);
}

Result<std::string> wire_number(const json::value& value) {
  if (!value.is_string()) return wrong_json_type("a number as a string");
  auto decimal = storage::parse_decimal(value.get_string());
  if (!decimal) return decimal.error();
  return decimal->to_string();
}

// "[a, b]" as DynamoDB lists a set's members in messages.
std::string list_members(const std::vector<std::string>& members) {
  return fmt::format("[{}]", fmt::join(members, ", "));
}

Result<AttributeValue> parse(const json::value& wire, int depth);

Result<std::vector<std::string>> parse_set(const json::value& wire, ValueType type) {
  if (!wire.is_array()) return wrong_json_type("an array");
  const auto& array = wire.get_array();
  if (array.empty()) {
    switch (type) {
      case ValueType::kSS:
        return invalid("An string set  may not be empty");
      case ValueType::kNS:
        return invalid("An number set  may not be empty");
      default:
        return invalid("Binary sets should not be empty");
    }
  }
  std::vector<std::string> members;
  members.reserve(array.size());
  for (const auto& element : array) {
    auto member = type == ValueType::kSS   ? wire_string(element)
                  : type == ValueType::kNS ? wire_number(element)
                                           : wire_binary(element);
    if (!member) return member.error();
    members.push_back(std::move(*member));
  }
  std::set<std::string_view> seen;
  for (const auto& member : members) {
    if (!seen.insert(member).second) {
      if (type == ValueType::kBS) {
        return invalid("Input collection of type BS contains duplicates.");
      }
      std::vector<std::string> shown;
      for (const auto& element : array) {
        shown.emplace_back(element.is_string() ? std::string(element.get_string()) : "");
      }
      return invalid(fmt::format("Input collection {} contains duplicates.", list_members(shown)));
    }
  }
  return members;
}

Result<AttributeValue> parse(const json::value& wire, int depth) {
  if (depth > kMaxDepth) {
    return AwsError::validation("Nesting Levels have exceeded supported limits");
  }
  if (!wire.is_object() || wire.get_object().empty()) {
    return AwsError::validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  const auto& object = wire.get_object();
  const json::value* field = nullptr;
  ValueType type{};
  for (const auto& [name, type_value] : kTypeNames) {
    if (const auto* found = object.if_contains(name); found != nullptr && !found->is_null()) {
      if (field != nullptr) {
        return AwsError::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
            "the supported datatypes");
      }
      field = found;
      type = type_value;
    }
  }
  if (field == nullptr) {
    return AwsError::validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  AttributeValue out;
  out.type = type;
  switch (type) {
    case ValueType::kS: {
      auto text = wire_string(*field);
      if (!text) return text.error();
      out.scalar = std::move(*text);
      break;
    }
    case ValueType::kN: {
      auto number = wire_number(*field);
      if (!number) return number.error();
      out.scalar = std::move(*number);
      break;
    }
    case ValueType::kB: {
      auto bytes = wire_binary(*field);
      if (!bytes) return bytes.error();
      out.scalar = std::move(*bytes);
      break;
    }
    case ValueType::kBool:
      if (!field->is_bool()) return wrong_json_type("a boolean");
      out.boolean = field->get_bool();
      break;
    case ValueType::kNull:
      if (!field->is_bool()) return wrong_json_type("a boolean");
      if (!field->get_bool()) {
        return invalid("Null attribute value types must have the value of true");
      }
      break;
    case ValueType::kM: {
      if (!field->is_object()) return wrong_json_type("an object");
      for (const auto& [name, member] : field->get_object()) {
        auto value = parse(member, depth + 1);
        if (!value) return value.error();
        out.map.insert_or_assign(std::string(name), std::move(*value));
      }
      break;
    }
    case ValueType::kL: {
      if (!field->is_array()) return wrong_json_type("an array");
      out.list.reserve(field->get_array().size());
      for (const auto& element : field->get_array()) {
        auto value = parse(element, depth + 1);
        if (!value) return value.error();
        out.list.push_back(std::move(*value));
      }
      break;
    }
    case ValueType::kSS:
    case ValueType::kNS:
    case ValueType::kBS: {
      auto members = parse_set(*field, type);
      if (!members) return members.error();
      out.set = std::move(*members);
      break;
    }
  }
  return out;
}

std::size_t number_size(std::string_view canonical) {
  std::size_t digits = 0;
  for (char c : canonical) digits += c >= '0' && c <= '9' ? 1 : 0;
  // Leading and trailing zeros do not count: use the parsed digits.
  auto decimal = storage::parse_decimal(canonical);
  if (decimal) digits = decimal->digits.size();
  return (digits + 1) / 2 + 1;
}

}  // namespace

json::value parse_json(std::string_view text, boost::system::error_code& error) {
  json::parse_options options;
  options.max_depth = 128;
  return json::parse(text, error, {}, options);
}

std::string_view type_name(ValueType type) {
  for (const auto& [name, value] : kTypeNames) {
    if (value == type) return name;
  }
  return "NULL";
}

std::optional<ValueType> type_from_name(std::string_view name) {
  for (const auto& [text, value] : kTypeNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

AttributeValue AttributeValue::string(std::string text) {
  AttributeValue out;
  out.type = ValueType::kS;
  out.scalar = std::move(text);
  return out;
}

AttributeValue AttributeValue::number(const storage::Decimal& value) {
  AttributeValue out;
  out.type = ValueType::kN;
  out.scalar = value.to_string();
  return out;
}

AttributeValue AttributeValue::binary(std::string bytes) {
  AttributeValue out;
  out.type = ValueType::kB;
  out.scalar = std::move(bytes);
  return out;
}

AttributeValue AttributeValue::boolean_value(bool value) {
  AttributeValue out;
  out.type = ValueType::kBool;
  out.boolean = value;
  return out;
}

AttributeValue AttributeValue::null() { return AttributeValue{}; }

storage::Decimal AttributeValue::decimal() const {
  auto parsed = storage::parse_decimal(scalar);
  return parsed ? *parsed : storage::Decimal{};
}

Result<AttributeValue> parse_value(const json::value& wire) { return parse(wire, 1); }

Result<Item> parse_item(const json::value& wire) {
  if (!wire.is_object()) return wrong_json_type("an object");
  Item item;
  for (const auto& [name, member] : wire.get_object()) {
    auto value = parse(member, 1);
    if (!value) return value.error();
    item.insert_or_assign(std::string(name), std::move(*value));
  }
  return item;
}

json::value to_json(const AttributeValue& value) {
  json::object out;
  const std::string_view name = type_name(value.type);
  switch (value.type) {
    case ValueType::kS:
    case ValueType::kN:
      out[name] = value.scalar;
      break;
    case ValueType::kB:
      out[name] = aws::base64_encode(value.scalar);
      break;
    case ValueType::kBool:
      out[name] = value.boolean;
      break;
    case ValueType::kNull:
      out[name] = true;
      break;
    case ValueType::kM:
      out[name] = to_json(value.map);
      break;
    case ValueType::kL: {
      json::array list;
      list.reserve(value.list.size());
      for (const auto& element : value.list) list.push_back(to_json(element));
      out[name] = std::move(list);
      break;
    }
    case ValueType::kSS:
    case ValueType::kNS:
    case ValueType::kBS: {
      json::array members;
      members.reserve(value.set.size());
      for (const auto& member : value.set) {
        if (value.type == ValueType::kBS) {
          members.emplace_back(aws::base64_encode(member));
        } else {
          members.emplace_back(member);
        }
      }
      out[name] = std::move(members);
      break;
    }
  }
  return out;
}

json::object to_json(const Item& item) {
  json::object out;
  out.reserve(item.size());
  for (const auto& [name, value] : item) out[name] = to_json(value);
  return out;
}

bool equal(const AttributeValue& a, const AttributeValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ValueType::kS:
    case ValueType::kN:  // canonical text: equal numbers are equal text
    case ValueType::kB:
      return a.scalar == b.scalar;
    case ValueType::kBool:
      return a.boolean == b.boolean;
    case ValueType::kNull:
      return true;
    case ValueType::kM:
      if (a.map.size() != b.map.size()) return false;
      for (auto it = a.map.begin(), other = b.map.begin(); it != a.map.end(); ++it, ++other) {
        if (it->first != other->first || !equal(it->second, other->second)) return false;
      }
      return true;
    case ValueType::kL:
      if (a.list.size() != b.list.size()) return false;
      for (std::size_t i = 0; i < a.list.size(); ++i) {
        if (!equal(a.list[i], b.list[i])) return false;
      }
      return true;
    case ValueType::kSS:
    case ValueType::kNS:
    case ValueType::kBS: {
      if (a.set.size() != b.set.size()) return false;
      std::set<std::string_view> members(a.set.begin(), a.set.end());
      return std::all_of(b.set.begin(), b.set.end(),
                         [&](const std::string& member) { return members.contains(member); });
    }
  }
  return false;
}

std::optional<int> compare_scalars(const AttributeValue& a, const AttributeValue& b) {
  if (a.type != b.type) return std::nullopt;
  switch (a.type) {
    case ValueType::kS:
    case ValueType::kB: {
      // Unsigned bytes: std::string compares char_traits<char>, which is unsigned-correct.
      const int order = a.scalar.compare(b.scalar);
      return order < 0 ? -1 : (order > 0 ? 1 : 0);
    }
    case ValueType::kN:
      return compare(a.decimal(), b.decimal());
    default:
      return std::nullopt;
  }
}

std::size_t value_size(const AttributeValue& value) {
  switch (value.type) {
    case ValueType::kS:
    case ValueType::kB:
      return value.scalar.size();
    case ValueType::kN:
      return number_size(value.scalar);
    case ValueType::kBool:
    case ValueType::kNull:
      return 1;
    case ValueType::kSS:
    case ValueType::kBS: {
      std::size_t size = 0;
      for (const auto& member : value.set) size += member.size();
      return size;
    }
    case ValueType::kNS: {
      std::size_t size = 0;
      for (const auto& member : value.set) size += number_size(member);
      return size;
    }
    case ValueType::kL: {
      std::size_t size = 3;
      for (const auto& element : value.list) size += 1 + value_size(element);
      return size;
    }
    case ValueType::kM: {
      std::size_t size = 3;
      for (const auto& [name, member] : value.map) size += 1 + name.size() + value_size(member);
      return size;
    }
  }
  return 0;
}

std::size_t item_size(const Item& item) {
  std::size_t size = 0;
  for (const auto& [name, value] : item) size += name.size() + value_size(value);
  return size;
}

std::string describe(const AttributeValue& value) {
  switch (value.type) {
    case ValueType::kS:
    case ValueType::kN:
      return fmt::format("{{{}:{}}}", type_name(value.type), value.scalar);
    case ValueType::kB:
      return fmt::format("{{B:{}}}", aws::base64_encode(value.scalar));
    case ValueType::kBool:
      return fmt::format("{{BOOL:{}}}", value.boolean);
    case ValueType::kNull:
      return "{NULL:true}";
    case ValueType::kSS:
    case ValueType::kNS:
    case ValueType::kBS:
      return fmt::format("{{{}:{}}}", type_name(value.type), list_members(value.set));
    case ValueType::kL:
      return "{L:[...]}";
    case ValueType::kM:
      return "{M:{...}}";
  }
  return "{}";
}

}  // namespace nimbus::services::dynamodb
