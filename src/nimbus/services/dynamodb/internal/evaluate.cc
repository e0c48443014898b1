#include "nimbus/services/dynamodb/internal/evaluate.h"

#include <algorithm>
#include <map>
#include <set>

#include "nimbus/services/dynamodb/internal/number.h"

namespace nimbus::services::dynamodb {
namespace {

AwsError missing_attribute() {
  return AwsError::validation(
      "The provided expression refers to an attribute that does not exist in the item");
}
AwsError wrong_type() {
  return AwsError::validation("An operand in the update expression has an incorrect data type");
}
AwsError invalid_path() {
  return AwsError::validation(
      "The document path provided in the update expression is invalid for update");
}

const AttributeValue* step(const AttributeValue& value, const PathElement& element) {
  if (element.index) {
    if (value.type != ValueType::kL || *element.index >= value.list.size()) return nullptr;
    return &value.list[*element.index];
  }
  if (value.type != ValueType::kM) return nullptr;
  const auto it = value.map.find(element.name);
  return it == value.map.end() ? nullptr : &it->second;
}

std::optional<AttributeValue> size_of(const AttributeValue& value) {
  std::size_t size = 0;
  switch (value.type) {
    case ValueType::kS:
    case ValueType::kB:
      size = value.scalar.size();
      break;
    case ValueType::kSS:
    case ValueType::kNS:
    case ValueType::kBS:
      size = value.set.size();
      break;
    case ValueType::kL:
      size = value.list.size();
      break;
    case ValueType::kM:
      size = value.map.size();
      break;
    default:
      return std::nullopt;
  }
  auto decimal = storage::parse_decimal(std::to_string(size));
  return AttributeValue::number(*decimal);
}

// An operand of a condition: its value, if it has one.
std::optional<AttributeValue> operand_value(const Operand& operand, const Item& item) {
  switch (operand.kind) {
    case Operand::Kind::kValue:
      return operand.value;
    case Operand::Kind::kPath: {
      const AttributeValue* found = resolve(item, operand.path);
      if (found == nullptr) return std::nullopt;
      return *found;
    }
    case Operand::Kind::kSize: {
      const AttributeValue* found = resolve(item, operand.path);
      if (found == nullptr) return std::nullopt;
      return size_of(*found);
    }
    default:
      return std::nullopt;
  }
}

bool compare_with(const std::string& op, const AttributeValue& a, const AttributeValue& b) {
  if (op == "=") return equal(a, b);
  if (op == "<>") return !equal(a, b);
  const auto order = compare_scalars(a, b);
  if (!order) return false;
  if (op == "<") return *order < 0;
  if (op == "<=") return *order <= 0;
  if (op == ">") return *order > 0;
  return *order >= 0;  // ">="
}

bool contains(const AttributeValue& haystack, const AttributeValue& needle) {
  switch (haystack.type) {
    case ValueType::kS:
      return needle.type == ValueType::kS &&
             haystack.scalar.find(needle.scalar) != std::string::npos;
    case ValueType::kB:
      return needle.type == ValueType::kB &&
             haystack.scalar.find(needle.scalar) != std::string::npos;
    case ValueType::kSS:
    case ValueType::kNS:
    case ValueType::kBS: {
      const ValueType member = haystack.type == ValueType::kSS   ? ValueType::kS
                               : haystack.type == ValueType::kNS ? ValueType::kN
                                                                 : ValueType::kB;
      return needle.type == member && std::find(haystack.set.begin(), haystack.set.end(),
                                                needle.scalar) != haystack.set.end();
    }
    case ValueType::kL:
      return std::any_of(haystack.list.begin(), haystack.list.end(),
                         [&](const AttributeValue& element) { return equal(element, needle); });
    default:
      return false;
  }
}

// ---- Updates ----------------------------------------------------------------

Result<AttributeValue> update_value(const Operand& operand, const Item& original) {
  switch (operand.kind) {
    case Operand::Kind::kValue:
      return operand.value;
    case Operand::Kind::kPath: {
      const AttributeValue* found = resolve(original, operand.path);
      if (found == nullptr) return missing_attribute();
      return *found;
    }
    case Operand::Kind::kIfNotExists: {
      const AttributeValue* found = resolve(original, operand.path);
      if (found != nullptr) return *found;
      return update_value(operand.args.front(), original);
    }
    case Operand::Kind::kListAppend: {
      auto first = update_value(operand.args[0], original);
      if (!first) return first;
      auto second = update_value(operand.args[1], original);
      if (!second) return second;
      if (first->type != ValueType::kL || second->type != ValueType::kL) return wrong_type();
      for (auto& element : second->list) first->list.push_back(std::move(element));
      return first;
    }
    case Operand::Kind::kPlus:
    case Operand::Kind::kMinus: {
      auto first = update_value(operand.args[0], original);
      if (!first) return first;
      auto second = update_value(operand.args[1], original);
      if (!second) return second;
      if (first->type != ValueType::kN || second->type != ValueType::kN) return wrong_type();
      auto result = operand.kind == Operand::Kind::kPlus
                        ? add(first->decimal(), second->decimal())
                        : subtract(first->decimal(), second->decimal());
      if (!result) return result.error();
      return AttributeValue::number(*result);
    }
    case Operand::Kind::kSize:
      return wrong_type();
  }
  return wrong_type();
}

// The value that holds the last element of `path`, or null if a step of the
// way is missing; an error if a step has the wrong type.
Result<AttributeValue*> parent_of(Item& item, const Path& path, bool* top_level) {
  *top_level = path.elements.size() == 1;
  if (*top_level) return static_cast<AttributeValue*>(nullptr);
  const auto root = item.find(path.elements.front().name);
  if (root == item.end()) return static_cast<AttributeValue*>(nullptr);
  AttributeValue* current = &root->second;
  for (std::size_t i = 1; i + 1 < path.elements.size(); ++i) {
    const PathElement& element = path.elements[i];
    if (element.index) {
      if (current->type != ValueType::kL) return invalid_path();
      if (*element.index >= current->list.size()) return static_cast<AttributeValue*>(nullptr);
      current = &current->list[*element.index];
    } else {
      if (current->type != ValueType::kM) return invalid_path();
      const auto it = current->map.find(element.name);
      if (it == current->map.end()) return static_cast<AttributeValue*>(nullptr);
      current = &it->second;
    }
  }
  return current;
}

Result<void> assign(Item& item, const Path& path, AttributeValue value) {
  bool top_level = false;
  auto parent = parent_of(item, path, &top_level);
  if (!parent) return parent.error();
  if (top_level) {
    item.insert_or_assign(path.elements.front().name, std::move(value));
    return ok();
  }
  if (*parent == nullptr) return invalid_path();
  const PathElement& last = path.elements.back();
  AttributeValue& holder = **parent;
  if (last.index) {
    if (holder.type != ValueType::kL) return invalid_path();
    if (*last.index < holder.list.size()) {
      holder.list[*last.index] = std::move(value);
    } else {
      holder.list.push_back(std::move(value));
    }
    return ok();
  }
  if (holder.type != ValueType::kM) return invalid_path();
  holder.map.insert_or_assign(last.name, std::move(value));
  return ok();
}

Result<void> remove(Item& item, const Path& path) {
  bool top_level = false;
  auto parent = parent_of(item, path, &top_level);
  if (!parent) return parent.error();
  if (top_level) {
    item.erase(path.elements.front().name);
    return ok();
  }
  if (*parent == nullptr) return ok();
  const PathElement& last = path.elements.back();
  AttributeValue& holder = **parent;
  if (last.index) {
    if (holder.type != ValueType::kL) return invalid_path();
    if (*last.index < holder.list.size()) {
      holder.list.erase(holder.list.begin() + static_cast<std::ptrdiff_t>(*last.index));
    }
    return ok();
  }
  if (holder.type != ValueType::kM) return invalid_path();
  holder.map.erase(last.name);
  return ok();
}

// Removals of list elements run from the highest index down, so each index
// means the element it named in the item before the update.
bool remove_order(const UpdateAction& a, const UpdateAction& b) {
  const auto& x = a.path.elements;
  const auto& y = b.path.elements;
  for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    if (x[i] == y[i]) continue;
    if (x[i].index && y[i].index) return *x[i].index > *y[i].index;
    return x[i].name < y[i].name;
  }
  return x.size() > y.size();
}

Result<AttributeValue> add_to(const AttributeValue* existing, const AttributeValue& operand) {
  if (existing == nullptr) return operand;
  if (operand.type == ValueType::kN) {
    if (existing->type != ValueType::kN) return wrong_type();
    auto sum = add(existing->decimal(), operand.decimal());
    if (!sum) return sum.error();
    return AttributeValue::number(*sum);
  }
  if (existing->type != operand.type) return wrong_type();
  AttributeValue out = *existing;
  for (const auto& member : operand.set) {
    if (std::find(out.set.begin(), out.set.end(), member) == out.set.end()) {
      out.set.push_back(member);
    }
  }
  return out;
}

// ---- Projection ---------------------------------------------------------------

struct ProjectionNode {
  std::map<std::string, ProjectionNode> names;
  std::map<std::size_t, ProjectionNode> indexes;
  const AttributeValue* whole = nullptr;  // the path ends here: take all of it
};

void add_path(ProjectionNode& node, const AttributeValue& value, const Path& path, std::size_t at) {
  if (at == path.elements.size()) {
    node.whole = &value;
    return;
  }
  const AttributeValue* next = step(value, path.elements[at]);
  if (next == nullptr) return;
  ProjectionNode& child = path.elements[at].index ? node.indexes[*path.elements[at].index]
                                                  : node.names[path.elements[at].name];
  add_path(child, *next, path, at + 1);
}

std::optional<AttributeValue> materialise(const ProjectionNode& node, ValueType container) {
  if (node.whole != nullptr) return *node.whole;
  AttributeValue out;
  out.type = container;
  if (container == ValueType::kL) {
    for (const auto& [index, child] : node.indexes) {
      (void)index;
      auto value = materialise(child, child.indexes.empty() ? ValueType::kM : ValueType::kL);
      if (value) out.list.push_back(std::move(*value));
    }
    if (out.list.empty()) return std::nullopt;
  } else {
    for (const auto& [name, child] : node.names) {
      auto value = materialise(child, child.indexes.empty() ? ValueType::kM : ValueType::kL);
      if (value) out.map.emplace(name, std::move(*value));
    }
    if (out.map.empty()) return std::nullopt;
  }
  return out;
}

}  // namespace

