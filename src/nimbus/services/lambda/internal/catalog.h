#pragma once

// Every function's record, kept in the store (keyspace "lambda.functions",
// one JSON document per function) and mirrored in memory so that invokes and
// reads never wait on the disk; the listener is the engine's view of the
// functions (see storage::RecordCatalog).

#include <set>
#include <string>

#include "nimbus/services/lambda/internal/model.h"
#include "nimbus/storage/record_catalog.h"

namespace nimbus::services::lambda::internal {

inline constexpr std::string_view kFunctionsKeyspace = "lambda.functions";
using Catalog = storage::RecordCatalog<FunctionRecord>;

// Every code hash any function uses, for code collection.
std::set<std::string> referenced_code(const Catalog& catalog);

}  // namespace nimbus::services::lambda::internal
