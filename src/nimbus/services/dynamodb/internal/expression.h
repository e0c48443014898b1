#pragma once

// DynamoDB's expression language: ConditionExpression / FilterExpression,
// KeyConditionExpression, UpdateExpression and ProjectionExpression, parsed
// into syntax trees with DynamoDB's syntax and semantic errors
// ("Invalid UpdateExpression: Syntax error; token: ...").
// ExpressionAttributeNames and ExpressionAttributeValues are resolved while
// parsing, so a tree holds only real names and values.

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/core/result.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"

namespace nimbus::services::dynamodb {

// One step of a document path: a map key, or a list index.
struct PathElement {
  std::string name;
  std::optional<std::size_t> index;
  friend bool operator==(const PathElement&, const PathElement&) = default;
};

struct Path {
  std::vector<PathElement> elements;
  // "[a, b, [2]]": how DynamoDB shows a path in messages.
  std::string describe() const;
  friend bool operator==(const Path&, const Path&) = default;
};

struct Operand {
  enum class Kind { kPath, kValue, kSize, kIfNotExists, kListAppend, kPlus, kMinus };
  Kind kind = Kind::kPath;
  Path path;                  // kPath; kSize's and kIfNotExists's path
  AttributeValue value;       // kValue
  std::string value_name;     // kValue: ":v", to tell repeated operands apart
  std::vector<Operand> args;  // kIfNotExists (fallback), kListAppend, kPlus, kMinus
};

struct Condition {
  enum class Kind {
    kCompare,  // op: = <> < <= > >=
    kBetween,
    kIn,
    kAnd,
    kOr,
    kNot,
    kAttributeExists,
    kAttributeNotExists,
    kAttributeType,
    kBeginsWith,
    kContains,
  };
  Kind kind = Kind::kCompare;
  std::string op;
  std::vector<Operand> operands;
  std::vector<Condition> children;  // kAnd, kOr (two), kNot (one)
};

struct UpdateAction {
  enum class Kind { kSet, kRemove, kAdd, kDelete };
  Kind kind = Kind::kSet;
  Path path;
  Operand value;  // not for kRemove
};

// The names and values of one request, shared by all its expressions, with
// the use of each tracked: DynamoDB refuses names or values no expression uses.
class ExpressionAttributes {
 public:
  // Validates the two maps (either may be null: absent from the request).
  static Result<ExpressionAttributes> make(const boost::json::value* names,
                                           const boost::json::value* values);
  bool has_names() const { return names_present_; }
  bool has_values() const { return values_present_; }

  std::optional<std::string> name(const std::string& token);
  const AttributeValue* value(const std::string& token);
  // The unused-names and unused-values errors, after every expression parsed.
  Result<void> check_all_used() const;

 private:
  bool names_present_ = false;
  bool values_present_ = false;
  std::map<std::string, std::string> names_;
  std::map<std::string, AttributeValue> values_;
  std::set<std::string> used_names_;
  std::set<std::string> used_values_;
};

// `label` names the parameter in errors: "ConditionExpression",
// "FilterExpression", "KeyConditionExpression".
Result<Condition> parse_condition(std::string_view text, std::string_view label,
                                  ExpressionAttributes& attributes);
Result<std::vector<UpdateAction>> parse_update(std::string_view text,
                                               ExpressionAttributes& attributes);
Result<std::vector<Path>> parse_projection(std::string_view text, ExpressionAttributes& attributes);

// True if `word` is one of DynamoDB's reserved words (any case).
bool is_reserved_word(std::string_view word);

}  // namespace nimbus::services::dynamodb
