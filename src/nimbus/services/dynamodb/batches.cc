// BatchGetItem and BatchWriteItem. A batch write takes the stripe locks of
// all its items (in stripe order, so two batches never deadlock) and
// commits in one atomic store batch; DynamoDB promises less (each item on
// its own), so nothing is left unprocessed.

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "nimbus/services/dynamodb/internal/indexes.h"
#include "nimbus/services/dynamodb/internal/item_io.h"
#include "nimbus/services/dynamodb/internal/request_expressions.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"

namespace nimbus::services::dynamodb {
namespace {

using storage::Store;

constexpr std::size_t kMaxGetKeys = 100;
constexpr std::size_t kMaxWriteRequests = 25;
constexpr std::size_t kMaxGetResponseBytes = 16 * 1024 * 1024;

AwsError duplicates() {
  return AwsError::validation("Provided list of item keys contains duplicates");
}

Result<const json::object*> request_items(const json::object& in) {
  const auto* items = member(in, "RequestItems");
  if (items == nullptr) return constraint("null", "requestItems", "Member must not be null");
  if (!items->is_object()) return AwsError::serialization("RequestItems must be a map");
  if (items->get_object().empty()) {
    return constraint("{}", "requestItems", "Member must have length greater than or equal to 1");
  }
  return &items->get_object();
}

}  // namespace

Result<json::object> DynamoDbServiceImpl::batch_get_item(Store& store, const json::object& in,
                                                         const aws::RequestContext&) {
  auto requests = request_items(in);
  if (!requests) return requests.error();
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();

  struct TableRequest {
    TableHandle handle;
    const json::object* spec = nullptr;
    std::vector<std::pair<std::string, const json::value*>> keys;  // storage key, wire key
    std::optional<std::vector<Path>> projection;
    bool consistent = false;
  };
  std::vector<TableRequest> tables;
  std::size_t total_keys = 0;
  for (const auto& [name, spec_value] : **requests) {
    if (auto valid = validate_table_name(name, "requestItems.key"); !valid) return valid.error();
    if (!spec_value.is_object()) return AwsError::serialization("KeysAndAttributes must be a map");
    const auto& spec = spec_value.get_object();
    const auto* keys = member(spec, "Keys");
    if (keys == nullptr) {
      return constraint("null", fmt::format("requestItems.{}.member.keys", std::string_view(name)),
                        "Member must not be null");
    }
    if (!keys->is_array()) return AwsError::serialization("Keys must be a list");
    if (keys->get_array().empty()) {
      return constraint("[]", fmt::format("requestItems.{}.member.keys", std::string_view(name)),
                        "Member must have length greater than or equal to 1");
    }
    total_keys += keys->get_array().size();
    if (total_keys > kMaxGetKeys) {
      return AwsError::validation("Too many items requested for the BatchGetItem call");
    }
    auto handle = table_named(store, std::string(name));
    if (!handle) return handle.error();
    TableRequest request;
    request.handle = std::move(*handle);
    request.spec = &spec;
    auto projection = parse_projection_parameters(spec);
    if (!projection) return projection.error();
    request.projection = std::move(*projection);
    auto consistent = bool_member(spec, "ConsistentRead");
    if (!consistent) return consistent.error();
    request.consistent = *consistent;
    std::set<std::string> seen;
    for (const auto& wire : keys->get_array()) {
      auto key = parse_item(wire);
      if (!key) return key.error();
      auto encoded = storage_key(*request.handle.record, *key, KeySource::kKey);
      if (!encoded) return encoded.error();
      if (!seen.insert(*encoded).second) return duplicates();
      request.keys.emplace_back(std::move(*encoded), &wire);
    }
    tables.push_back(std::move(request));
  }

  json::object responses;
  json::object unprocessed;
  json::array capacities;
  std::vector<std::pair<std::string, Consumed>> metered;  // once every read succeeded
  std::size_t response_bytes = 0;
  for (auto& request : tables) {
    const TableRecord& table = *request.handle.record;
    json::array found;
    json::array left;
    Consumed consumed;
    for (const auto& [key, wire] : request.keys) {
      if (response_bytes >= kMaxGetResponseBytes) {
        left.push_back(*wire);
        continue;
      }
      auto bytes = store.get(request.handle.items, key);
      if (!bytes) return bytes.error();
      std::size_t size = 0;
      if (*bytes) {
        auto item = item_json(**bytes, request.projection, &size);
        if (!item) return item.error();
        found.push_back(std::move(*item));
        response_bytes += size;
      }
      consumed.read_half_units += units_of(size, 4096) * (request.consistent ? 2 : 1);
    }
    responses[table.name] = std::move(found);
    if (!left.empty()) {
      json::object keys_and_attributes = *request.spec;
      keys_and_attributes["Keys"] = std::move(left);
      unprocessed[table.name] = std::move(keys_and_attributes);
    }
    metered.emplace_back(table.name, consumed);
    if (auto capacity = consumed_capacity(in, table.name, consumed)) {
      capacities.push_back(std::move(*capacity));
    }
  }
  for (const auto& [table, consumed] : metered) meter(table, consumed);
  json::object out{{"Responses", std::move(responses)},
                   {"UnprocessedKeys", std::move(unprocessed)}};
  if (!capacities.empty()) out["ConsumedCapacity"] = std::move(capacities);
  return out;
}

Result<json::object> DynamoDbServiceImpl::batch_write_item(Store& store, const json::object& in,
                                                           const aws::RequestContext&) {
  auto requests = request_items(in);
  if (!requests) return requests.error();
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();

  struct Write {
    TableHandle handle;
    std::string key;
    std::optional<std::string> value;  // absent: delete
    std::size_t size = 0;
    std::optional<Item> item;  // a put's, when the table has indexes
  };
  std::vector<Write> writes;
  std::size_t total = 0;
  for (const auto& [name, list] : **requests) {
    if (!list.is_array()) return AwsError::serialization("WriteRequests must be a list");
    total += list.get_array().size();
  }
  if (total > kMaxWriteRequests) {
    return constraint("{...}", "requestItems",
                      "Map value must satisfy constraint: [Member must have length less than or "
                      "equal to 25, Member must have length greater than or equal to 1]");
  }
  for (const auto& [name, list] : **requests) {
    if (auto valid = validate_table_name(name, "requestItems.key"); !valid) return valid.error();
    if (list.get_array().empty()) {
      return constraint("{...}", "requestItems",
                        "Map value must satisfy constraint: [Member must have length less than or "
                        "equal to 25, Member must have length greater than or equal to 1]");
    }
    auto handle = table_named(store, std::string(name));
    if (!handle) return handle.error();
    std::set<std::string> seen;
    for (const auto& request_value : list.get_array()) {
      const auto* request = request_value.if_object();
      if (request == nullptr) return AwsError::serialization("WriteRequest must be a map");
      const auto* put = member(*request, "PutRequest");
      const auto* del = member(*request, "DeleteRequest");
      if ((put == nullptr) == (del == nullptr)) {
        return AwsError::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one "
            "of the supported datatypes");
      }
      Write write;
      write.handle = *handle;
      if (put != nullptr) {
        const auto* item_wire = put->is_object() ? member(put->get_object(), "Item") : nullptr;
        if (item_wire == nullptr) {
          return constraint("null", "requestItems.member.putRequest.item",
                            "Member must not be null");
        }
        auto item = parse_item(*item_wire);
        if (!item) return item.error();
        auto key = storage_key(*handle->record, *item, KeySource::kItem);
        if (!key) return key.error();
        if (auto valid = check_index_keys(*handle->record, *item); !valid) return valid.error();
        write.size = item_size(*item);
        if (write.size > kMaxItemBytes) {
          return AwsError::validation("Item size has exceeded the maximum allowed size");
        }
        write.key = std::move(*key);
        write.value = encode_item(*item, write.size);
        if (!handle->record->indexes.empty()) write.item = std::move(*item);
      } else {
        if (!del->is_object()) return AwsError::serialization("DeleteRequest must be a map");
        auto key_item = key_member(del->get_object());
        if (!key_item) return key_item.error();
        auto key = storage_key(*handle->record, *key_item, KeySource::kKey);
        if (!key) return key.error();
        write.key = std::move(*key);
      }
      if (!seen.insert(write.key).second) return duplicates();
      writes.push_back(std::move(write));
    }
  }

