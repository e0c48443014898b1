#include "nimbus/services/dynamodb/internal/request_expressions.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

const json::value* present(const json::object& in, std::string_view name) {
  const auto* value = in.if_contains(name);
  return value == nullptr || value->is_null() ? nullptr : value;
}

AwsError invalid(std::string_view message) {
  return AwsError::validation(
      fmt::format("One or more parameter values were invalid: {}", message));
}

Operand path_operand(const std::string& name) {
  Operand out;
  out.kind = Operand::Kind::kPath;
  out.path.elements.push_back({name, std::nullopt});
  return out;
}

Operand value_operand(AttributeValue value) {
  Operand out;
  out.kind = Operand::Kind::kValue;
  out.value = std::move(value);
  return out;
}

Condition both(Condition left, Condition right, bool any) {
  Condition out;
  out.kind = any ? Condition::Kind::kOr : Condition::Kind::kAnd;
  out.children.push_back(std::move(left));
  out.children.push_back(std::move(right));
  return out;
}

// One legacy condition: ComparisonOperator with AttributeValueList.
Result<Condition> comparison(const std::string& attribute, const std::string& op,
                             const std::vector<AttributeValue>& values) {
  auto count = [&](std::size_t wanted) -> Result<void> {
    if (values.size() != wanted) {
      return invalid(
          fmt::format("Invalid number of argument(s) for the {} ComparisonOperator", op));
    }
    return ok();
  };
  auto scalar = [&](const AttributeValue& value, bool allow_sets) -> Result<void> {
    if (value.is_scalar_key_type() || (allow_sets && value.is_set())) return ok();
    return invalid(fmt::format("ComparisonOperator {} is not valid for {} AttributeValue type", op,
                               type_name(value.type)));
  };
  Condition out;
  out.operands.push_back(path_operand(attribute));
  if (op == "EQ" || op == "NE" || op == "LE" || op == "LT" || op == "GE" || op == "GT") {
    if (auto checked = count(1); !checked) return checked.error();
    if (op != "EQ" && op != "NE") {
      if (auto checked = scalar(values[0], false); !checked) return checked.error();
    }
    out.kind = Condition::Kind::kCompare;
    out.op = op == "EQ"   ? "="
             : op == "NE" ? "<>"
             : op == "LE" ? "<="
             : op == "LT" ? "<"
             : op == "GE" ? ">="
                          : ">";
    out.operands.push_back(value_operand(values[0]));
    return out;
  }
  if (op == "NOT_NULL" || op == "NULL") {
    if (auto checked = count(0); !checked) return checked.error();
    out.kind =
        op == "NULL" ? Condition::Kind::kAttributeNotExists : Condition::Kind::kAttributeExists;
    return out;
  }
  if (op == "CONTAINS" || op == "NOT_CONTAINS" || op == "BEGINS_WITH") {
    if (auto checked = count(1); !checked) return checked.error();
    if (auto checked = scalar(values[0], false); !checked) return checked.error();
    out.kind = op == "BEGINS_WITH" ? Condition::Kind::kBeginsWith : Condition::Kind::kContains;
    if (op == "BEGINS_WITH" && values[0].type == ValueType::kN) {
      return invalid("ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type");
    }
    out.operands.push_back(value_operand(values[0]));
    if (op == "NOT_CONTAINS") {
      Condition exists;
      exists.kind = Condition::Kind::kAttributeExists;
      exists.operands.push_back(path_operand(attribute));
      Condition negated;
      negated.kind = Condition::Kind::kNot;
      negated.children.push_back(std::move(out));
      return both(std::move(exists), std::move(negated), false);
    }
    return out;
  }
  if (op == "IN") {
    if (values.empty()) return count(1).error();
    out.kind = Condition::Kind::kIn;
    for (const auto& value : values) {
      if (auto checked = scalar(value, false); !checked) return checked.error();
      if (value.type != values[0].type) {
        return invalid("AttributeValues inside AttributeValueList must be of same type");
      }
      out.operands.push_back(value_operand(value));
    }
    return out;
  }
  if (op == "BETWEEN") {
    if (auto checked = count(2); !checked) return checked.error();
    for (const auto& value : values) {
      if (auto checked = scalar(value, false); !checked) return checked.error();
    }
    if (values[0].type != values[1].type) {
      return invalid("AttributeValues inside AttributeValueList must be of same type");
    }
    if (compare_scalars(values[0], values[1]).value_or(0) > 0) {
      return AwsError::validation(
          "The BETWEEN condition was provided a range where the lower bound is greater than the "
          "upper bound");
    }
    out.kind = Condition::Kind::kBetween;
    out.operands.push_back(value_operand(values[0]));
    out.operands.push_back(value_operand(values[1]));
    return out;
  }
  return AwsError::validation(fmt::format(
      "1 validation error detected: Value '{}' at 'comparisonOperator' failed to satisfy "
      "constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, "
      "GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]",
      op));
}

