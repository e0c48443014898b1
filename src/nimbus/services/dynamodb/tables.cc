// Table operations: CreateTable, DescribeTable, ListTables, DeleteTable,
// UpdateTable, tags, DescribeLimits, DescribeTimeToLive.

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "nimbus/core/request_id.h"
#include "nimbus/services/dynamodb/internal/indexes.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"

namespace nimbus::services::dynamodb {
namespace {

using storage::Store;

constexpr std::int64_t kMaxCapacityUnits = 40'000;
constexpr std::size_t kMaxTags = 50;
constexpr std::size_t kMaxGlobalIndexes = 20;
constexpr std::size_t kMaxLocalIndexes = 5;

double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

AwsError invalid(std::string_view message) {
  return AwsError::validation(
      fmt::format("One or more parameter values were invalid: {}", message));
}

AwsError arn_not_found(std::string_view arn) {
  return AwsError("ResourceNotFoundException",
                  fmt::format("Requested resource not found: ResourcArn: {} not found", arn), 400);
}

struct Throughput {
  std::int64_t read = 0;
  std::int64_t write = 0;
};

Result<std::optional<Throughput>> throughput_member(const json::object& in) {
  const auto* value = member(in, "ProvisionedThroughput");
  if (value == nullptr) return std::optional<Throughput>();
  if (!value->is_object())
    return AwsError::serialization("ProvisionedThroughput must be an object");
  const auto& object = value->get_object();
  Throughput out;
  for (const auto& [name, field, target] :
       {std::tuple{"ReadCapacityUnits", "provisionedThroughput.readCapacityUnits", &out.read},
        std::tuple{"WriteCapacityUnits", "provisionedThroughput.writeCapacityUnits", &out.write}}) {
    const auto* units = member(object, name);
    if (units == nullptr) return constraint("null", field, "Member must not be null");
    const auto number = aws::json_integer(*units);
    if (!number) return AwsError::serialization(fmt::format("{} must be an integer", name));
    if (*number < 1) {
      return constraint(std::to_string(*number), field,
                        "Member must have value greater than or equal to 1");
    }
    if (*number > kMaxCapacityUnits) {
      return AwsError("LimitExceededException",
                      fmt::format("Subscriber limit exceeded: Provisioned throughput for a table "
                                  "cannot exceed {} units",
                                  kMaxCapacityUnits),
                      400);
    }
    *target = *number;
  }
  return std::optional<Throughput>(out);
}

Result<std::vector<std::pair<std::string, std::string>>> tags_member(const json::object& in) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto* tags = member(in, "Tags");
  if (tags == nullptr) return out;
  if (!tags->is_array()) return AwsError::serialization("Tags must be a list");
  for (const auto& tag : tags->get_array()) {
    const auto* object = tag.if_object();
    if (object == nullptr) return AwsError::serialization("A tag must be an object");
    const auto key = string_member(*object, "Key");
    const auto value = string_member(*object, "Value");
    if (!key) return constraint("null", "tags.member.key", "Member must not be null");
    if (!value) return constraint("null", "tags.member.value", "Member must not be null");
    if (key->empty() || key->size() > 128) {
      return constraint(*key, "tags.member.key", "Member must have length between 1 and 128");
    }
    if (value->size() > 256) {
      return constraint(*value, "tags.member.value",
                        "Member must have length less than or equal to 256");
    }
    out.emplace_back(*key, *value);
  }
  return out;
}

void merge_tags(std::vector<std::pair<std::string, std::string>>& tags,
                const std::vector<std::pair<std::string, std::string>>& added) {
  for (const auto& tag : added) {
    auto it = std::find_if(tags.begin(), tags.end(),
                           [&](const auto& existing) { return existing.first == tag.first; });
    if (it != tags.end()) {
      it->second = tag.second;
    } else {
      tags.push_back(tag);
    }
  }
}

Result<std::string> table_of_arn(std::string_view arn, std::string_view region,
                                 std::string_view account) {
  const std::string prefix = fmt::format("arn:aws:dynamodb:{}:{}:table/", region, account);
  if (!arn.starts_with(prefix) || arn.size() == prefix.size()) {
    return AwsError::validation(
        fmt::format("Invalid TableArn: Invalid ResourceArn provided as input {}", arn));
  }
  return std::string(arn.substr(prefix.size()));
}

AwsError index_throughput_required(std::string_view index) {
  return invalid(fmt::format("ProvisionedThroughput must be specified for index: {}", index));
}

AwsError index_throughput_forbidden(std::string_view index) {
  return invalid(
      fmt::format("ProvisionedThroughput should not be specified for index: {} when BillingMode is "
                  "PAY_PER_REQUEST",
                  index));
}

// A global index's own throughput: required on a provisioned table,
// refused on an on-demand one.
Result<void> set_index_throughput(std::string_view billing_mode,
                                  const std::optional<Throughput>& given, SecondaryIndex& index) {
  if (billing_mode != "PROVISIONED") {
    if (given) return index_throughput_forbidden(index.name);
    return ok();
  }
  if (!given) return index_throughput_required(index.name);
  index.read_capacity = given->read;
  index.write_capacity = given->write;
  return ok();
}

// DescribeTable's KeySchema of a table or an index.
json::array key_schema_json(const KeyAttribute& hash, const std::optional<KeyAttribute>& range) {
  json::array out;
  out.push_back({{"AttributeName", hash.name}, {"KeyType", "HASH"}});
  if (range) out.push_back({{"AttributeName", range->name}, {"KeyType", "RANGE"}});
  return out;
}

// A KeySchema: (attribute, HASH or RANGE) pairs, HASH first; `field` names
// it in constraint errors.
Result<std::vector<std::pair<std::string, std::string>>> parse_key_schema(
    const json::value& key_schema, const std::string& field) {
  if (!key_schema.is_array()) return AwsError::serialization("KeySchema must be a list");
  const auto& elements = key_schema.get_array();
  if (elements.empty()) {
    return constraint("[]", field, "Member must have length greater than or equal to 1");
  }
  if (elements.size() > 2) {
    return constraint("[...]", field, "Member must have length less than or equal to 2");
  }
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& element : elements) {
    const auto* object = element.if_object();
    if (object == nullptr) return AwsError::serialization("KeySchemaElement must be an object");
    const auto attribute = string_member(*object, "AttributeName");
    const auto key_type = string_member(*object, "KeyType");
    if (!attribute) {
      return constraint("null", field + ".member.attributeName", "Member must not be null");
    }
    if (!key_type) return constraint("null", field + ".member.keyType", "Member must not be null");
    if (*key_type != "HASH" && *key_type != "RANGE") {
      return constraint(*key_type, field + ".member.keyType",
                        "Member must satisfy enum value set: [HASH, RANGE]");
    }
    if (attribute->empty() || attribute->size() > 255) {
      return constraint(*attribute, field + ".member.attributeName",
                        "Member must have length between 1 and 255");
    }
    keys.emplace_back(*attribute, *key_type);
  }
  if (keys[0].second != "HASH") {
    return AwsError::validation(
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
  }
  if (keys.size() == 2) {
    if (keys[1].second != "RANGE") {
      return AwsError::validation(
          "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
    }
    if (keys[0].first == keys[1].first) {
      return AwsError::validation(
          "Both the Hash Key and the Range Key element in the KeySchema have the same name");
    }
  }
  return keys;
}

// One index of CreateTable's GlobalSecondaryIndexes or
// LocalSecondaryIndexes, before its key attributes' types are known.
struct ParsedIndex {
  SecondaryIndex index;
  std::vector<std::pair<std::string, std::string>> keys;
  std::optional<Throughput> throughput;
};

// One index of CreateTable's GlobalSecondaryIndexes or
// LocalSecondaryIndexes (or UpdateTable's Create); `member_field` names it
// in constraint errors.
Result<ParsedIndex> parse_index(
    const json::object& entry, bool global, const std::string& member_field,
    const std::vector<std::pair<std::string, std::string>>& table_keys) {
  ParsedIndex parsed;
  parsed.index.global = global;
  const auto name = string_member(entry, "IndexName");
  if (!name) return constraint("null", member_field + ".indexName", "Member must not be null");
  if (name->size() < 3 || name->size() > 255) {
    return constraint(*name, member_field + ".indexName",
                      "Member must have length between 3 and 255");
  }
  if (!std::all_of(name->begin(), name->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      })) {
    return constraint(*name, member_field + ".indexName",
                      "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  }
  parsed.index.name = *name;
  const auto* key_schema = member(entry, "KeySchema");
  if (key_schema == nullptr) {
    return constraint("null", member_field + ".keySchema", "Member must not be null");
  }
  auto keys = parse_key_schema(*key_schema, member_field + ".keySchema");
  if (!keys) return keys.error();
  if (!global) {
    if ((*keys)[0].first != table_keys[0].first) {
      return invalid(fmt::format(
          "Index KeySchema does not have the same leading hash key as table KeySchema for "
          "index: {}. index hash key: {}, table hash key: {}",
          *name, (*keys)[0].first, table_keys[0].first));
    }
    if (keys->size() < 2) {
      return invalid(fmt::format("Index KeySchema does not have a range key for index: {}", *name));
    }
  }
  parsed.keys = std::move(*keys);
  const auto* projection = member(entry, "Projection");
  if (projection == nullptr) {
    return constraint("null", member_field + ".projection", "Member must not be null");
  }
  if (!projection->is_object()) return AwsError::serialization("Projection must be an object");
  auto type =
      enum_member(projection->get_object(), "ProjectionType",
                  member_field + ".projection.projectionType", {"ALL", "KEYS_ONLY", "INCLUDE"}, "");
  if (!type) return type.error();
  const auto* non_key = member(projection->get_object(), "NonKeyAttributes");
  if (type->empty()) {
    return invalid(fmt::format("Unknown ProjectionType: null for index: {}", *name));
  }
  if (*type == "INCLUDE") {
    if (non_key == nullptr || !non_key->is_array() || non_key->get_array().empty()) {
      return invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified");
    }
    for (const auto& attribute : non_key->get_array()) {
      if (!attribute.is_string()) {
        return AwsError::serialization("NonKeyAttributes must be a list of strings");
      }
      parsed.index.non_key_attributes.emplace_back(attribute.get_string());
    }
  } else if (non_key != nullptr) {
    return invalid(fmt::format("ProjectionType is {}, but NonKeyAttributes is specified", *type));
  }
  parsed.index.projection_type = *type;
  if (global) {
    auto throughput = throughput_member(entry);
    if (!throughput) return throughput.error();
    parsed.throughput = *throughput;
  } else if (member(entry, "ProvisionedThroughput") != nullptr) {
    return AwsError::serialization(
        "ProvisionedThroughput is not a member of a LocalSecondaryIndex");
  }
  return parsed;
}

Result<std::vector<ParsedIndex>> parse_indexes(
    const json::object& in, const std::vector<std::pair<std::string, std::string>>& table_keys) {
  std::vector<ParsedIndex> out;
  std::set<std::string> names;
  for (const bool global : {true, false}) {
    const std::string_view list_name = global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes";
    const std::string field = global ? "globalSecondaryIndexes" : "localSecondaryIndexes";
    const auto* list = member(in, list_name);
    if (list == nullptr) continue;
    if (!list->is_array())
      return AwsError::serialization(fmt::format("{} must be a list", list_name));
    const auto& entries = list->get_array();
    if (global && entries.size() > kMaxGlobalIndexes) {
      return invalid(fmt::format("GlobalSecondaryIndex count exceeds the per-table limit of {}",
                                 kMaxGlobalIndexes));
    }
    if (!global && entries.size() > kMaxLocalIndexes) {
      return invalid(fmt::format("Number of LocalSecondaryIndexes exceeds per-table limit of {}",
                                 kMaxLocalIndexes));
    }
    if (!global && !entries.empty() && table_keys.size() < 2) {
      return invalid(
          "Table KeySchema does not have a range key, which is required when specifying a "
          "LocalSecondaryIndex");
    }
    for (std::size_t position = 0; position < entries.size(); ++position) {
      const auto* entry = entries[position].if_object();
      if (entry == nullptr) {
        return AwsError::serialization(fmt::format("{} members must be objects", list_name));
      }
      const std::string member_field = fmt::format("{}.{}.member", field, position + 1);
      auto parsed = parse_index(*entry, global, member_field, table_keys);
      if (!parsed) return parsed.error();
      if (!names.insert(parsed->index.name).second) {
        return invalid(fmt::format("Duplicate index name: {}", parsed->index.name));
      }
      out.push_back(std::move(*parsed));
    }
  }
  return out;
}

}  // namespace

json::object DynamoDbServiceImpl::describe(const TableRecord& table, std::string_view status,
                                           TableSize size) {
  json::array definitions;
  for (const auto& definition : table.attribute_definitions) {
    definitions.push_back(
        {{"AttributeName", definition.name}, {"AttributeType", type_name(definition.type)}});
  }
  json::object out{
      {"AttributeDefinitions", std::move(definitions)},
      {"TableName", table.name},
      {"KeySchema", key_schema_json(table.hash, table.range)},
      {"TableStatus", status},
      {"CreationDateTime", seconds(table.created_ms)},
      {"ProvisionedThroughput",
       {{"NumberOfDecreasesToday", 0},
        {"ReadCapacityUnits", table.read_capacity},
        {"WriteCapacityUnits", table.write_capacity}}},
      // DynamoDB refreshes these about every six hours; Nimbus's are live.
      {"TableSizeBytes", size.bytes},
      {"ItemCount", size.items},
      {"TableArn", table.arn},
      {"TableId", table.id},
      {"DeletionProtectionEnabled", table.deletion_protection},
  };
  if (table.billing_mode == "PAY_PER_REQUEST" || table.billing_mode_changed_ms != 0) {
    json::object summary{{"BillingMode", table.billing_mode}};
    if (table.billing_mode == "PAY_PER_REQUEST") {
      summary["LastUpdateToPayPerRequestDateTime"] = seconds(
          table.billing_mode_changed_ms != 0 ? table.billing_mode_changed_ms : table.created_ms);
    }
    out["BillingModeSummary"] = std::move(summary);
  }
  if (table.table_class != "STANDARD") {
    out["TableClassSummary"] = {{"TableClass", table.table_class}};
  }
  json::array global_indexes;
  json::array local_indexes;
  for (const auto& index : table.indexes) {
    json::object projection{{"ProjectionType", index.projection_type}};
    if (!index.non_key_attributes.empty()) {
      json::array names;
      for (const auto& attribute : index.non_key_attributes) names.emplace_back(attribute);
      projection["NonKeyAttributes"] = std::move(names);
    }
    // Like the table's, DynamoDB's index sizes are estimates refreshed
    // about every six hours; Nimbus does not count them (docs/compatibility).
    json::object described{{"IndexName", index.name},
                           {"KeySchema", key_schema_json(index.hash, index.range)},
                           {"Projection", std::move(projection)},
                           {"IndexSizeBytes", 0},
                           {"ItemCount", 0},
                           {"IndexArn", fmt::format("{}/index/{}", table.arn, index.name)}};
    if (index.global) {
      described["IndexStatus"] = status == "DELETING" ? std::string("DELETING") : index.status;
      if (index.status == "CREATING") described["Backfilling"] = true;
      described["ProvisionedThroughput"] = {{"NumberOfDecreasesToday", 0},
                                            {"ReadCapacityUnits", index.read_capacity},
                                            {"WriteCapacityUnits", index.write_capacity}};
      global_indexes.push_back(std::move(described));
    } else {
      local_indexes.push_back(std::move(described));
    }
  }
  if (!global_indexes.empty()) out["GlobalSecondaryIndexes"] = std::move(global_indexes);
  if (!local_indexes.empty()) out["LocalSecondaryIndexes"] = std::move(local_indexes);
  return out;
}

Result<json::object> DynamoDbServiceImpl::create_table(Store& store, const json::object& in,
                                                       const aws::RequestContext& context) {
  const auto name = string_member(in, "TableName");
  if (!name) return constraint("null", "tableName", "Member must not be null");
  if (auto valid = validate_table_name(*name); !valid) return valid.error();
  if (const auto* value = member(in, "StreamSpecification"); value && value->is_object()) {
    const auto* enabled = value->get_object().if_contains("StreamEnabled");
    if (enabled != nullptr && enabled->is_bool() && enabled->get_bool()) {
      return AwsError("NotImplementedException",
                      "Nimbus does not implement StreamSpecification yet.", 501, Fault::kServer);
    }
  }
  TableRecord table;
  table.name = *name;
  // Key schema.
  const auto* key_schema = member(in, "KeySchema");
  if (key_schema == nullptr) return constraint("null", "keySchema", "Member must not be null");
  if (!key_schema->is_array()) return AwsError::serialization("KeySchema must be a list");
  auto parsed_keys = parse_key_schema(*key_schema, "keySchema");
  if (!parsed_keys) return parsed_keys.error();
  const auto& keys = *parsed_keys;
  auto indexes = parse_indexes(in, keys);
  if (!indexes) return indexes.error();
  // Attribute definitions.
  const auto* definitions = member(in, "AttributeDefinitions");
  if (definitions == nullptr) {
    return constraint("null", "attributeDefinitions", "Member must not be null");
  }
  if (!definitions->is_array())
    return AwsError::serialization("AttributeDefinitions must be a list");
  std::set<std::string> defined;
  for (const auto& definition : definitions->get_array()) {
    const auto* object = definition.if_object();
    if (object == nullptr) return AwsError::serialization("AttributeDefinition must be an object");
    const auto attribute = string_member(*object, "AttributeName");
    const auto type = string_member(*object, "AttributeType");
    if (!attribute) {
      return constraint("null", "attributeDefinitions.member.attributeName",
                        "Member must not be null");
    }
    if (!type) {
      return constraint("null", "attributeDefinitions.member.attributeType",
                        "Member must not be null");
    }
    if (*type != "S" && *type != "N" && *type != "B") {
      return constraint(*type, "attributeDefinitions.member.attributeType",
                        "Member must satisfy enum value set: [B, N, S]");
    }
    if (!defined.insert(*attribute).second) {
      return invalid("Duplicate AttributeName in AttributeDefinitions");
    }
    table.attribute_definitions.push_back({*attribute, *type_from_name(*type)});
  }
  // Every key attribute, of the table's and its indexes' key schemas, is
  // defined, and nothing else is.
  std::vector<std::string> key_names;
  for (const auto& key : keys) key_names.push_back(key.first);
  for (const auto& index : *indexes) {
    for (const auto& key : index.keys) {
      if (std::find(key_names.begin(), key_names.end(), key.first) == key_names.end()) {
        key_names.push_back(key.first);
      }
    }
  }
  for (const auto& key_name : key_names) {
    if (!defined.contains(key_name)) {
      std::vector<std::string> definition_names(defined.begin(), defined.end());
      return invalid(fmt::format(
          "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], "
          "AttributeDefinitions: [{}]",
          fmt::join(key_names, ", "), fmt::join(definition_names, ", ")));
    }
  }
  if (defined.size() != key_names.size()) {
    return invalid(
        "Number of attributes in KeySchema does not exactly match number of attributes defined "
        "in AttributeDefinitions");
  }
  auto type_of = [&](const std::string& attribute) {
    for (const auto& definition : table.attribute_definitions) {
      if (definition.name == attribute) return definition.type;
    }
    return ValueType::kS;
  };
  table.hash = {keys[0].first, type_of(keys[0].first)};
  if (keys.size() == 2) table.range = KeyAttribute{keys[1].first, type_of(keys[1].first)};
  for (auto& parsed : *indexes) {
    parsed.index.hash = {parsed.keys[0].first, type_of(parsed.keys[0].first)};
    if (parsed.keys.size() == 2) {
      parsed.index.range = KeyAttribute{parsed.keys[1].first, type_of(parsed.keys[1].first)};
    }
  }

  // Billing.
  auto billing = enum_member(in, "BillingMode", "billingMode", {"PROVISIONED", "PAY_PER_REQUEST"},
                             "PROVISIONED");
  if (!billing) return billing.error();
  table.billing_mode = *billing;
  auto throughput = throughput_member(in);
  if (!throughput) return throughput.error();
  if (table.billing_mode == "PROVISIONED") {
    if (!*throughput) {
      return invalid(
          "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is "
          "PROVISIONED");
    }
    table.read_capacity = (*throughput)->read;
    table.write_capacity = (*throughput)->write;
  } else if (*throughput) {
    return invalid(
        "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
        "PAY_PER_REQUEST");
  }
  for (auto& parsed : *indexes) {
    if (!parsed.index.global) {
      table.indexes.push_back(std::move(parsed.index));
      continue;
    }
    if (auto set = set_index_throughput(table.billing_mode, parsed.throughput, parsed.index);
        !set) {
      return set.error();
    }
    table.indexes.push_back(std::move(parsed.index));
  }
  // Global indexes first, then local ones, as DescribeTable lists them.
  std::stable_partition(table.indexes.begin(), table.indexes.end(),
                        [](const SecondaryIndex& index) { return index.global; });
  auto table_class = enum_member(in, "TableClass", "tableClass",
                                 {"STANDARD", "STANDARD_INFREQUENT_ACCESS"}, "STANDARD");
  if (!table_class) return table_class.error();
  table.table_class = *table_class;
  if (const auto* protection = member(in, "DeletionProtectionEnabled")) {
    if (!protection->is_bool()) {
      return AwsError::serialization("DeletionProtectionEnabled must be a boolean");
    }
    table.deletion_protection = protection->get_bool();
  }
  auto tags = tags_member(in);
  if (!tags) return tags.error();
  if (tags->size() > kMaxTags) {
    return AwsError::validation("One or more parameter values were invalid: Too many tags");
  }
  table.tags = std::move(*tags);

  table.id = new_request_id();
  table.arn = fmt::format("arn:aws:dynamodb:{}:{}:table/{}", context.region, context.account_id,
                          table.name);
  table.created_ms = now_ms();

  auto created = tables_->mutate(
      table.name,
      [&](const TableRecord* current) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (current != nullptr) {
          return AwsError("ResourceInUseException",
                          fmt::format("Table already exists: {}", table.name), 400);
        }
        return table;
      });
  if (!created) return created.error();
  auto keyspace = store.create_keyspace(table.items_keyspace());
  if (!keyspace) return keyspace.error();
  for (const auto& index : table.indexes) {
    if (auto created_index = store.create_keyspace(table.index_keyspace(index)); !created_index) {
      return created_index.error();
    }
  }
  // Its size needs no count: every item it will hold is added by a write.
  // Its storage is metered from now on.
  if (auto handle = table_named(store, table.name); handle && handle->record->id == table.id) {
    {
      std::lock_guard counting(handle->stats->counting);
      handle->stats->counted.store(true, std::memory_order_release);
    }
    meter_storage(*handle->stats, TableSize{}, now_ms());
  }
  // DynamoDB answers CREATING and becomes ACTIVE moments later; here the
  // table is usable at once, so it is ACTIVE from the start.
  return json::object{{"TableDescription", describe(table, "ACTIVE", TableSize{})}};
}

Result<void> DynamoDbServiceImpl::update_indexes(Store& store, const json::object& in,
                                                 const std::string& name) {
  const auto* updates = member(in, "GlobalSecondaryIndexUpdates");
  if (!updates->is_array()) {
    return AwsError::serialization("GlobalSecondaryIndexUpdates must be a list");
  }
  auto current = tables_->find(name);
  if (!current) return table_not_found(name);
  std::vector<std::pair<std::string, std::string>> table_keys{{current->hash.name, "HASH"}};
  if (current->range) table_keys.emplace_back(current->range->name, "RANGE");

  // The request, checked before anything changes.
  std::optional<ParsedIndex> created;
  std::optional<std::string> deleted;
  std::vector<std::pair<std::string, Throughput>> throughputs;
  for (std::size_t position = 0; position < updates->get_array().size(); ++position) {
    const auto* update = updates->get_array()[position].if_object();
    if (update == nullptr) return AwsError::serialization("an index update must be an object");
    const std::string field = fmt::format("globalSecondaryIndexUpdates.{}.member", position + 1);
    const auto* create = member(*update, "Create");
    const auto* remove = member(*update, "Delete");
    const auto* change = member(*update, "Update");
    if ((create != nullptr) + (remove != nullptr) + (change != nullptr) != 1) {
      return invalid("One of GlobalSecondaryIndexUpdate.Create, Update or Delete is required");
    }
    if ((create != nullptr || remove != nullptr) && (created || deleted)) {
      return AwsError("LimitExceededException",
                      "Subscriber limit exceeded: Only 1 online index can be created or deleted "
                      "simultaneously per table",
                      400);
    }
    const auto* object = (create != nullptr   ? create
                          : remove != nullptr ? remove
                                              : change)
                             ->if_object();
    if (object == nullptr) return AwsError::serialization("an index update must be an object");
    if (create != nullptr) {
      auto parsed = parse_index(*object, true, field + ".create", table_keys);
      if (!parsed) return parsed.error();
      created = std::move(*parsed);
      continue;
    }
    const auto index_name = string_member(*object, "IndexName");
    if (!index_name) {
      return constraint("null", field + (remove != nullptr ? ".delete" : ".update") + ".indexName",
                        "Member must not be null");
    }
    if (remove != nullptr) {
      deleted = *index_name;
      continue;
    }
    auto throughput = throughput_member(*object);
    if (!throughput) return throughput.error();
    if (!*throughput) {
      return constraint("null", field + ".update.provisionedThroughput", "Member must not be null");
    }
    throughputs.emplace_back(*index_name, **throughput);
  }
  std::vector<KeyAttribute> definitions;
  if (const auto* list = member(in, "AttributeDefinitions"); list != nullptr && list->is_array()) {
    for (const auto& definition : list->get_array()) {
      const auto* object = definition.if_object();
      if (object == nullptr)
        return AwsError::serialization("AttributeDefinition must be an object");
      const auto attribute = string_member(*object, "AttributeName");
      const auto type = string_member(*object, "AttributeType");
      if (!attribute) {
        return constraint("null", "attributeDefinitions.member.attributeName",
                          "Member must not be null");
      }
      if (!type || (*type != "S" && *type != "N" && *type != "B")) {
        return constraint(type ? *type : "null", "attributeDefinitions.member.attributeType",
                          "Member must satisfy enum value set: [B, N, S]");
      }
      definitions.push_back({*attribute, *type_from_name(*type)});
    }
  }

  std::optional<SecondaryIndex> dropped;
  auto changed = tables_->mutate(
      name,
      [&](const TableRecord* table_now) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (table_now == nullptr) return table_not_found(name);
        TableRecord table = *table_now;
        for (const auto& [index_name, throughput] : throughputs) {
          auto it = std::find_if(
              table.indexes.begin(), table.indexes.end(),
              [&](const auto& index) { return index.global && index.name == index_name; });
          if (it == table.indexes.end()) {
            return AwsError("ResourceNotFoundException",
                            fmt::format("Requested resource not found: Index: {}", index_name),
                            400);
          }
          if (auto set = set_index_throughput(table.billing_mode, throughput, *it); !set) {
            return set.error();
          }
        }
        if (deleted) {
          auto it = std::find_if(
              table.indexes.begin(), table.indexes.end(),
              [&](const auto& index) { return index.global && index.name == *deleted; });
          if (it == table.indexes.end()) {
            return AwsError("ResourceNotFoundException",
                            fmt::format("Requested resource not found: Index: {}", *deleted), 400);
          }
          dropped = *it;
          table.indexes.erase(it);
          ++table.index_version;
        }
        if (created) {
          SecondaryIndex index = created->index;
          if (find_index(table, index.name) != nullptr) {
            return invalid(fmt::format("Index with name {} already exists", index.name));
          }
          const auto globals = std::count_if(table.indexes.begin(), table.indexes.end(),
                                             [](const auto& existing) { return existing.global; });
          if (static_cast<std::size_t>(globals) >= kMaxGlobalIndexes) {
            return invalid(fmt::format(
                "GlobalSecondaryIndex count exceeds the per-table limit of {}", kMaxGlobalIndexes));
          }
          // Each key attribute is defined, by the table or by this request.
          std::vector<std::string> key_names;
          for (std::size_t k = 0; k < created->keys.size(); ++k) {
            const std::string& attribute = created->keys[k].first;
            key_names.push_back(attribute);
            std::optional<ValueType> type;
            for (const auto& known : table.attribute_definitions) {
              if (known.name == attribute) type = known.type;
            }
            for (const auto& given : definitions) {
              if (given.name == attribute) {
                if (type && *type != given.type) {
                  return invalid(
                      fmt::format("Cannot change the type of key attribute {} from {} to {}",
                                  attribute, type_name(*type), type_name(given.type)));
                }
                if (!type) {
                  table.attribute_definitions.push_back(given);
                  type = given.type;
                }
              }
            }
            if (!type) {
              std::vector<std::string> defined;
              for (const auto& given : definitions) defined.push_back(given.name);
              return invalid(fmt::format(
                  "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], "
                  "AttributeDefinitions: [{}]",
                  fmt::join(key_names, ", "), fmt::join(defined, ", ")));
            }
            (k == 0 ? index.hash : index.range.emplace()) = KeyAttribute{attribute, *type};
          }
          if (auto set = set_index_throughput(table.billing_mode, created->throughput, index);
              !set) {
            return set.error();
          }
          ++table.index_version;
          index.generation = table.index_version;
          index.status = "CREATING";
          // Its keyspace exists before any record names it.
          if (auto keyspace = store.open_or_create_keyspace(table.index_keyspace(index));
              !keyspace) {
            return keyspace.error();
          }
          const auto first_local =
              std::find_if(table.indexes.begin(), table.indexes.end(),
                           [](const auto& existing) { return !existing.global; });
          table.indexes.insert(first_local, std::move(index));
        }
        // Definitions no key uses any more go with a deleted index.
        std::erase_if(table.attribute_definitions, [&](const KeyAttribute& definition) {
          if (definition.name == table.hash.name) return false;
          if (table.range && definition.name == table.range->name) return false;
          return std::none_of(table.indexes.begin(), table.indexes.end(), [&](const auto& index) {
            return index.hash.name == definition.name ||
                   (index.range && index.range->name == definition.name);
          });
        });
        return table;
      });
  if (!changed) return changed.error();
  auto handle = table_named(store, name);
  if (!handle) return handle.error();
  if (dropped) {
    // No write made with the record that still had the index is left to
    // write into its keyspace once it is dropped. (A new index's backfill
    // waits for such writes itself.)
    drain_older_writes(*handle);
    {
      std::lock_guard lock(open_tables_mutex_);
      if (const auto it = open_tables_.find(handle->record->id); it != open_tables_.end()) {
        it->second.indexes.erase(dropped->name);
      }
    }
    if (auto gone = store.drop_keyspace(handle->record->index_keyspace(*dropped)); !gone) {
      return gone.error();
    }
  }
  if (created) {
    {
      std::lock_guard lock(index_mutex_);
      index_work_ = true;
    }
    index_wake_.notify_all();
  }
  return ok();
}