const AttributeValue* resolve(const Item& item, const Path& path) {
  const auto root = item.find(path.elements.front().name);
  if (root == item.end() || path.elements.front().index) return nullptr;
  const AttributeValue* current = &root->second;
  for (std::size_t i = 1; i < path.elements.size() && current != nullptr; ++i) {
    current = step(*current, path.elements[i]);
  }
  return current;
}

bool evaluate(const Condition& condition, const Item& item) {
  using Kind = Condition::Kind;
  switch (condition.kind) {
    case Kind::kAnd:
      return evaluate(condition.children[0], item) && evaluate(condition.children[1], item);
    case Kind::kOr:
      return evaluate(condition.children[0], item) || evaluate(condition.children[1], item);
    case Kind::kNot:
      return !evaluate(condition.children[0], item);
    case Kind::kAttributeExists:
      return resolve(item, condition.operands[0].path) != nullptr;
    case Kind::kAttributeNotExists:
      return resolve(item, condition.operands[0].path) == nullptr;
    case Kind::kAttributeType: {
      const AttributeValue* found = resolve(item, condition.operands[0].path);
      return found != nullptr && type_name(found->type) == condition.operands[1].value.scalar;
    }
    case Kind::kCompare: {
      const auto left = operand_value(condition.operands[0], item);
      const auto right = operand_value(condition.operands[1], item);
      if (!left || !right) return condition.op == "<>" && (left || right);
      return compare_with(condition.op, *left, *right);
    }
    case Kind::kBetween: {
      const auto value = operand_value(condition.operands[0], item);
      const auto low = operand_value(condition.operands[1], item);
      const auto high = operand_value(condition.operands[2], item);
      if (!value || !low || !high) return false;
      const auto above = compare_scalars(*value, *low);
      const auto below = compare_scalars(*value, *high);
      return above && below && *above >= 0 && *below <= 0;
    }
    case Kind::kIn: {
      const auto value = operand_value(condition.operands[0], item);
      if (!value) return false;
      for (std::size_t i = 1; i < condition.operands.size(); ++i) {
        const auto candidate = operand_value(condition.operands[i], item);
        if (candidate && equal(*value, *candidate)) return true;
      }
      return false;
    }
    case Kind::kBeginsWith: {
      const auto value = operand_value(condition.operands[0], item);
      const auto prefix = operand_value(condition.operands[1], item);
      if (!value || !prefix || value->type != prefix->type ||
          (value->type != ValueType::kS && value->type != ValueType::kB)) {
        return false;
      }
      return value->scalar.starts_with(prefix->scalar);
    }
    case Kind::kContains: {
      const auto haystack = operand_value(condition.operands[0], item);
      const auto needle = operand_value(condition.operands[1], item);
      return haystack && needle && contains(*haystack, *needle);
    }
  }
  return false;
}

