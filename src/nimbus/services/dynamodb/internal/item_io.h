#pragma once

// Reading stored items for the operations: the item a write replaces, and
// items as response JSON (projected when asked).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/core/result.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"
#include "nimbus/services/dynamodb/internal/expression.h"
#include "nimbus/storage/store.h"

namespace nimbus::services::dynamodb {

struct ExistingItem {
  std::optional<Item> item;
  std::size_t size = 0;  // DynamoDB size; 0 when absent (a present item has its key)
  const Item& item_or_empty() const;
};

// The item at `key` and its size; with `decode` false, only its size (a
// write that needs neither a condition nor the old item pays for no parse).
Result<ExistingItem> read_item(storage::Store& store, const storage::Keyspace& items,
                               const std::string& key, bool decode = true);

// A stored item as response JSON, projected when `projection` is set; its
// DynamoDB size (of the whole item) in *size.
Result<boost::json::value> item_json(std::string_view stored,
                                     const std::optional<std::vector<Path>>& projection,
                                     std::size_t* size);

// The "Key" member as an item of key attributes.
Result<Item> key_member(const boost::json::object& in);
// A boolean member, false when absent.
Result<bool> bool_member(const boost::json::object& in, std::string_view name);

}  // namespace nimbus::services::dynamodb