Result<json::object> DynamoDbServiceImpl::describe_table(Store& store, const json::object& in,
                                                         const aws::RequestContext&) {
  auto handle = named_table(store, in);
  if (!handle) return handle.error();
  auto size = table_size(store, *handle);
  if (!size) return size.error();
  return json::object{{"Table", describe(*handle->record, "ACTIVE", *size)}};
}

Result<json::object> DynamoDbServiceImpl::list_tables(Store&, const json::object& in,
                                                      const aws::RequestContext&) {
  std::int64_t limit = 100;
  if (const auto* value = member(in, "Limit")) {
    const auto number = aws::json_integer(*value);
    if (!number) return AwsError::serialization("Limit must be an integer");
    if (*number < 1) {
      return constraint(std::to_string(*number), "limit",
                        "Member must have value greater than or equal to 1");
    }
    if (*number > 100) {
      return constraint(std::to_string(*number), "limit",
                        "Member must have value less than or equal to 100");
    }
    limit = *number;
  }
  const auto start = string_member(in, "ExclusiveStartTableName");
  if (start) {
    if (auto valid = validate_table_name(*start, "exclusiveStartTableName"); !valid) {
      return valid.error();
    }
  }
  json::array names;
  std::string last;
  bool more = false;
  for (const auto& table : tables_->all()) {
    if (start && table->name <= *start) continue;
    if (static_cast<std::int64_t>(names.size()) == limit) {
      more = true;
      break;
    }
    names.emplace_back(table->name);
    last = table->name;
  }
  json::object out{{"TableNames", std::move(names)}};
  if (more) out["LastEvaluatedTableName"] = last;
  return out;
}