Result<std::vector<AttributeValue>> value_list(const json::object& condition) {
  std::vector<AttributeValue> out;
  const auto* list = present(condition, "AttributeValueList");
  if (list == nullptr) return out;
  if (!list->is_array()) return AwsError::serialization("AttributeValueList must be a list");
  for (const auto& wire : list->get_array()) {
    auto value = parse_value(wire);
    if (!value) return value.error();
    out.push_back(std::move(*value));
  }
  return out;
}

Result<std::optional<Condition>> join(std::vector<Condition> conditions, bool any) {
  if (conditions.empty()) return std::optional<Condition>();
  Condition joined = std::move(conditions[0]);
  for (std::size_t i = 1; i < conditions.size(); ++i) {
    joined = both(std::move(joined), std::move(conditions[i]), any);
  }
  return std::optional<Condition>(std::move(joined));
}

Result<bool> conditional_or(const json::object& in) {
  const auto* op = present(in, "ConditionalOperator");
  if (op == nullptr) return false;
  if (!op->is_string() || (op->get_string() != "AND" && op->get_string() != "OR")) {
    return AwsError::validation(
        "1 validation error detected: Value at 'conditionalOperator' failed to satisfy "
        "constraint: Member must satisfy enum value set: [AND, OR]");
  }
  return op->get_string() == "OR";
}

// Expected: per attribute, Value/Exists or ComparisonOperator/AttributeValueList.
Result<std::optional<Condition>> expected(const json::value& wire, bool any) {
  if (!wire.is_object()) return AwsError::serialization("Expected must be a map");
  std::vector<Condition> conditions;
  for (const auto& [key, spec_value] : wire.get_object()) {
    const std::string attribute(key);
    if (!spec_value.is_object()) return AwsError::serialization("Expected values must be maps");
    const auto& spec = spec_value.get_object();
    const auto* op = present(spec, "ComparisonOperator");
    const auto* value_wire = present(spec, "Value");
    const auto* exists = present(spec, "Exists");
    const auto* list = present(spec, "AttributeValueList");
    if (op != nullptr) {
      if (exists != nullptr) {
        return invalid(fmt::format(
            "Exists and ComparisonOperator cannot be used together for Attribute: {}", attribute));
      }
      if (value_wire != nullptr && list != nullptr) {
        return invalid(fmt::format(
            "Value and AttributeValueList cannot be used together for Attribute: {}", attribute));
      }
      if (!op->is_string()) return AwsError::serialization("ComparisonOperator must be a string");
      std::vector<AttributeValue> values;
      if (value_wire != nullptr) {
        auto value = parse_value(*value_wire);
        if (!value) return value.error();
        values.push_back(std::move(*value));
      } else {
        auto parsed = value_list(spec);
        if (!parsed) return parsed.error();
        values = std::move(*parsed);
      }
      auto condition = comparison(attribute, std::string(op->get_string()), values);
      if (!condition) return condition.error();
      conditions.push_back(std::move(*condition));
      continue;
    }
    if (list != nullptr) {
      return invalid(fmt::format(
          "AttributeValueList can only be used with a ComparisonOperator for Attribute: {}",
          attribute));
    }
    const bool must_exist = exists == nullptr || (exists->is_bool() && exists->get_bool());
    if (!must_exist) {
      if (value_wire != nullptr) {
        return invalid(
            fmt::format("Value cannot be used when Exists is false for Attribute: {}", attribute));
      }
      Condition condition;
      condition.kind = Condition::Kind::kAttributeNotExists;
      condition.operands.push_back(path_operand(attribute));
      conditions.push_back(std::move(condition));
      continue;
    }
    if (value_wire == nullptr) {
      return invalid(
          fmt::format("Value must be provided when Exists is true for Attribute: {}", attribute));
    }
    auto value = parse_value(*value_wire);
    if (!value) return value.error();
    Condition condition;
    condition.kind = Condition::Kind::kCompare;
    condition.op = "=";
    condition.operands = {path_operand(attribute), value_operand(std::move(*value))};
    conditions.push_back(std::move(condition));
  }
  return join(std::move(conditions), any);
}

// QueryFilter, ScanFilter, KeyConditions: per attribute, ComparisonOperator
// and AttributeValueList.
Result<std::optional<Condition>> filter_map(const json::value& wire, bool any) {
  if (!wire.is_object()) return AwsError::serialization("A condition map must be a map");
  std::vector<Condition> conditions;
  for (const auto& [key, spec_value] : wire.get_object()) {
    if (!spec_value.is_object()) return AwsError::serialization("A condition must be a map");
    const auto& spec = spec_value.get_object();
    const auto* op = present(spec, "ComparisonOperator");
    if (op == nullptr || !op->is_string()) {
      return AwsError::validation(
          "1 validation error detected: Value null at 'comparisonOperator' failed to satisfy "
          "constraint: Member must not be null");
    }
    auto values = value_list(spec);
    if (!values) return values.error();
    auto condition = comparison(std::string(key), std::string(op->get_string()), *values);
    if (!condition) return condition.error();
    conditions.push_back(std::move(*condition));
  }
  return join(std::move(conditions), any);
}

