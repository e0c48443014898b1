#include "nimbus/services/dynamodb/internal/table.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "nimbus/storage/key_encoding.h"

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

constexpr char kTableFormat = 1;
constexpr char kItemFormat = 1;

json::object key_attribute_json(const KeyAttribute& attribute) {
  return {{"name", attribute.name}, {"type", type_name(attribute.type)}};
}

Result<KeyAttribute> key_attribute_from(const json::value& value) {
  const auto* object = value.if_object();
  if (object == nullptr) return AwsError::internal("a key attribute is not an object");
  KeyAttribute out;
  const auto* name = object->if_contains("name");
  const auto* type = object->if_contains("type");
  if (name == nullptr || !name->is_string() || type == nullptr || !type->is_string()) {
    return AwsError::internal("a key attribute lacks name or type");
  }
  out.name = std::string(name->get_string());
  auto parsed = type_from_name(type->get_string());
  if (!parsed) return AwsError::internal("a key attribute has an unknown type");
  out.type = *parsed;
  return out;
}

std::int64_t int_of(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_int64() ? value->get_int64() : 0;
}

std::string string_of(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

AwsError type_mismatch(const KeyAttribute& attribute, const AttributeValue& value,
                       KeySource source) {
  if (source == KeySource::kKey) {
    return AwsError::validation("The provided key element does not match the schema");
  }
  return AwsError::validation(fmt::format(
      "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: "
      "{}",
      attribute.name, type_name(attribute.type), type_name(value.type)));
}

Result<const AttributeValue*> key_value(const KeyAttribute& attribute, const Item& attributes,
                                        KeySource source) {
  const auto it = attributes.find(attribute.name);
  if (it == attributes.end()) {
    if (source == KeySource::kKey) {
      return AwsError::validation("The provided key element does not match the schema");
    }
    return AwsError::validation(
        fmt::format("One or more parameter values were invalid: Missing the key {} in the item",
                    attribute.name));
  }
  const AttributeValue& value = it->second;
  if (value.type != attribute.type) return type_mismatch(attribute, value, source);
  if ((value.type == ValueType::kS || value.type == ValueType::kB) && value.scalar.empty()) {
    return AwsError::validation(fmt::format(
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty {} value. Key: {}",
        value.type == ValueType::kS ? "string" : "binary", attribute.name));
  }
  return &value;
}

}  // namespace

std::string TableRecord::encode() const {
  json::object out;
  out["name"] = name;
  out["id"] = id;
  out["arn"] = arn;
  out["createdMs"] = created_ms;
  out["hash"] = key_attribute_json(hash);
  if (range) out["range"] = key_attribute_json(*range);
  json::array definitions;
  for (const auto& definition : attribute_definitions) {
    definitions.push_back(key_attribute_json(definition));
  }
  out["attributeDefinitions"] = std::move(definitions);
  out["billingMode"] = billing_mode;
  out["readCapacity"] = read_capacity;
  out["writeCapacity"] = write_capacity;
  out["billingModeChangedMs"] = billing_mode_changed_ms;
  out["tableClass"] = table_class;
  out["deletionProtection"] = deletion_protection;
  json::array tag_list;
  for (const auto& [key, value] : tags) tag_list.push_back(json::array{key, value});
  out["tags"] = std::move(tag_list);
  if (!indexes.empty()) {
    json::array index_list;
    for (const auto& index : indexes) {
      json::object entry{{"name", index.name},
                         {"global", index.global},
                         {"hash", key_attribute_json(index.hash)},
                         {"projection", index.projection_type}};
      if (index.range) entry["range"] = key_attribute_json(*index.range);
      if (!index.non_key_attributes.empty()) {
        json::array names;
        for (const auto& name : index.non_key_attributes) names.emplace_back(name);
        entry["nonKeyAttributes"] = std::move(names);
      }
      if (index.status != "ACTIVE") entry["status"] = index.status;
      if (index.generation != 0) entry["generation"] = index.generation;
      if (index.read_capacity != 0) entry["readCapacity"] = index.read_capacity;
      if (index.write_capacity != 0) entry["writeCapacity"] = index.write_capacity;
      index_list.push_back(std::move(entry));
    }
    out["indexes"] = std::move(index_list);
  }
  if (index_version != 0) out["indexVersion"] = index_version;
  if (!ttl_attribute.empty()) {
    out["ttlEnabled"] = ttl_enabled;
    out["ttlAttribute"] = ttl_attribute;
  }
  std::string bytes(1, kTableFormat);
  bytes += json::serialize(out);
  return bytes;
}