Result<json::object> DynamoDbServiceImpl::delete_table(Store& store, const json::object& in,
                                                       const aws::RequestContext&) {
  const auto name = string_member(in, "TableName");
  if (!name) return constraint("null", "tableName", "Member must not be null");
  if (auto valid = validate_table_name(*name); !valid) return valid.error();
  std::shared_ptr<const TableRecord> removed;
  auto deleted = tables_->mutate(
      *name,
      [&](const TableRecord* current) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (current == nullptr) return table_not_found(*name);
        if (current->deletion_protection) {
          return AwsError::validation(
              "Resource cannot be deleted as it is currently protected against deletion. Disable "
              "deletion protection first.");
        }
        removed = std::make_shared<const TableRecord>(*current);
        return storage::RecordCatalog<TableRecord>::Remove{};
      });
  if (!deleted) return deleted.error();
  std::optional<OpenTable> open;
  {
    std::lock_guard lock(open_tables_mutex_);
    if (const auto it = open_tables_.find(removed->id); it != open_tables_.end()) {
      open = std::move(it->second);
      open_tables_.erase(it);
    }
  }
  // Storage is billed up to the deletion.
  if (open) {
    const TableHandle handle{removed, open->items, open->stats, {}};
    if (auto size = table_size(store, handle)) meter_storage(*open->stats, *size, now_ms());
  }
  // The name is free at once; the store removes the items in the background.
  for (const auto& index : removed->indexes) {
    if (auto dropped = store.drop_keyspace(removed->index_keyspace(index)); !dropped) {
      return dropped.error();
    }
  }
  if (auto dropped = store.drop_keyspace(removed->items_keyspace()); !dropped) {
    return dropped.error();
  }
  // A table being deleted reports no items.
  return json::object{{"TableDescription", describe(*removed, "DELETING", TableSize{})}};
}

