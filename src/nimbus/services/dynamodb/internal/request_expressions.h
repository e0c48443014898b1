#pragma once

// The expressions of one request, from either the expression parameters
// (ConditionExpression, ProjectionExpression, ...) or the legacy ones
// DynamoDB still accepts (Expected, AttributesToGet, KeyConditions,
// QueryFilter/ScanFilter, AttributeUpdates, ConditionalOperator), which are
// turned into the same syntax trees. Mixing the two is refused as DynamoDB
// refuses it, and so are names or values no expression uses.

#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/core/result.h"
#include "nimbus/services/dynamodb/internal/expression.h"

namespace nimbus::services::dynamodb {

struct RequestExpressions {
  std::optional<Condition> condition;               // ConditionExpression / Expected
  std::optional<Condition> filter;                  // FilterExpression / QueryFilter / ScanFilter
  std::optional<Condition> key_condition;           // KeyConditionExpression / KeyConditions
  std::optional<std::vector<Path>> projection;      // ProjectionExpression / AttributesToGet
  std::optional<std::vector<UpdateAction>> update;  // UpdateExpression / AttributeUpdates
};

// Which parameters the operation takes.
struct ExpressionParameters {
  bool condition = false;
  bool filter = false;
  bool key_condition = false;
  bool projection = false;
  bool update = false;
};

// `filter_legacy_name` is "QueryFilter" or "ScanFilter" when filter is set.
Result<RequestExpressions> parse_request_expressions(const boost::json::object& in,
                                                     const ExpressionParameters& parameters,
                                                     std::string_view filter_legacy_name = {});

// One request's expression attributes, for the operations (BatchGetItem)
// that parse per-table expressions themselves.
Result<std::optional<std::vector<Path>>> parse_projection_parameters(const boost::json::object& in);

}  // namespace nimbus::services::dynamodb