Result<std::vector<Path>> attributes_to_get(const json::value& wire) {
  if (!wire.is_array()) return AwsError::serialization("AttributesToGet must be a list");
  std::vector<Path> out;
  std::set<std::string> seen;
  for (const auto& name : wire.get_array()) {
    if (!name.is_string()) return AwsError::serialization("AttributesToGet must hold strings");
    const std::string text(name.get_string());
    if (!seen.insert(text).second) {
      return invalid(fmt::format("Duplicate value in attribute name: {}", text));
    }
    Path path;
    path.elements.push_back({text, std::nullopt});
    out.push_back(std::move(path));
  }
  return out;
}

Result<std::vector<UpdateAction>> attribute_updates(const json::value& wire) {
  if (!wire.is_object()) return AwsError::serialization("AttributeUpdates must be a map");
  std::vector<UpdateAction> actions;
  for (const auto& [key, spec_value] : wire.get_object()) {
    if (!spec_value.is_object()) return AwsError::serialization("An update must be a map");
    const auto& spec = spec_value.get_object();
    const std::string attribute(key);
    std::string action = "PUT";
    if (const auto* given = present(spec, "Action")) {
      if (!given->is_string()) return AwsError::serialization("Action must be a string");
      action = std::string(given->get_string());
    }
    std::optional<AttributeValue> value;
    if (const auto* value_wire = present(spec, "Value")) {
      auto parsed = parse_value(*value_wire);
      if (!parsed) return parsed.error();
      value = std::move(*parsed);
    }
    UpdateAction out;
    out.path.elements.push_back({attribute, std::nullopt});
    if (action == "PUT") {
      if (!value) {
        return invalid(fmt::format(
            "Only DELETE action is allowed when no attribute value is specified: {}", attribute));
      }
      out.kind = UpdateAction::Kind::kSet;
      out.value = value_operand(std::move(*value));
    } else if (action == "DELETE") {
      if (!value) {
        out.kind = UpdateAction::Kind::kRemove;
      } else {
        if (!value->is_set()) {
          return invalid(fmt::format("DELETE action with value is not supported for the type {}",
                                     type_name(value->type)));
        }
        out.kind = UpdateAction::Kind::kDelete;
        out.value = value_operand(std::move(*value));
      }
    } else if (action == "ADD") {
      if (!value) {
        return invalid(fmt::format(
            "Only DELETE action is allowed when no attribute value is specified: {}", attribute));
      }
      if (value->type == ValueType::kL) {
        // Legacy ADD appends to a list, creating it if missing.
        AttributeValue empty;
        empty.type = ValueType::kL;
        Operand existing;
        existing.kind = Operand::Kind::kIfNotExists;
        existing.path = out.path;
        existing.args.push_back(value_operand(std::move(empty)));
        out.kind = UpdateAction::Kind::kSet;
        out.value.kind = Operand::Kind::kListAppend;
        out.value.args.push_back(std::move(existing));
        out.value.args.push_back(value_operand(std::move(*value)));
      } else if (value->type == ValueType::kN || value->is_set()) {
        out.kind = UpdateAction::Kind::kAdd;
        out.value = value_operand(std::move(*value));
      } else {
        return invalid(
            fmt::format("ADD action is not supported for the type {}", type_name(value->type)));
      }
    } else {
      return AwsError::validation(fmt::format(
          "1 validation error detected: Value '{}' at 'attributeUpdates.{}.member.action' failed "
          "to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]",
          action, attribute));
    }
    actions.push_back(std::move(out));
  }
  return actions;
}

}  // namespace

