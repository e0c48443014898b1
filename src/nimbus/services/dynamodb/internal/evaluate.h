#pragma once

// Expressions applied to items: conditions evaluated, updates applied and
// projections taken as DynamoDB does, with DynamoDB's errors for updates
// that do not fit the item.

#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"
#include "nimbus/services/dynamodb/internal/expression.h"

namespace nimbus::services::dynamodb {

// The value at `path`, or null when the item has none.
const AttributeValue* resolve(const Item& item, const Path& path);

// A missing attribute makes comparisons false (and <> true), as in DynamoDB.
bool evaluate(const Condition& condition, const Item& item);

// Applies the actions to `item`. Operands read the item as it was before
// the update. Fails with the ValidationException DynamoDB gives, leaving
// `item` in an unspecified state.
Result<void> apply_update(const std::vector<UpdateAction>& actions, Item& item);

// The parts of `item` the paths name, nested as in the item.
Item project(const Item& item, const std::vector<Path>& paths);

}  // namespace nimbus::services::dynamodb
