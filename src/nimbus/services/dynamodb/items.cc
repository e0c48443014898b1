// Item operations: PutItem, GetItem, UpdateItem, DeleteItem. Writes to one
// item are serialised by its stripe lock, so a condition is checked against
// the item the write replaces and no read-modify-write loses an update.

#include <fmt/format.h>
#include <boost/json.hpp>

#include "nimbus/services/dynamodb/internal/evaluate.h"
#include "nimbus/services/dynamodb/internal/indexes.h"
#include "nimbus/services/dynamodb/internal/item_io.h"
#include "nimbus/services/dynamodb/internal/request_expressions.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"

namespace nimbus::services::dynamodb {
namespace {

using storage::Store;

Result<std::string> return_values(const json::object& in, bool updates) {
  if (updates) {
    return enum_member(in, "ReturnValues", "returnValues",
                       {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"}, "NONE");
  }
  auto value = enum_member(in, "ReturnValues", "returnValues",
                           {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"}, "NONE");
  if (!value) return value;
  if (*value != "NONE" && *value != "ALL_OLD") {
    return AwsError::validation("ReturnValues can only be ALL_OLD or NONE");
  }
  return value;
}

Result<bool> return_old_on_failure(const json::object& in) {
  auto value = enum_member(in, "ReturnValuesOnConditionCheckFailure",
                           "returnValuesOnConditionCheckFailure", {"ALL_OLD", "NONE"}, "NONE");
  if (!value) return value.error();
  return *value == "ALL_OLD";
}

}  // namespace

Result<void> check_key_untouched(const TableRecord& table,
                                 const std::vector<UpdateAction>& actions) {
  for (const UpdateAction& action : actions) {
    const std::string& top = action.path.elements.front().name;
    if (top == table.hash.name || (table.range && top == table.range->name)) {
      return AwsError::validation(fmt::format(
          "One or more parameter values were invalid: Cannot update attribute {}. This attribute "
          "is part of the key",
          top));
    }
  }
  return ok();
}

Result<WriteParameters> write_parameters(const json::object& in, bool updates) {
  WriteParameters out;
  auto returns = return_values(in, updates);
  if (!returns) return returns.error();
  out.returns = std::move(*returns);
  auto return_old = return_old_on_failure(in);
  if (!return_old) return return_old.error();
  out.return_old_on_failure = *return_old;
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();
  ExpressionParameters parameters;
  parameters.condition = true;
  parameters.update = updates;
  auto expressions = parse_request_expressions(in, parameters);
  if (!expressions) return expressions.error();
  out.expressions = std::move(*expressions);
  return out;
}

Result<KeyedWrite> keyed_write(DynamoDbServiceImpl& service, Store& store, const json::object& in,
                               bool updates) {
  auto handle = service.table(store, in);
  if (!handle) return handle.error();
  auto key_item = key_member(in);
  if (!key_item) return key_item.error();
  auto parameters = write_parameters(in, updates);
  if (!parameters) return parameters.error();
  auto key = storage_key(*handle->record, *key_item, KeySource::kKey);
  if (!key) return key.error();
  return KeyedWrite{std::move(*handle), std::move(*key_item), std::move(*key),
                    std::move(*parameters)};
}

Result<ItemWrite> item_write(DynamoDbServiceImpl& service, Store& store, const json::object& in,
                             std::string_view item_field) {
  auto handle = service.table(store, in);
  if (!handle) return handle.error();
  const auto* wire = member(in, "Item");
  if (wire == nullptr) return constraint("null", item_field, "Member must not be null");
  auto item = parse_item(*wire);
  if (!item) return item.error();
  auto parameters = write_parameters(in, false);
  if (!parameters) return parameters.error();
  auto key = storage_key(*handle->record, *item, KeySource::kItem);
  if (!key) return key.error();
  if (auto valid = check_index_keys(*handle->record, *item); !valid) return valid.error();
  const std::size_t size = item_size(*item);
  if (size > kMaxItemBytes) {
    return AwsError::validation("Item size has exceeded the maximum allowed size");
  }
  return ItemWrite{std::move(*handle), std::move(*item), std::move(*key), size,
                   std::move(*parameters)};
}

Result<void> write_item(Store& store, const TableHandle& handle, const std::string& key,
                        const Item* old_item, const Item* new_item, std::string_view encoded,
                        Consumed& consumed) {
  if (handle.record->indexes.empty()) {
    return new_item != nullptr ? store.put(handle.items, key, encoded)
                               : store.del(handle.items, key);
  }
  storage::WriteBatch batch;
  if (new_item != nullptr) {
    batch.put(handle.items, key, encoded);
  } else {
    batch.del(handle.items, key);
  }
  add_metered_index_writes(handle, key, old_item, new_item, batch, consumed);
  return store.write(batch);
}

void add_metered_index_writes(const TableHandle& handle, const std::string& key,
                              const Item* old_item, const Item* new_item,
                              storage::WriteBatch& batch, Consumed& consumed) {
  const TableRecord& table = *handle.record;
  std::vector<std::int64_t> units_by_index;
  consumed.write_units +=
      add_index_writes(table, handle.indexes, key, old_item, new_item, batch, &units_by_index);
  for (std::size_t i = 0; i < units_by_index.size(); ++i) {
    if (units_by_index[i] == 0) continue;
    Consumed::OnIndex& on_index = consumed.indexes[table.indexes[i].name];
    on_index.global = table.indexes[i].global;
    on_index.write_units += units_by_index[i];
  }
}

AwsError condition_failed(const std::optional<Item>& old, bool return_old) {
  AwsError error("ConditionalCheckFailedException", "The conditional request failed", 400);
  if (return_old && old) error.with_json_field("Item", json::serialize(to_json(*old)));
  return error;
}

Result<json::object> DynamoDbServiceImpl::put_item(Store& store, const json::object& in,
                                                   const aws::RequestContext&) {
  auto request = item_write(*this, store, in, "item");
  if (!request) return request.error();
  const auto& [handle, item, key, size, parameters] = *request;
  const TableRecord& table = *handle.record;
  const auto& returns = parameters.returns;
  const auto& expressions = parameters.expressions;
  const std::string encoded = encode_item(item, size);

  auto lock = lock_stripe(store, stripe_of(table, key));
  if (!lock) return lock.error();
  if (stale(handle)) return stale_table();
  // Indexes replace the old item's entries: they need it too.
  const bool old_needed =
      expressions.condition.has_value() || returns == "ALL_OLD" || !table.indexes.empty();
  auto existing = read_item(store, handle.items, key, old_needed);
  if (!existing) return existing.error();
  Consumed consumed;
  consumed.write_units = units_of(std::max(size, existing->size), 1024);
  if (expressions.condition && !evaluate(*expressions.condition, existing->item_or_empty())) {
    meter(table.name, consumed);
    return condition_failed(existing->item, parameters.return_old_on_failure);
  }
  if (auto stored = write_item(store, handle, key, existing->item ? &*existing->item : nullptr,
                               &item, encoded, consumed);
      !stored) {
    return stored.error();
  }
  handle.stats->changed(existing->size, size);
  meter(table.name, consumed);
  json::object out;
  if (returns == "ALL_OLD" && existing->item) out["Attributes"] = to_json(*existing->item);
  if (auto capacity = consumed_capacity(in, table.name, consumed)) {
    out["ConsumedCapacity"] = std::move(*capacity);
  }
  return out;
}

Result<json::object> DynamoDbServiceImpl::get_item(Store& store, const json::object& in,
                                                   const aws::RequestContext&) {
  auto handle = table(store, in);
  if (!handle) return handle.error();
  const TableRecord& table = *handle->record;
  auto key_item = key_member(in);
  if (!key_item) return key_item.error();
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();
  ExpressionParameters parameters;
  parameters.projection = true;
  auto expressions = parse_request_expressions(in, parameters);
  if (!expressions) return expressions.error();
  auto consistent = bool_member(in, "ConsistentRead");
  if (!consistent) return consistent.error();
  auto key = storage_key(table, *key_item, KeySource::kKey);
  if (!key) return key.error();
  auto bytes = store.get(handle->items, *key);
  if (!bytes) return bytes.error();
  json::object out;
  std::size_t size = 0;
  if (*bytes) {
    auto item = item_json(**bytes, expressions->projection, &size);
    if (!item) return item.error();
    if (item->is_object()) out["Item"] = std::move(*item);
  }
  Consumed consumed;
  consumed.read_half_units = units_of(size, 4096) * (*consistent ? 2 : 1);
  meter(table.name, consumed);
  if (auto capacity = consumed_capacity(in, table.name, consumed)) {
    out["ConsumedCapacity"] = std::move(*capacity);
  }
  return out;
}

Result<json::object> DynamoDbServiceImpl::update_item(Store& store, const json::object& in,
                                                      const aws::RequestContext&) {
  auto request = keyed_write(*this, store, in, true);
  if (!request) return request.error();
  auto& [handle, key_item, key, parameters] = *request;
  const TableRecord& table = *handle.record;
  const auto& returns = parameters.returns;
  const auto& expressions = parameters.expressions;
  const std::vector<UpdateAction> actions =
      expressions.update ? *expressions.update : std::vector<UpdateAction>{};
  if (auto valid = check_key_untouched(table, actions); !valid) return valid.error();

  auto lock = lock_stripe(store, stripe_of(table, key));
  if (!lock) return lock.error();
  if (stale(handle)) return stale_table();
  auto existing = read_item(store, handle.items, key);
  if (!existing) return existing.error();
  Consumed consumed;
  consumed.write_units = units_of(existing->size, 1024);
  if (expressions.condition && !evaluate(*expressions.condition, existing->item_or_empty())) {
    meter(table.name, consumed);
    return condition_failed(existing->item, parameters.return_old_on_failure);
  }
  Item updated = existing->item ? *existing->item : key_item;
  if (auto applied = apply_update(actions, updated); !applied) return applied.error();
  const std::size_t size = item_size(updated);
  if (size > kMaxItemBytes) {
    return AwsError::validation("Item size to update has exceeded the maximum allowed size");
  }
  if (auto valid = check_index_keys(table, updated); !valid) return valid.error();
  consumed.write_units = units_of(std::max(size, existing->size), 1024);
  if (auto stored = write_item(store, handle, key, existing->item ? &*existing->item : nullptr,
                               &updated, encode_item(updated, size), consumed);
      !stored) {
    return stored.error();
  }
  handle.stats->changed(existing->size, size);
  meter(table.name, consumed);

  json::object out;
  std::optional<Item> attributes;
  if (returns == "ALL_OLD") {
    attributes = existing->item;
  } else if (returns == "ALL_NEW") {
    attributes = updated;
  } else if (returns == "UPDATED_OLD" || returns == "UPDATED_NEW") {
    std::vector<Path> paths;
    for (const UpdateAction& action : actions) paths.push_back(action.path);
    if (returns == "UPDATED_NEW") {
      attributes = project(updated, paths);
    } else if (existing->item) {
      attributes = project(*existing->item, paths);
    }
  }
  if (attributes && !attributes->empty()) out["Attributes"] = to_json(*attributes);
  if (auto capacity = consumed_capacity(in, table.name, consumed)) {
    out["ConsumedCapacity"] = std::move(*capacity);
  }
  return out;
}

Result<json::object> DynamoDbServiceImpl::delete_item(Store& store, const json::object& in,
                                                      const aws::RequestContext&) {
  auto request = keyed_write(*this, store, in, false);
  if (!request) return request.error();
  auto& [handle, key_item, key, parameters] = *request;
  const TableRecord& table = *handle.record;
  const auto& returns = parameters.returns;
  const auto& expressions = parameters.expressions;

  auto lock = lock_stripe(store, stripe_of(table, key));
  if (!lock) return lock.error();
  if (stale(handle)) return stale_table();
  auto existing = read_item(store, handle.items, key);
  if (!existing) return existing.error();
  Consumed consumed;
  consumed.write_units = units_of(existing->size, 1024);
  if (expressions.condition && !evaluate(*expressions.condition, existing->item_or_empty())) {
    meter(table.name, consumed);
    return condition_failed(existing->item, parameters.return_old_on_failure);
  }
  if (existing->item) {
    if (auto removed = write_item(store, handle, key, &*existing->item, nullptr, {}, consumed);
        !removed) {
      return removed.error();
    }
    handle.stats->changed(existing->size, 0);
  }
  meter(table.name, consumed);
  json::object out;
  if (returns == "ALL_OLD" && existing->item) out["Attributes"] = to_json(*existing->item);
  if (auto capacity = consumed_capacity(in, table.name, consumed)) {
    out["ConsumedCapacity"] = std::move(*capacity);
  }
  return out;
}

}  // namespace nimbus::services::dynamodb
