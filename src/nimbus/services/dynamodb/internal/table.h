#pragma once

// A table as Nimbus keeps it (docs/formats/dynamodb.md): its schema and
// settings in the `dynamodb.tables` catalog, its items in a keyspace of
// their own under keys that make a Query a range scan and a parallel Scan
// segment a contiguous range.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "nimbus/core/result.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"

namespace nimbus::services::dynamodb {

struct KeyAttribute {
  std::string name;
  ValueType type = ValueType::kS;  // S, N or B
};

// A global or local secondary index: a second copy of (part of) each item
// that has the index's key attributes, kept under the index's key.
struct SecondaryIndex {
  std::string name;
  bool global = true;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::string projection_type = "ALL";          // ALL, KEYS_ONLY or INCLUDE
  std::vector<std::string> non_key_attributes;  // INCLUDE's
  std::int64_t read_capacity = 0;               // a global index's own, when PROVISIONED
  std::int64_t write_capacity = 0;
  // CREATING while UpdateTable's new index is backfilled from the table's
  // items (kept by every write meanwhile), then ACTIVE.
  std::string status = "ACTIVE";
  // The table's index_version that created it (0: CreateTable): names its
  // keyspace, so an index created again under a dropped one's name starts
  // in a keyspace of its own.
  std::uint64_t generation = 0;
};

struct TableRecord {
  std::string name;
  std::string id;  // TableId, a UUID; names the items keyspace
  std::string arn;
  std::int64_t created_ms = 0;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::vector<KeyAttribute> attribute_definitions;
  std::string billing_mode = "PROVISIONED";  // or PAY_PER_REQUEST
  std::int64_t read_capacity = 0;
  std::int64_t write_capacity = 0;
  std::int64_t billing_mode_changed_ms = 0;
  std::string table_class = "STANDARD";
  bool deletion_protection = false;
  std::vector<std::pair<std::string, std::string>> tags;
  // Time to live: items whose `ttl_attribute` is a number of epoch seconds
  // in the past are deleted in the background while `ttl_enabled`.
  bool ttl_enabled = false;
  std::string ttl_attribute;

  // Global indexes first, then local ones, each in the order created.
  std::vector<SecondaryIndex> indexes;
  // Counts the changes of `indexes` that add or remove one: a write made
  // with an older record would miss an index (service_impl.h, TableStats).
  std::uint64_t index_version = 0;

  std::string items_keyspace() const { return "dynamodb.items." + id; }
  std::string index_keyspace(const SecondaryIndex& index) const {
    std::string name = "dynamodb.index." + id + "." + index.name;
    if (index.generation != 0) name += "." + std::to_string(index.generation);
    return name;
  }
  std::string encode() const;
  static Result<TableRecord> decode(std::string_view bytes);
};

inline constexpr std::size_t kMaxHashKeyBytes = 2048;
inline constexpr std::size_t kMaxRangeKeyBytes = 1024;

// Where an item's key comes from, for DynamoDB's differing messages.
enum class KeySource {
  kItem,  // PutItem's Item, BatchWriteItem's PutRequest
  kKey,   // GetItem's, UpdateItem's, DeleteItem's Key
};

// The storage key of the item or key `attributes`: a 4-byte hash of the
// partition key, then the order-preserving encodings of the partition and
// sort key. Validates the key as DynamoDB does.
Result<std::string> storage_key(const TableRecord& table, const Item& attributes, KeySource source);
// The prefix every item of one partition key shares.
std::string partition_prefix(const AttributeValue& hash_value);
// The first four bytes of storage keys: FNV-1a of the encoded partition key.
std::uint32_t partition_hash(std::string_view encoded_hash_key);
// The order-preserving encoding of one key value (S, N or B).
std::string encode_key_value(const AttributeValue& value);

// Just the key attributes of `item`.
Item key_of(const TableRecord& table, const Item& item);

// Stored items: a version byte, the item's DynamoDB size, its canonical JSON.
std::string encode_item(const Item& item);
std::string encode_item(const Item& item, std::size_t size);
struct StoredItem {
  std::size_t size = 0;
  std::string_view json;
};
Result<StoredItem> read_stored(std::string_view bytes);
Result<Item> decode_item(std::string_view bytes);

}  // namespace nimbus::services::dynamodb