Result<json::object> DynamoDbServiceImpl::update_table(Store& store, const json::object& in,
                                                       const aws::RequestContext&) {
  const auto name = string_member(in, "TableName");
  if (!name) return constraint("null", "tableName", "Member must not be null");
  if (auto valid = validate_table_name(*name); !valid) return valid.error();
  for (std::string_view unsupported : {"StreamSpecification", "ReplicaUpdates"}) {
    if (member(in, unsupported) != nullptr) {
      return AwsError("NotImplementedException",
                      fmt::format("Nimbus does not implement {} yet.", unsupported), 501,
                      Fault::kServer);
    }
  }
  auto billing =
      enum_member(in, "BillingMode", "billingMode", {"PROVISIONED", "PAY_PER_REQUEST"}, "");
  if (!billing) return billing.error();
  auto throughput = throughput_member(in);
  if (!throughput) return throughput.error();
  auto table_class =
      enum_member(in, "TableClass", "tableClass", {"STANDARD", "STANDARD_INFREQUENT_ACCESS"}, "");
  if (!table_class) return table_class.error();
  const auto* protection = member(in, "DeletionProtectionEnabled");
  if (protection != nullptr && !protection->is_bool()) {
    return AwsError::serialization("DeletionProtectionEnabled must be a boolean");
  }
  const bool index_updates = member(in, "GlobalSecondaryIndexUpdates") != nullptr;
  if (index_updates) {
    if (auto updated_indexes = update_indexes(store, in, *name); !updated_indexes) {
      return updated_indexes.error();
    }
    if (billing->empty() && !*throughput && table_class->empty() && protection == nullptr) {
      auto handle = table_named(store, *name);
      if (!handle) return handle.error();
      auto size = table_size(store, *handle);
      if (!size) return size.error();
      return json::object{{"TableDescription", describe(*handle->record, "ACTIVE", *size)}};
    }
  }
  if (billing->empty() && !*throughput && table_class->empty() && protection == nullptr &&
      member(in, "SSESpecification") == nullptr && !index_updates) {
    return AwsError::validation(
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
        "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required");
  }
  TableRecord updated;
  auto changed = tables_->mutate(
      *name,
      [&](const TableRecord* current) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (current == nullptr) return table_not_found(*name);
        TableRecord table = *current;
        const std::string mode = billing->empty() ? table.billing_mode : *billing;
        if (mode == "PAY_PER_REQUEST" && *throughput) {
          return invalid(
              "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode "
              "is "
              "PAY_PER_REQUEST");
        }
        if (mode == "PROVISIONED" && table.billing_mode != "PROVISIONED" && !*throughput) {
          return AwsError::validation(
              "One or more parameter values were invalid: ProvisionedThroughput must be specified "
              "when BillingMode is PROVISIONED");
        }
        if (mode == "PROVISIONED" && table.billing_mode != "PROVISIONED") {
          // Each global index needs throughput of its own, which only
          // GlobalSecondaryIndexUpdates (not implemented) would give.
          for (const auto& index : table.indexes) {
            if (index.global) return index_throughput_required(index.name);
          }
        }
        if (mode != table.billing_mode) {
          table.billing_mode = mode;
          table.billing_mode_changed_ms = now_ms();
          if (mode == "PAY_PER_REQUEST") {
            table.read_capacity = table.write_capacity = 0;
            for (auto& index : table.indexes) index.read_capacity = index.write_capacity = 0;
          }
        }
        if (*throughput) {
          if (table.read_capacity == (*throughput)->read &&
              table.write_capacity == (*throughput)->write && billing->empty()) {
            return AwsError::validation(fmt::format(
                "The provisioned throughput for the table will not change. The requested value "
                "equals the current value. Current ReadCapacityUnits provisioned for the table: "
                "{}. "
                "Requested ReadCapacityUnits: {}. Current WriteCapacityUnits provisioned for the "
                "table: {}. Requested WriteCapacityUnits: {}. Refer to the Amazon DynamoDB "
                "Developer "
                "Guide for current limits and how to request higher limits.",
                table.read_capacity, (*throughput)->read, table.write_capacity,
                (*throughput)->write));
          }
          table.read_capacity = (*throughput)->read;
          table.write_capacity = (*throughput)->write;
        }
        if (!table_class->empty()) table.table_class = *table_class;
        if (protection != nullptr) table.deletion_protection = protection->get_bool();
        updated = table;
        return table;
      });
  if (!changed) return changed.error();
  auto handle = table_named(store, updated.name);
  if (!handle) return handle.error();
  auto size = table_size(store, *handle);
  if (!size) return size.error();
  return json::object{{"TableDescription", describe(updated, "ACTIVE", *size)}};
}