  std::vector<std::size_t> stripes;
  for (const auto& write : writes) stripes.push_back(stripe_of(*write.handle.record, write.key));
  auto locks = lock_stripes(std::move(stripes));
  for (const auto& write : writes) {
    if (stale(write.handle)) return stale_table();
  }

  storage::WriteBatch batch;
  batch.reserve(writes.size());
  std::map<std::string, Consumed> consumed;
  std::vector<std::size_t> old_sizes;
  old_sizes.reserve(writes.size());
  for (const auto& write : writes) {
    const bool indexed = !write.handle.record->indexes.empty();
    auto existing = read_item(store, write.handle.items, write.key, indexed);
    if (!existing) return existing.error();
    old_sizes.push_back(existing->size);
    Consumed& units = consumed[write.handle.record->name];
    units.write_units += units_of(std::max(existing->size, write.size), 1024);
    if (write.value) {
      batch.put(write.handle.items, write.key, *write.value);
    } else {
      batch.del(write.handle.items, write.key);
    }
    if (indexed) {
      add_metered_index_writes(write.handle, write.key, existing->item ? &*existing->item : nullptr,
                               write.item ? &*write.item : nullptr, batch, units);
    }
  }
  if (auto written = store.write(batch); !written) return written.error();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    writes[i].handle.stats->changed(old_sizes[i], writes[i].value ? writes[i].size : 0);
  }
  locks.clear();

  for (const auto& [table, units] : consumed) meter(table, units);
  json::object out{{"UnprocessedItems", json::object{}}};
  add_consumed_capacities(in, consumed, out);
  return out;
}

}  // namespace nimbus::services::dynamodb
