// Query and Scan. A Query is a range scan under one partition key's prefix,
// bounded by the sort key condition; a Scan walks the table in storage-key
// order, which begins with a hash of the partition key, so each parallel
// scan segment is one contiguous range of that hash. Both stop at Limit
// items evaluated or 1 MB read, before filtering, as DynamoDB does.

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "nimbus/services/dynamodb/internal/evaluate.h"
#include "nimbus/services/dynamodb/internal/indexes.h"
#include "nimbus/services/dynamodb/internal/item_io.h"
#include "nimbus/services/dynamodb/internal/request_expressions.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"
#include "nimbus/storage/key_encoding.h"

namespace nimbus::services::dynamodb {
namespace {

using storage::Store;

constexpr std::size_t kMaxPageBytes = 1024 * 1024;
constexpr std::size_t kStoreBatch = 256;
constexpr std::int64_t kMaxSegments = 1'000'000;

AwsError key_condition_error(std::string_view message) {
  return AwsError::validation(std::string(message));
}

struct KeyPart {
  std::string attribute;
  const Condition* condition = nullptr;
  std::string op;  // "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"
  std::vector<AttributeValue> values;
};

// Splits a key condition into its leaf conditions, refusing what a key
// condition may not hold.
Result<void> leaves(const Condition& condition, std::vector<const Condition*>& out) {
  using Kind = Condition::Kind;
  switch (condition.kind) {
    case Kind::kAnd:
      for (const auto& child : condition.children) {
        if (auto split = leaves(child, out); !split) return split;
      }
      return ok();
    case Kind::kOr:
      return key_condition_error("Invalid operator used in KeyConditionExpression: OR");
    case Kind::kNot:
      return key_condition_error("Invalid operator used in KeyConditionExpression: NOT");
    case Kind::kIn:
      return key_condition_error("Invalid operator used in KeyConditionExpression: IN");
    case Kind::kAttributeExists:
      return key_condition_error(
          "Invalid operator used in KeyConditionExpression: attribute_exists");
    case Kind::kAttributeNotExists:
      return key_condition_error(
          "Invalid operator used in KeyConditionExpression: attribute_not_exists");
    case Kind::kAttributeType:
      return key_condition_error("Invalid operator used in KeyConditionExpression: attribute_type");
    case Kind::kContains:
      return key_condition_error("Invalid operator used in KeyConditionExpression: contains");
    case Kind::kCompare:
      if (condition.op == "<>") {
        return key_condition_error("Invalid operator used in KeyConditionExpression: <>");
      }
      [[fallthrough]];
    case Kind::kBetween:
    case Kind::kBeginsWith:
      out.push_back(&condition);
      return ok();
  }
  return ok();
}

Result<KeyPart> key_part(const Condition& condition) {
  KeyPart part;
  part.condition = &condition;
  const Operand* path = nullptr;
  std::size_t path_index = 0;
  for (std::size_t i = 0; i < condition.operands.size(); ++i) {
    const Operand& operand = condition.operands[i];
    if (operand.kind == Operand::Kind::kSize) {
      return key_condition_error("KeyConditionExpressions cannot contain nested operations");
    }
    if (operand.kind == Operand::Kind::kPath) {
      if (path != nullptr) {
        return key_condition_error(
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
            "condition");
      }
      path = &operand;
      path_index = i;
    } else {
      part.values.push_back(operand.value);
    }
  }
  if (path == nullptr) {
    return key_condition_error(
        "Invalid condition in KeyConditionExpression: No key attribute specified");
  }
  if (path->path.elements.size() > 1 || path->path.elements[0].index) {
    return key_condition_error(
        "KeyConditionExpressions cannot have conditions on nested attributes");
  }
  part.attribute = path->path.elements[0].name;
  if (condition.kind == Condition::Kind::kBetween) {
    if (path_index != 0) {
      return key_condition_error(
          "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key "
          "attribute as its first operand");
    }
    part.op = "BETWEEN";
  } else if (condition.kind == Condition::Kind::kBeginsWith) {
    if (path_index != 0) {
      return key_condition_error(
          "Invalid condition in KeyConditionExpression: begins_with operator must have the key "
          "attribute as its first operand");
    }
    part.op = "begins_with";
  } else {
    part.op = condition.op;
    if (path_index == 1) {  // ":v < sk" is "sk > :v"
      if (part.op == "<") {
        part.op = ">";
      } else if (part.op == "<=") {
        part.op = ">=";
      } else if (part.op == ">") {
        part.op = "<";
      } else if (part.op == ">=") {
        part.op = "<=";
      }
    }
  }
  return part;
}

// What a Query reads: the keys between two bounds under one partition.
struct KeyRange {
  AttributeValue hash_value;
  storage::ScanOptions options;
};

// `suffixed`: the keys read are an index's entries, whose key goes on with
// the item's table key after the index key, so a bound on the sort key
// covers every key it prefixes.
Result<KeyRange> key_range(const TableRecord& table, const Condition& condition, bool suffixed) {
  std::vector<const Condition*> parts;
  if (auto split = leaves(condition, parts); !split) return split.error();
  std::optional<KeyPart> hash;
  std::optional<KeyPart> range;
  for (const Condition* leaf : parts) {
    auto part = key_part(*leaf);
    if (!part) return part.error();
    std::optional<KeyPart>* slot = nullptr;
    if (part->attribute == table.hash.name) {
      slot = &hash;
    } else if (table.range && part->attribute == table.range->name) {
      slot = &range;
    } else {
      return key_condition_error(
          fmt::format("Query condition missed key schema element: {}",
                      !hash || !table.range ? table.hash.name : table.range->name));
    }
    if (*slot) {
      return key_condition_error("KeyConditionExpressions must only contain one condition per key");
    }
    *slot = std::move(*part);
  }
  if (!hash) {
    return key_condition_error(
        fmt::format("Query condition missed key schema element: {}", table.hash.name));
  }
  if (hash->op != "=") return key_condition_error("Query key condition not supported");
  for (const auto* part : {&*hash, range ? &*range : nullptr}) {
    if (part == nullptr) continue;
    const ValueType wanted = part == &*hash ? table.hash.type : table.range->type;
    for (const auto& value : part->values) {
      if (value.type != wanted) {
        return AwsError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match "
            "schema type");
      }
    }
  }
  KeyRange out;
  out.hash_value = hash->values[0];
  const std::string prefix = partition_prefix(out.hash_value);
  storage::ScanOptions& options = out.options;
  options.lower = storage::Bound{prefix, true};
  options.upper = storage::Bound{storage::prefix_successor(prefix), false};
  if (range) {
    const std::string& op = range->op;
    const std::string first = prefix + encode_key_value(range->values[0]);
    // Past every key `key` starts (suffixed) or past `key` itself.
    auto after = [&](const std::string& key) {
      return suffixed ? storage::Bound{storage::prefix_successor(key), false}
                      : storage::Bound{key, true};
    };
    if (op == "=") {
      options.lower = storage::Bound{first, true};
      options.upper = after(first);
    } else if (op == "<") {
      options.upper = storage::Bound{first, false};
    } else if (op == "<=") {
      options.upper = after(first);
    } else if (op == ">") {
      options.lower = suffixed ? storage::Bound{storage::prefix_successor(first), true}
                               : storage::Bound{first, false};
    } else if (op == ">=") {
      options.lower = storage::Bound{first, true};
    } else if (op == "BETWEEN") {
      options.lower = storage::Bound{first, true};
      options.upper = after(prefix + encode_key_value(range->values[1]));
    } else {  // begins_with: the encoding without its terminator is a prefix
      std::string partial = first.substr(0, first.size() - 2);
      options.lower = storage::Bound{partial, true};
      options.upper = storage::Bound{storage::prefix_successor(partial), false};
    }
  }
  return out;
}

struct Selection {
  std::string select;  // ALL_ATTRIBUTES, SPECIFIC_ATTRIBUTES, COUNT
};

Result<Selection> selection(const json::object& in, const RequestExpressions& expressions,
                            const SecondaryIndex* index) {
  auto select = enum_member(
      in, "Select", "select",
      {"ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"}, "");
  if (!select) return select.error();
  if (*select == "ALL_PROJECTED_ATTRIBUTES" && index == nullptr) {
    return AwsError::validation(
        "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is "
        "supported only when Querying using an IndexName");
  }
  if (*select == "ALL_ATTRIBUTES" && index != nullptr && index->global &&
      index->projection_type != "ALL") {
    return AwsError::validation(fmt::format(
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
        "for global secondary index {} because its projection type is not ALL",
        index->name));
  }
  const bool projected = expressions.projection.has_value();
  if (select->empty()) {
    // An index's own projection unless asked for more.
    if (projected) return Selection{"SPECIFIC_ATTRIBUTES"};
    return Selection{index != nullptr ? "ALL_PROJECTED_ATTRIBUTES" : "ALL_ATTRIBUTES"};
  }
  if (*select == "SPECIFIC_ATTRIBUTES" && !projected) {
    return AwsError::validation(
        "One or more parameter values were invalid: Must specify the AttributesToGet or "
        "ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES");
  }
  if (*select != "SPECIFIC_ATTRIBUTES" && projected) {
    return AwsError::validation(fmt::format(
        "One or more parameter values were invalid: Cannot specify the {} when choosing to get "
        "{}",
        member(in, "ProjectionExpression") != nullptr ? "ProjectionExpression" : "AttributesToGet",
        *select));
  }
  return Selection{*select};
}

Result<std::optional<std::int64_t>> limit_member(const json::object& in) {
  const auto* value = member(in, "Limit");
  if (value == nullptr) return std::optional<std::int64_t>();
  const auto number = aws::json_integer(*value);
  if (!number) return AwsError::serialization("Limit must be an integer");
  if (*number < 1) {
    return constraint(std::to_string(*number), "limit",
                      "Member must have value greater than or equal to 1");
  }
  return std::optional<std::int64_t>(*number);
}

// The index the request names, null for none.
Result<const SecondaryIndex*> named_index(const TableRecord& table, const json::object& in) {
  const auto name = string_member(in, "IndexName");
  if (!name) return static_cast<const SecondaryIndex*>(nullptr);
  const SecondaryIndex* index = find_index(table, *name);
  if (index == nullptr) {
    return AwsError::validation(
        fmt::format("The table does not have the specified index: {}", *name));
  }
  if (index->status == "CREATING") {
    return AwsError::validation(
        fmt::format("Cannot read from backfilling global secondary index: {}", *name));
  }
  return index;
}

// The storage key after which to resume, from ExclusiveStartKey: a table's
// key, or for an index the item's table key and index key.
Result<std::optional<std::string>> start_key(const TableRecord& table, const SecondaryIndex* index,
                                             const json::object& in) {
  const auto* wire = member(in, "ExclusiveStartKey");
  if (wire == nullptr) return std::optional<std::string>();
  auto invalid_start = [](std::string_view why) {
    return AwsError::validation(fmt::format("The provided starting key is invalid: {}", why));
  };
  auto key = parse_item(*wire);
  if (!key) return invalid_start(key.error().message());
  if (index == nullptr) {
    auto encoded = storage_key(table, *key, KeySource::kKey);
    if (!encoded) return invalid_start(encoded.error().message());
    return std::optional<std::string>(std::move(*encoded));
  }
  auto encoded = storage_key(table, key_of(table, *key), KeySource::kKey);
  if (!encoded) return invalid_start(encoded.error().message());
  auto entry = index_entry_key(*index, *key, *encoded);
  if (!entry) return invalid_start("The provided key element does not match the schema");
  return std::optional<std::string>(std::move(*entry));
}

struct ReadPlan {
  storage::ScanOptions options;
  std::optional<std::int64_t> limit;
  const std::optional<Condition>* filter = nullptr;
  const std::optional<std::vector<Path>>* projection = nullptr;
  bool count_only = false;
  bool consistent = false;
  // Reading an index: its keys' schema, for LastEvaluatedKey; and, for a
  // local index asked for more than it keeps, the table's items to read
  // each item from.
  const TableRecord* index_keys = nullptr;
  const storage::Keyspace* fetch_from = nullptr;
};

struct ReadResult {
  json::array items;
  std::int64_t count = 0;
  std::int64_t scanned = 0;
  std::size_t bytes = 0;
  std::optional<Item> last_key;
};

Result<ReadResult> read_range(Store& store, const TableRecord& table,
                              const storage::Keyspace& keyspace, ReadPlan plan) {
  ReadResult out;
  const bool need_item = plan.filter->has_value() || plan.projection->has_value();
  for (;;) {
    std::size_t batch = kStoreBatch;
    if (plan.limit) {
      batch = std::min<std::size_t>(batch, static_cast<std::size_t>(*plan.limit - out.scanned));
    }
    plan.options.limit = batch;
    auto page = store.scan(keyspace, plan.options);
    if (!page) return page.error();
    for (const auto& entry : page->items) {
      std::string_view value = entry.value;
      std::optional<std::string> fetched;
      if (plan.fetch_from != nullptr) {
        // The entry holds the item's table key attributes: read the item by them.
        auto entry_item = decode_item(entry.value);
        if (!entry_item) return entry_item.error();
        auto table_key = storage_key(table, key_of(table, *entry_item), KeySource::kKey);
        if (!table_key) return table_key.error();
        auto full = store.get(*plan.fetch_from, *table_key);
        if (!full) return full.error();
        if (!*full) continue;  // deleted between reading its entry and now
        fetched = std::move(**full);
        value = *fetched;
      }
      auto stored = read_stored(value);
      if (!stored) return stored.error();
      ++out.scanned;
      out.bytes += stored->size;
      bool matches = true;
      std::optional<Item> item;
      if (need_item) {
        auto decoded = decode_item(value);
        if (!decoded) return decoded.error();
        item = std::move(*decoded);
        if (plan.filter->has_value()) matches = evaluate(**plan.filter, *item);
      }
      if (matches) {
        ++out.count;
        if (!plan.count_only) {
          if (plan.projection->has_value()) {
            out.items.push_back(to_json(project(*item, **plan.projection)));
          } else if (item) {
            out.items.push_back(to_json(*item));
          } else {
            boost::system::error_code error;
            auto parsed = parse_json(stored->json, error);
            if (error) return AwsError::internal("unreadable stored item");
            out.items.push_back(std::move(parsed));
          }
        }
      }
      const bool limit_reached = plan.limit && out.scanned >= *plan.limit;
      if (limit_reached || out.bytes >= kMaxPageBytes) {
        if (!item) {
          auto decoded = decode_item(value);
          if (!decoded) return decoded.error();
          item = std::move(*decoded);
        }
        out.last_key = key_of(table, *item);
        if (plan.index_keys != nullptr) out.last_key->merge(key_of(*plan.index_keys, *item));
        return out;
      }
    }
    if (!page->cursor) return out;
    plan.options.cursor = page->cursor;
  }
}

// What Query and Scan both take: the table (no index), the capacity mode,
// Limit and ConsistentRead.
struct ReadRequest {
  TableHandle handle;
  const SecondaryIndex* index = nullptr;
  std::optional<std::int64_t> limit;
  bool consistent = false;
};

Result<ReadRequest> read_request(DynamoDbServiceImpl& service, Store& store,
                                 const json::object& in) {
  auto handle = service.table(store, in);
  if (!handle) return handle.error();
  auto index = named_index(*handle->record, in);
  if (!index) return index.error();
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();
  auto limit = limit_member(in);
  if (!limit) return limit.error();
  auto consistent = bool_member(in, "ConsistentRead");
  if (!consistent) return consistent.error();
  if (*consistent && *index != nullptr && (*index)->global) {
    return AwsError::validation("Consistent reads are not supported on global secondary indexes");
  }
  return ReadRequest{std::move(*handle), *index, *limit, *consistent};
}

// Reads the range `plan` holds with the request's limit, filter,
// projection and selection; the Query/Scan response and what it consumed.
Result<json::object> run_read(Store& store, const TableHandle& handle, const SecondaryIndex* index,
                              ReadPlan plan, const json::object& in,
                              const RequestExpressions& expressions, const std::string& select,
                              std::optional<std::int64_t> limit, bool consistent,
                              Consumed* consumed) {
  const TableRecord& table = *handle.record;
  const bool count_only = select == "COUNT";
  plan.limit = limit;
  plan.filter = &expressions.filter;
  plan.projection = &expressions.projection;
  plan.count_only = count_only;
  plan.consistent = consistent;
  const storage::Keyspace* keyspace = &handle.items;
  TableRecord index_keys;
  if (index != nullptr) {
    const auto position = static_cast<std::size_t>(index - table.indexes.data());
    if (position >= handle.indexes.size() || handle.indexes[position].name.empty()) {
      // Deleted since the request read the table's record.
      return AwsError::validation(
          fmt::format("The table does not have the specified index: {}", index->name));
    }
    keyspace = &handle.indexes[position];
    // A Query has made it already, for its key range.
    if (plan.index_keys == nullptr) {
      index_keys = index_schema(table, *index);
      plan.index_keys = &index_keys;
    }
    // A local index reads what it does not keep from the table, as
    // DynamoDB's local indexes do; a global one has only what it keeps.
    const bool wants_more = select == "ALL_ATTRIBUTES" || expressions.projection.has_value() ||
                            expressions.filter.has_value();
    if (!index->global && index->projection_type != "ALL" && wants_more) {
      plan.fetch_from = &handle.items;
    }
  }
  auto result = read_range(store, table, *keyspace, std::move(plan));
  if (!result) return result.error();
  json::object out;
  if (!count_only) out["Items"] = std::move(result->items);
  out["Count"] = result->count;
  out["ScannedCount"] = result->scanned;
  if (result->last_key) out["LastEvaluatedKey"] = to_json(*result->last_key);
  consumed->read_half_units = units_of(result->bytes, 4096) * (consistent ? 2 : 1);
  if (index != nullptr) {
    // Read from the index (a local index's reads of the table included).
    auto& on_index = consumed->indexes[index->name];
    on_index.global = index->global;
    on_index.read_half_units = consumed->read_half_units;
  }
  if (auto capacity = DynamoDbServiceImpl::consumed_capacity(in, table.name, *consumed)) {
    out["ConsumedCapacity"] = std::move(*capacity);
  }
  return out;
}

}  // namespace

