#pragma once

// Exact decimal arithmetic on DynamoDB numbers (storage::Decimal): what
// UpdateExpression's `+`, `-` and ADD compute. Never through double.

#include "nimbus/core/result.h"
#include "nimbus/storage/key_encoding.h"

namespace nimbus::services::dynamodb {

using storage::Decimal;

// <0, 0, >0 as a is less than, equal to, greater than b.
int compare(const Decimal& a, const Decimal& b);

// a + b and a - b, exactly; a result that needs more than 38 significant
// digits or leaves DynamoDB's range is the ValidationException DynamoDB gives.
Result<Decimal> add(const Decimal& a, const Decimal& b);
Result<Decimal> subtract(const Decimal& a, Decimal b);

}  // namespace nimbus::services::dynamodb