Result<json::object> DynamoDbServiceImpl::tag_resource(Store&, const json::object& in,
                                                       const aws::RequestContext& context) {
  const auto arn = string_member(in, "ResourceArn");
  if (!arn) return constraint("null", "resourceArn", "Member must not be null");
  auto name = table_of_arn(*arn, context.region, context.account_id);
  if (!name) return name.error();
  auto tags = tags_member(in);
  if (!tags) return tags.error();
  if (member(in, "Tags") == nullptr) return constraint("null", "tags", "Member must not be null");
  auto tagged = tables_->mutate(
      *name,
      [&](const TableRecord* current) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (current == nullptr) return arn_not_found(*arn);
        TableRecord table = *current;
        merge_tags(table.tags, *tags);
        if (table.tags.size() > kMaxTags) {
          return AwsError("LimitExceededException",
                          "Too many tags: a table may have at most 50 tags", 400);
        }
        return table;
      });
  if (!tagged) return tagged.error();
  return json::object{};
}

Result<json::object> DynamoDbServiceImpl::untag_resource(Store&, const json::object& in,
                                                         const aws::RequestContext& context) {
  const auto arn = string_member(in, "ResourceArn");
  if (!arn) return constraint("null", "resourceArn", "Member must not be null");
  auto name = table_of_arn(*arn, context.region, context.account_id);
  if (!name) return name.error();
  const auto* keys = member(in, "TagKeys");
  if (keys == nullptr) return constraint("null", "tagKeys", "Member must not be null");
  if (!keys->is_array()) return AwsError::serialization("TagKeys must be a list");
  std::set<std::string> removed;
  for (const auto& key : keys->get_array()) {
    if (!key.is_string()) return AwsError::serialization("A tag key must be a string");
    removed.insert(std::string(key.get_string()));
  }
  auto untagged = tables_->mutate(
      *name,
      [&](const TableRecord* current) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (current == nullptr) return arn_not_found(*arn);
        TableRecord table = *current;
        std::erase_if(table.tags, [&](const auto& tag) { return removed.contains(tag.first); });
        return table;
      });
  if (!untagged) return untagged.error();
  return json::object{};
}