Result<TableRecord> TableRecord::decode(std::string_view bytes) {
  if (bytes.empty() || bytes.front() != kTableFormat) {
    return AwsError::internal("unknown table record format");
  }
  boost::system::error_code error;
  auto parsed = json::parse(bytes.substr(1), error);
  if (error || !parsed.is_object()) return AwsError::internal("unreadable table record");
  const auto& in = parsed.get_object();
  TableRecord out;
  out.name = string_of(in, "name");
  out.id = string_of(in, "id");
  out.arn = string_of(in, "arn");
  out.created_ms = int_of(in, "createdMs");
  const auto* hash = in.if_contains("hash");
  if (hash == nullptr) return AwsError::internal("a table record lacks its hash key");
  auto hash_key = key_attribute_from(*hash);
  if (!hash_key) return hash_key.error();
  out.hash = std::move(*hash_key);
  if (const auto* range = in.if_contains("range")) {
    auto range_key = key_attribute_from(*range);
    if (!range_key) return range_key.error();
    out.range = std::move(*range_key);
  }
  if (const auto* definitions = in.if_contains("attributeDefinitions");
      definitions != nullptr && definitions->is_array()) {
    for (const auto& definition : definitions->get_array()) {
      auto attribute = key_attribute_from(definition);
      if (!attribute) return attribute.error();
      out.attribute_definitions.push_back(std::move(*attribute));
    }
  }
  out.billing_mode = string_of(in, "billingMode");
  out.read_capacity = int_of(in, "readCapacity");
  out.write_capacity = int_of(in, "writeCapacity");
  out.billing_mode_changed_ms = int_of(in, "billingModeChangedMs");
  out.table_class = string_of(in, "tableClass");
  if (const auto* protection = in.if_contains("deletionProtection");
      protection != nullptr && protection->is_bool()) {
    out.deletion_protection = protection->get_bool();
  }
  if (const auto* ttl = in.if_contains("ttlEnabled"); ttl != nullptr && ttl->is_bool()) {
    out.ttl_enabled = ttl->get_bool();
    out.ttl_attribute = string_of(in, "ttlAttribute");
  }
  if (const auto* list = in.if_contains("indexes"); list != nullptr && list->is_array()) {
    for (const auto& value : list->get_array()) {
      const auto* entry = value.if_object();
      if (entry == nullptr) return AwsError::internal("a table record has a malformed index");
      SecondaryIndex index;
      index.name = string_of(*entry, "name");
      if (const auto* global = entry->if_contains("global"); global && global->is_bool()) {
        index.global = global->get_bool();
      }
      const auto* hash_entry = entry->if_contains("hash");
      if (hash_entry == nullptr) return AwsError::internal("an index record lacks its hash key");
      auto index_hash = key_attribute_from(*hash_entry);
      if (!index_hash) return index_hash.error();
      index.hash = std::move(*index_hash);
      if (const auto* range_entry = entry->if_contains("range")) {
        auto index_range = key_attribute_from(*range_entry);
        if (!index_range) return index_range.error();
        index.range = std::move(*index_range);
      }
      index.projection_type = string_of(*entry, "projection");
      if (const auto* names = entry->if_contains("nonKeyAttributes");
          names != nullptr && names->is_array()) {
        for (const auto& name : names->get_array()) {
          if (name.is_string()) index.non_key_attributes.emplace_back(name.get_string());
        }
      }
      if (const auto status = string_of(*entry, "status"); !status.empty()) index.status = status;
      index.generation = static_cast<std::uint64_t>(int_of(*entry, "generation"));
      index.read_capacity = int_of(*entry, "readCapacity");
      index.write_capacity = int_of(*entry, "writeCapacity");
      out.indexes.push_back(std::move(index));
    }
  }
  out.index_version = static_cast<std::uint64_t>(int_of(in, "indexVersion"));
  if (const auto* tags = in.if_contains("tags"); tags != nullptr && tags->is_array()) {
    for (const auto& tag : tags->get_array()) {
      const auto* pair = tag.if_array();
      if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
          !(*pair)[1].is_string()) {
        return AwsError::internal("a table record has a malformed tag");
      }
      out.tags.emplace_back(std::string((*pair)[0].get_string()),
                            std::string((*pair)[1].get_string()));
    }
  }
  return out;
}