Result<json::object> DynamoDbServiceImpl::query(Store& store, const json::object& in,
                                                const aws::RequestContext&) {
  auto request = read_request(*this, store, in);
  if (!request) return request.error();
  const TableRecord& table = *request->handle.record;
  bool forward = true;
  if (const auto* value = member(in, "ScanIndexForward")) {
    if (!value->is_bool()) return AwsError::serialization("ScanIndexForward must be a boolean");
    forward = value->get_bool();
  }
  if (member(in, "KeyConditions") == nullptr && member(in, "KeyConditionExpression") == nullptr) {
    return AwsError::validation(
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
        "request.");
  }
  ExpressionParameters parameters;
  parameters.key_condition = true;
  parameters.filter = true;
  parameters.projection = true;
  auto expressions = parse_request_expressions(in, parameters, "QueryFilter");
  if (!expressions) return expressions.error();
  const SecondaryIndex* index = request->index;
  auto select = selection(in, *expressions, index);
  if (!select) return select.error();
  // An index is queried by its own key (the table's record is not copied
  // for a Query of the table).
  TableRecord index_keys;
  if (index != nullptr) index_keys = index_schema(table, *index);
  const TableRecord& schema = index != nullptr ? index_keys : table;
  auto range = key_range(schema, *expressions->key_condition, index != nullptr);
  if (!range) return range.error();
  if (expressions->filter) {
    for (const auto* key : {&schema.hash, schema.range ? &*schema.range : nullptr}) {
      if (key == nullptr) continue;
      // A filter may not test key attributes: the key condition does.
      std::vector<const Condition*> stack{&*expressions->filter};
      while (!stack.empty()) {
        const Condition* current = stack.back();
        stack.pop_back();
        for (const auto& child : current->children) stack.push_back(&child);
        for (const auto& operand : current->operands) {
          if ((operand.kind == Operand::Kind::kPath || operand.kind == Operand::Kind::kSize) &&
              operand.path.elements.front().name == key->name) {
            return AwsError::validation(fmt::format(
                "Filter Expression can only contain non-primary key attributes: Primary key "
                "attribute: {}",
                key->name));
          }
        }
      }
    }
  }
  auto start = start_key(table, index, in);
  if (!start) return start.error();
  ReadPlan plan;
  plan.index_keys = index != nullptr ? &index_keys : nullptr;
  plan.options = std::move(range->options);
  plan.options.direction = forward ? storage::Direction::kForward : storage::Direction::kBackward;
  if (*start) {
    if (!start->value().starts_with(partition_prefix(range->hash_value))) {
      return AwsError::validation(
          "The provided starting key is invalid: The provided key element does not match the "
          "schema");
    }
    plan.options.cursor = std::move(**start);
  }
  Consumed consumed;
  auto out = run_read(store, request->handle, index, std::move(plan), in, *expressions,
                      select->select, request->limit, request->consistent, &consumed);
  if (out) meter(table.name, consumed);
  return out;
}