Result<RequestExpressions> parse_request_expressions(const json::object& in,
                                                     const ExpressionParameters& parameters,
                                                     std::string_view filter_legacy_name) {
  struct Pair {
    bool wanted;
    std::string_view expression;
    std::string_view legacy;
  };
  const Pair pairs[] = {
      {parameters.condition, "ConditionExpression", "Expected"},
      {parameters.filter, "FilterExpression", filter_legacy_name},
      {parameters.key_condition, "KeyConditionExpression", "KeyConditions"},
      {parameters.projection, "ProjectionExpression", "AttributesToGet"},
      {parameters.update, "UpdateExpression", "AttributeUpdates"},
  };
  std::vector<std::string_view> expressions;
  std::vector<std::string_view> legacy;
  for (const Pair& pair : pairs) {
    if (!pair.wanted) continue;
    if (present(in, pair.expression) != nullptr) expressions.push_back(pair.expression);
    if (!pair.legacy.empty() && present(in, pair.legacy) != nullptr) legacy.push_back(pair.legacy);
  }
  if ((parameters.condition || parameters.filter) &&
      present(in, "ConditionalOperator") != nullptr) {
    legacy.push_back("ConditionalOperator");
  }
  if (!expressions.empty() && !legacy.empty()) {
    return AwsError::validation(fmt::format(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        fmt::join(legacy, ", "), fmt::join(expressions, ", ")));
  }
  const auto* names = present(in, "ExpressionAttributeNames");
  const auto* values = present(in, "ExpressionAttributeValues");
  if (expressions.empty()) {
    if (names != nullptr) {
      return AwsError::validation(
          "ExpressionAttributeNames can only be specified when using expressions");
    }
    if (values != nullptr) {
      std::vector<std::string_view> value_users;
      for (const Pair& pair : pairs) {
        if (pair.wanted && pair.expression != "ProjectionExpression") {
          value_users.push_back(pair.expression);
        }
      }
      return AwsError::validation(fmt::format(
          "ExpressionAttributeValues can only be specified when using expressions: {} {} null",
          fmt::join(value_users, " and "), value_users.size() == 1 ? "is" : "are"));
    }
  }

  RequestExpressions out;
  if (!legacy.empty()) {
    auto any = conditional_or(in);
    if (!any) return any.error();
    if (parameters.condition) {
      if (const auto* wire = present(in, "Expected")) {
        auto condition = expected(*wire, *any);
        if (!condition) return condition.error();
        out.condition = std::move(*condition);
      }
    }
    if (parameters.filter) {
      if (const auto* wire = present(in, filter_legacy_name)) {
        auto condition = filter_map(*wire, *any);
        if (!condition) return condition.error();
        out.filter = std::move(*condition);
      }
    }
    if (parameters.key_condition) {
      if (const auto* wire = present(in, "KeyConditions")) {
        auto condition = filter_map(*wire, false);
        if (!condition) return condition.error();
        out.key_condition = std::move(*condition);
      }
    }
    if (parameters.projection) {
      if (const auto* wire = present(in, "AttributesToGet")) {
        auto paths = attributes_to_get(*wire);
        if (!paths) return paths.error();
        out.projection = std::move(*paths);
      }
    }
    if (parameters.update) {
      if (const auto* wire = present(in, "AttributeUpdates")) {
        auto actions = attribute_updates(*wire);
        if (!actions) return actions.error();
        out.update = std::move(*actions);
      }
    }
    return out;
  }

  auto attributes = ExpressionAttributes::make(names, values);
  if (!attributes) return attributes.error();
  auto text = [&](std::string_view name) -> Result<std::optional<std::string>> {
    const auto* value = present(in, name);
    if (value == nullptr) return std::optional<std::string>();
    if (!value->is_string()) {
      return AwsError::serialization(fmt::format("{} must be a string", name));
    }
    return std::optional<std::string>(std::string(value->get_string()));
  };
  // Parsed in DynamoDB's order, so the first error reported is DynamoDB's.
  if (parameters.update) {
    auto source = text("UpdateExpression");
    if (!source) return source.error();
    if (*source) {
      auto actions = parse_update(**source, *attributes);
      if (!actions) return actions.error();
      out.update = std::move(*actions);
    }
  }
  const std::pair<std::string_view, std::optional<Condition>*> conditions[] = {
      {"ConditionExpression", parameters.condition ? &out.condition : nullptr},
      {"KeyConditionExpression", parameters.key_condition ? &out.key_condition : nullptr},
      {"FilterExpression", parameters.filter ? &out.filter : nullptr},
  };
  for (const auto& [name, target] : conditions) {
    if (target == nullptr) continue;
    auto source = text(name);
    if (!source) return source.error();
    if (!*source) continue;
    auto condition = parse_condition(**source, name, *attributes);
    if (!condition) return condition.error();
    *target = std::move(*condition);
  }
  if (parameters.projection) {
    auto source = text("ProjectionExpression");
    if (!source) return source.error();
    if (*source) {
      auto paths = parse_projection(**source, *attributes);
      if (!paths) return paths.error();
      out.projection = std::move(*paths);
    }
  }
  if (auto used = attributes->check_all_used(); !used) return used.error();
  return out;
}

Result<std::optional<std::vector<Path>>> parse_projection_parameters(const json::object& in) {
  ExpressionParameters parameters;
  parameters.projection = true;
  auto parsed = parse_request_expressions(in, parameters);
  if (!parsed) return parsed.error();
  return std::move(parsed->projection);
}

}  // namespace nimbus::services::dynamodb
