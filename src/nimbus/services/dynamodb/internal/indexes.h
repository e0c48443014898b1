#pragma once

// Secondary indexes (docs/formats/dynamodb.md): each index keeps, in a
// keyspace of its own, an entry per item that has the index's key
// attributes (an item without them is not in the index: indexes are
// sparse). An entry's key is the index key encoded as a table's storage key
// is, followed by the item's table storage key, so a Query of the index is a
// range scan as a table's is and two items with one index key stay apart.
// Entries are written in the same atomic batch as the item.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"
#include "nimbus/services/dynamodb/internal/table.h"
#include "nimbus/storage/store.h"

namespace nimbus::services::dynamodb {

const SecondaryIndex* find_index(const TableRecord& table, std::string_view name);

// The index's key schema as a table's (its table's name and id): what
// storage_key and a Query's key range read.
TableRecord index_schema(const TableRecord& table, const SecondaryIndex& index);

// Refuses an item whose index key attributes have another type than the
// index's or are empty, with DynamoDB's messages.
Result<void> check_index_keys(const TableRecord& table, const Item& item);

// The storage key of `item`'s entry in `index`, the item being at
// `table_key`; nullopt when the item lacks one of the index's key attributes.
std::optional<std::string> index_entry_key(const SecondaryIndex& index, const Item& item,
                                           std::string_view table_key);

// What `index` keeps of `item`: all of it, or the table's and the index's
// keys (and, for INCLUDE, the named attributes).
Item index_projection(const TableRecord& table, const SecondaryIndex& index, const Item& item);

// Adds to `batch` what replacing `old_item` with `new_item` at `table_key`
// changes in the table's indexes (either item may be null: a new item, a
// deletion); `keyspaces` are the indexes', in the record's order. Returns
// the write units the indexes consume: one per KB of each entry written or
// deleted; `units_by_index`, if given, gets each index's share added, in
// the record's order.
std::int64_t add_index_writes(const TableRecord& table,
                              const std::vector<storage::Keyspace>& keyspaces,
                              std::string_view table_key, const Item* old_item,
                              const Item* new_item, storage::WriteBatch& batch,
                              std::vector<std::int64_t>* units_by_index = nullptr);

}  // namespace nimbus::services::dynamodb
