#include "nimbus/services/dynamodb/internal/indexes.h"

#include <fmt/format.h>

namespace nimbus::services::dynamodb {
namespace {

std::int64_t write_units(std::size_t bytes) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((bytes + 1023) / 1024));
}

const AttributeValue* typed(const KeyAttribute& attribute, const Item& item) {
  const auto it = item.find(attribute.name);
  if (it == item.end() || it->second.type != attribute.type) return nullptr;
  return &it->second;
}

}  // namespace

const SecondaryIndex* find_index(const TableRecord& table, std::string_view name) {
  for (const auto& index : table.indexes) {
    if (index.name == name) return &index;
  }
  return nullptr;
}

TableRecord index_schema(const TableRecord& table, const SecondaryIndex& index) {
  TableRecord schema;
  schema.name = table.name;
  schema.id = table.id;
  schema.hash = index.hash;
  schema.range = index.range;
  return schema;
}

Result<void> check_index_keys(const TableRecord& table, const Item& item) {
  for (const auto& index : table.indexes) {
    for (const KeyAttribute* key : {&index.hash, index.range ? &*index.range : nullptr}) {
      if (key == nullptr) continue;
      const auto it = item.find(key->name);
      if (it == item.end()) continue;
      const AttributeValue& value = it->second;
      if (value.type != key->type) {
        return AwsError::validation(fmt::format(
            "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: "
            "{} Actual: {} IndexName: {}",
            key->name, type_name(key->type), type_name(value.type), index.name));
      }
      if ((value.type == ValueType::kS || value.type == ValueType::kB) && value.scalar.empty()) {
        return AwsError::validation(fmt::format(
            "One or more parameter values are not valid. A value specified for a secondary index "
            "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
            "{} value. IndexName: {}, IndexKey: {}",
            value.type == ValueType::kS ? "string" : "binary", index.name, key->name));
      }
    }
  }
  return ok();
}

std::optional<std::string> index_entry_key(const SecondaryIndex& index, const Item& item,
                                           std::string_view table_key) {
  const AttributeValue* hash = typed(index.hash, item);
  if (hash == nullptr) return std::nullopt;
  std::string key = partition_prefix(*hash);
  if (index.range) {
    const AttributeValue* range = typed(*index.range, item);
    if (range == nullptr) return std::nullopt;
    key += encode_key_value(*range);
  }
  key += table_key;
  return key;
}

Item index_projection(const TableRecord& table, const SecondaryIndex& index, const Item& item) {
  if (index.projection_type == "ALL") return item;
  Item out;
  auto keep = [&](const std::string& name) {
    if (const auto it = item.find(name); it != item.end()) out.insert(*it);
  };
  keep(table.hash.name);
  if (table.range) keep(table.range->name);
  keep(index.hash.name);
  if (index.range) keep(index.range->name);
  for (const auto& name : index.non_key_attributes) keep(name);
  return out;
}

std::int64_t add_index_writes(const TableRecord& table,
                              const std::vector<storage::Keyspace>& keyspaces,
                              std::string_view table_key, const Item* old_item,
                              const Item* new_item, storage::WriteBatch& batch,
                              std::vector<std::int64_t>* units_by_index) {
  if (units_by_index != nullptr) units_by_index->resize(table.indexes.size(), 0);
  std::int64_t units = 0;
  for (std::size_t i = 0; i < table.indexes.size() && i < keyspaces.size(); ++i) {
    const SecondaryIndex& index = table.indexes[i];
    const auto old_key =
        old_item != nullptr ? index_entry_key(index, *old_item, table_key) : std::nullopt;
    const auto new_key =
        new_item != nullptr ? index_entry_key(index, *new_item, table_key) : std::nullopt;
    if (!old_key && !new_key) continue;
    std::string new_value;
    std::size_t new_size = 0;
    if (new_key) {
      const Item projected = index_projection(table, index, *new_item);
      new_size = item_size(projected);
      new_value = encode_item(projected, new_size);
    }
    std::int64_t index_units = 0;
    if (old_key) {
      const Item projected = index_projection(table, index, *old_item);
      const std::size_t old_size = item_size(projected);
      // An entry the write leaves as it was costs nothing and is not rewritten.
      if (new_key && *new_key == *old_key && encode_item(projected, old_size) == new_value) {
        continue;
      }
      if (!new_key || *new_key != *old_key) {
        batch.del(keyspaces[i], *old_key);
        index_units += write_units(old_size);
      }
    }
    if (new_key) {
      batch.put(keyspaces[i], *new_key, new_value);
      index_units += write_units(new_size);
    }
    units += index_units;
    if (units_by_index != nullptr) (*units_by_index)[i] += index_units;
  }
  return units;
}

}  // namespace nimbus::services::dynamodb