std::uint32_t partition_hash(std::string_view encoded_hash_key) {
  std::uint32_t hash = 2166136261u;
  for (const char c : encoded_hash_key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

std::string encode_key_value(const AttributeValue& value) {
  storage::KeyEncoder encoder;
  switch (value.type) {
    case ValueType::kS:
      encoder.string(value.scalar);
      break;
    case ValueType::kB:
      encoder.binary(value.scalar);
      break;
    default:
      encoder.number(value.decimal());
      break;
  }
  return encoder.take();
}

std::string partition_prefix(const AttributeValue& hash_value) {
  const std::string encoded = encode_key_value(hash_value);
  const std::uint32_t hash = partition_hash(encoded);
  std::string out;
  out.reserve(4 + encoded.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((hash >> shift) & 0xff));
  }
  out += encoded;
  return out;
}

Result<std::string> storage_key(const TableRecord& table, const Item& attributes,
                                KeySource source) {
  if (source == KeySource::kKey && attributes.size() != (table.range ? 2u : 1u)) {
    return AwsError::validation("The provided key element does not match the schema");
  }
  auto hash = key_value(table.hash, attributes, source);
  if (!hash) return hash.error();
  if (value_size(**hash) > kMaxHashKeyBytes) {
    return AwsError::validation(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes");
  }
  std::string key = partition_prefix(**hash);
  if (table.range) {
    auto range = key_value(*table.range, attributes, source);
    if (!range) return range.error();
    if (value_size(**range) > kMaxRangeKeyBytes) {
      return AwsError::validation(
          "One or more parameter values were invalid: Aggregated size of all range keys has "
          "exceeded the size limit of 1024 bytes");
    }
    key += encode_key_value(**range);
  }
  return key;
}

Item key_of(const TableRecord& table, const Item& item) {
  Item out;
  if (const auto it = item.find(table.hash.name); it != item.end()) out.insert(*it);
  if (table.range) {
    if (const auto it = item.find(table.range->name); it != item.end()) out.insert(*it);
  }
  return out;
}

std::string encode_item(const Item& item) { return encode_item(item, item_size(item)); }

std::string encode_item(const Item& item, std::size_t size) {
  std::string out;
  out.push_back(kItemFormat);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  out += json::serialize(to_json(item));
  return out;
}

Result<StoredItem> read_stored(std::string_view bytes) {
  if (bytes.size() < 5 || bytes.front() != kItemFormat) {
    return AwsError::internal("unknown item format");
  }
  StoredItem out;
  for (std::size_t i = 1; i < 5; ++i) {
    out.size = (out.size << 8) | static_cast<unsigned char>(bytes[i]);
  }
  out.json = bytes.substr(5);
  return out;
}

Result<Item> decode_item(std::string_view bytes) {
  auto stored = read_stored(bytes);
  if (!stored) return stored.error();
  boost::system::error_code error;
  auto parsed = parse_json(stored->json, error);
  if (error) return AwsError::internal("unreadable stored item");
  return parse_item(parsed);
}

}  // namespace nimbus::services::dynamodb