Result<json::object> DynamoDbServiceImpl::list_tags_of_resource(
    Store&, const json::object& in, const aws::RequestContext& context) {
  const auto arn = string_member(in, "ResourceArn");
  if (!arn) return constraint("null", "resourceArn", "Member must not be null");
  auto name = table_of_arn(*arn, context.region, context.account_id);
  if (!name) return name.error();
  const auto record = tables_->find(*name);
  if (!record) return arn_not_found(*arn);
  json::array tags;
  for (const auto& [key, value] : record->tags) tags.push_back({{"Key", key}, {"Value", value}});
  return json::object{{"Tags", std::move(tags)}};
}

Result<json::object> DynamoDbServiceImpl::describe_limits(Store&, const json::object&,
                                                          const aws::RequestContext&) {
  return json::object{{"AccountMaxReadCapacityUnits", 80'000},
                      {"AccountMaxWriteCapacityUnits", 80'000},
                      {"TableMaxReadCapacityUnits", kMaxCapacityUnits},
                      {"TableMaxWriteCapacityUnits", kMaxCapacityUnits}};
}

Result<json::object> DynamoDbServiceImpl::describe_time_to_live(Store& store,
                                                                const json::object& in,
                                                                const aws::RequestContext&) {
  auto table = named_table(store, in);
  if (!table) return table.error();
  const TableRecord& record = *table->record;
  if (!record.ttl_enabled) {
    return json::object{{"TimeToLiveDescription", {{"TimeToLiveStatus", "DISABLED"}}}};
  }
  return json::object{{"TimeToLiveDescription",
                       {{"TimeToLiveStatus", "ENABLED"}, {"AttributeName", record.ttl_attribute}}}};
}

Result<json::object> DynamoDbServiceImpl::update_time_to_live(Store& store, const json::object& in,
                                                              const aws::RequestContext&) {
  const auto* specification = member(in, "TimeToLiveSpecification");
  if (specification == nullptr) {
    return constraint("null", "timeToLiveSpecification", "Member must not be null");
  }
  if (!specification->is_object()) {
    return AwsError::serialization("TimeToLiveSpecification must be a structure");
  }
  const auto& spec = specification->get_object();
  const auto* enabled = member(spec, "Enabled");
  if (enabled == nullptr) {
    return constraint("null", "timeToLiveSpecification.enabled", "Member must not be null");
  }
  if (!enabled->is_bool()) return AwsError::serialization("Enabled must be a boolean");
  const auto attribute = string_member(spec, "AttributeName");
  if (!attribute) {
    return constraint("null", "timeToLiveSpecification.attributeName", "Member must not be null");
  }
  if (attribute->empty() || attribute->size() > 255) {
    return constraint(*attribute, "timeToLiveSpecification.attributeName",
                      attribute->empty() ? "Member must have length greater than or equal to 1"
                                         : "Member must have length less than or equal to 255");
  }
  auto handle = table(store, in);
  if (!handle) return handle.error();
  const bool enable = enabled->get_bool();
  auto changed = tables_->mutate(
      handle->record->name,
      [&](const TableRecord* current) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (current == nullptr) return table_not_found(handle->record->name);
        TableRecord updated = *current;
        if (enable) {
          if (current->ttl_enabled) {
            return AwsError::validation("TimeToLive is already enabled");
          }
          updated.ttl_enabled = true;
          updated.ttl_attribute = *attribute;
        } else {
          if (!current->ttl_enabled) {
            return AwsError::validation("TimeToLive is already disabled");
          }
          if (current->ttl_attribute != *attribute) {
            return AwsError::validation(
                fmt::format("TimeToLive is active on a different AttributeName: current "
                            "AttributeName is {}",
                            current->ttl_attribute));
          }
          updated.ttl_enabled = false;
        }
        return updated;
      });
  if (!changed) return changed.error();
  return json::object{
      {"TimeToLiveSpecification", {{"Enabled", enable}, {"AttributeName", *attribute}}}};
}

}  // namespace nimbus::services::dynamodb