Result<void> apply_update(const std::vector<UpdateAction>& actions, Item& item) {
  const Item original = item;
  std::vector<const UpdateAction*> removals;
  for (const UpdateAction& action : actions) {
    switch (action.kind) {
      case UpdateAction::Kind::kSet: {
        auto value = update_value(action.value, original);
        if (!value) return value.error();
        if (auto assigned = assign(item, action.path, std::move(*value)); !assigned) {
          return assigned;
        }
        break;
      }
      case UpdateAction::Kind::kRemove:
        removals.push_back(&action);
        break;
      case UpdateAction::Kind::kAdd: {
        auto value = add_to(resolve(original, action.path), action.value.value);
        if (!value) return value.error();
        if (auto assigned = assign(item, action.path, std::move(*value)); !assigned) {
          return assigned;
        }
        break;
      }
      case UpdateAction::Kind::kDelete: {
        const AttributeValue* existing = resolve(original, action.path);
        if (existing == nullptr) break;
        if (existing->type != action.value.value.type) return wrong_type();
        AttributeValue remaining = *existing;
        std::erase_if(remaining.set, [&](const std::string& member) {
          const auto& removed = action.value.value.set;
          return std::find(removed.begin(), removed.end(), member) != removed.end();
        });
        if (remaining.set.empty()) {
          if (auto removed = remove(item, action.path); !removed) return removed;
        } else if (auto assigned = assign(item, action.path, std::move(remaining)); !assigned) {
          return assigned;
        }
        break;
      }
    }
  }
  std::sort(removals.begin(), removals.end(),
            [](const UpdateAction* a, const UpdateAction* b) { return remove_order(*a, *b); });
  for (const UpdateAction* action : removals) {
    if (auto removed = remove(item, action->path); !removed) return removed;
  }
  return ok();
}

Item project(const Item& item, const std::vector<Path>& paths) {
  ProjectionNode root;
  for (const Path& path : paths) {
    const auto top = item.find(path.elements.front().name);
    if (top == item.end()) continue;
    add_path(root.names[path.elements.front().name], top->second, path, 1);
  }
  Item out;
  for (const auto& [name, node] : root.names) {
    auto value = materialise(node, node.indexes.empty() ? ValueType::kM : ValueType::kL);
    if (value) out.emplace(name, std::move(*value));
  }
  return out;
}

}  // namespace nimbus::services::dynamodb
