// Time to live: items whose TTL attribute holds a number of epoch seconds
// that has passed are deleted in the background, as DynamoDB deletes them:
// without consuming capacity, counted in TimeToLiveDeletedItemCount.

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "nimbus/core/request_id.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"
#include "nimbus/services/dynamodb/internal/item_io.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::dynamodb {
namespace {

// DynamoDB leaves alone items whose expiry is more than five years past.
constexpr std::int64_t kOldestExpiryS = 5 * 365 * 86'400;

bool expired(const Item& item, const std::string& attribute, std::int64_t now_s) {
  const auto it = item.find(attribute);
  if (it == item.end() || it->second.type != ValueType::kN) return false;
  const double expiry = std::strtod(it->second.scalar.c_str(), nullptr);
  return expiry <= static_cast<double>(now_s) &&
         expiry >= static_cast<double>(now_s - kOldestExpiryS);
}

}  // namespace

Result<std::int64_t> DynamoDbServiceImpl::expire_items(storage::Store& store,
                                                       const TableHandle& handle,
                                                       std::int64_t now_s) {
  const TableRecord& table = *handle.record;
  std::int64_t deleted = 0;
  storage::ScanOptions options;
  options.limit = 1024;
  while (true) {
    auto page = store.scan(handle.items, options);
    if (!page) return page.error();
    for (const auto& entry : page->items) {
      auto item = decode_item(entry.value);
      if (!item || !expired(*item, table.ttl_attribute, now_s)) continue;
      // Checked again under the item's lock: a write since the scan may
      // have given it a new expiry, or deleted it.
      std::lock_guard lock(stripe(stripe_of(table, entry.key)));
      // The table's indexes changed: the next pass reads its new record.
      if (stale(handle)) return deleted;
      auto current = read_item(store, handle.items, entry.key);
      if (!current) return current.error();
      if (!current->item || !expired(*current->item, table.ttl_attribute, now_s)) continue;
      Consumed unmetered;  // expiry deletes cost nothing, as on DynamoDB
      if (auto removed =
              write_item(store, handle, entry.key, &*current->item, nullptr, {}, unmetered);
          !removed) {
        return removed.error();
      }
      handle.stats->changed(current->size, 0);
      ++deleted;
    }
    if (!page->cursor) break;
    options.cursor = std::move(page->cursor);
  }
  return deleted;
}

void DynamoDbServiceImpl::expire_items() {
  storage::Store& store = store_.store();
  const std::int64_t now_s = now_ms() / 1000;
  for (const auto& record : tables_->all()) {
    if (!record->ttl_enabled) continue;
    auto handle = table_named(store, record->name);
    if (!handle || handle->record->id != record->id) continue;  // deleted meanwhile
    auto deleted = expire_items(store, *handle, now_s);
    if (!deleted) {
      spdlog::warn("dynamodb: cannot expire items of table {}: {}", record->name,
                   deleted.error().message());
      continue;
    }
    if (*deleted == 0) continue;
    ledger::Usage usage;
    usage.service = "dynamodb";
    usage.resource = record->name;
    usage.id = new_request_id();
    usage.time_us = now_s * 1'000'000;
    usage.quantities.emplace_back(ledger::meter::kDynamoDbExpiredItems, *deleted);
    journal_.append_usage(std::move(usage));
  }
}

}  // namespace nimbus::services::dynamodb