Result<json::object> DynamoDbServiceImpl::scan(Store& store, const json::object& in,
                                               const aws::RequestContext&) {
  auto request = read_request(*this, store, in);
  if (!request) return request.error();
  const TableRecord& table = *request->handle.record;
  std::optional<std::int64_t> segment;
  std::optional<std::int64_t> total;
  for (const auto& [name, field, target, low, high] :
       {std::tuple{"Segment", "segment", &segment, std::int64_t{0}, kMaxSegments - 1},
        std::tuple{"TotalSegments", "totalSegments", &total, std::int64_t{1}, kMaxSegments}}) {
    const auto* value = member(in, name);
    if (value == nullptr) continue;
    const auto number = aws::json_integer(*value);
    if (!number) return AwsError::serialization(fmt::format("{} must be an integer", name));
    if (*number < low) {
      return constraint(std::to_string(*number), field,
                        fmt::format("Member must have value greater than or equal to {}", low));
    }
    if (*number > high) {
      return constraint(std::to_string(*number), field,
                        fmt::format("Member must have value less than or equal to {}", high));
    }
    *target = *number;
  }
  if (segment && !total) {
    return AwsError::validation(
        "The TotalSegments parameter is required but was not present in the request when "
        "Segment parameter is present");
  }
  if (total && !segment) {
    return AwsError::validation(
        "The Segment parameter is required but was not present in the request when parameter "
        "TotalSegments is present");
  }
  if (segment && *segment >= *total) {
    return AwsError::validation(fmt::format(
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
        "Segment: {} is not less than TotalSegments: {}",
        *segment, *total));
  }
  ExpressionParameters parameters;
  parameters.filter = true;
  parameters.projection = true;
  auto expressions = parse_request_expressions(in, parameters, "ScanFilter");
  if (!expressions) return expressions.error();
  auto select = selection(in, *expressions, request->index);
  if (!select) return select.error();
  auto start = start_key(table, request->index, in);
  if (!start) return start.error();

  ReadPlan plan;
  if (total && *total > 1) {
    // Segment s of n covers partition hashes [s * 2^32 / n, (s + 1) * 2^32 / n).
    auto boundary = [&](std::int64_t s) {
      const std::uint64_t value =
          (static_cast<std::uint64_t>(s) << 32) / static_cast<std::uint64_t>(*total);
      std::string bytes;
      for (int shift = 24; shift >= 0; shift -= 8) {
        bytes.push_back(static_cast<char>((value >> shift) & 0xff));
      }
      return bytes;
    };
    if (*segment > 0) plan.options.lower = storage::Bound{boundary(*segment), true};
    if (*segment + 1 < *total) plan.options.upper = storage::Bound{boundary(*segment + 1), false};
    if (*start) {
      const bool below = plan.options.lower && **start < plan.options.lower->key;
      const bool above = plan.options.upper && **start >= plan.options.upper->key;
      if (below || above) {
        return AwsError::validation(fmt::format(
            "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use "
            "ExclusiveStartKey with correct Segment. TotalSegments: {} Segment: {}",
            *total, *segment));
      }
    }
  }
  if (*start) plan.options.cursor = std::move(**start);
  Consumed consumed;
  auto out = run_read(store, request->handle, request->index, std::move(plan), in, *expressions,
                      select->select, request->limit, request->consistent, &consumed);
  if (out) meter(table.name, consumed);
  return out;
}

}  // namespace nimbus::services::dynamodb
