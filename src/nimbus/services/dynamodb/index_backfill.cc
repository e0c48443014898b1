// Indexes UpdateTable adds to a table with items: the writes made with the
// record before the index existed are waited for, then every item is read
// under its stripe lock and its entry written, in the background; the index
// is ACTIVE once every item was visited. Writes meanwhile keep the index
// themselves, so an entry the backfill writes is never older than the item.

#include <spdlog/spdlog.h>

#include "nimbus/services/dynamodb/internal/indexes.h"
#include "nimbus/services/dynamodb/internal/item_io.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::dynamodb {

using storage::Store;

void DynamoDbServiceImpl::drain_older_writes(const TableHandle& handle) {
  std::uint64_t seen = handle.stats->index_version.load();
  while (seen < handle.record->index_version &&
         !handle.stats->index_version.compare_exchange_weak(seen, handle.record->index_version)) {
  }
  (void)lock_every_stripe();
}

void DynamoDbServiceImpl::index_loop() {
  std::unique_lock lock(index_mutex_);
  while (!index_stopping_) {
    if (!index_work_) {
      index_wake_.wait(lock);
      continue;
    }
    index_work_ = false;
    lock.unlock();
    backfill_indexes();
    lock.lock();
  }
}

void DynamoDbServiceImpl::backfill_indexes() {
  storage::Store& store = store_.store();
  for (const auto& record : tables_->all()) {
    for (const auto& index : record->indexes) {
      if (index.status != "CREATING") continue;
      if (auto filled = backfill(store, record->name, index.name); !filled) {
        spdlog::warn("dynamodb: cannot fill index {} of table {}: {}", index.name, record->name,
                     filled.error().message());
      }
    }
  }
}

Result<void> DynamoDbServiceImpl::backfill(Store& store, const std::string& table,
                                           const std::string& index_name) {
  auto handle = table_named(store, table);
  if (!handle) return handle.error();
  const std::string table_id = handle->record->id;
  const std::uint64_t generation = [&] {
    const auto* index = find_index(*handle->record, index_name);
    return index != nullptr ? index->generation : 0;
  }();
  // Writes made with the record from before the index must be committed
  // before any item is visited, or the visit could come first and the
  // write then miss the index. Done here, by whoever starts a backfill
  // (UpdateTable's wake-up, a resumption at start).
  drain_older_writes(*handle);
  // Every item is read again under its stripe lock and its entry written
  // from what it holds then; writes meanwhile keep the index themselves.
  storage::ScanOptions options;
  options.limit = 256;
  for (;;) {
    {
      std::lock_guard lock(index_mutex_);
      if (index_stopping_) return ok();  // resumed at the next start
    }
    auto page = store.scan(handle->items, options);
    if (!page) return page.error();
    for (const auto& entry : page->items) {
      std::lock_guard lock(stripe(stripe_of(*handle->record, entry.key)));
      if (stale(*handle)) {
        auto fresh = table_named(store, table);
        if (!fresh || fresh->record->id != table_id) return ok();  // the table went
        handle = std::move(fresh);
      }
      const TableRecord& record = *handle->record;
      const auto* index = find_index(record, index_name);
      if (index == nullptr || index->generation != generation) return ok();  // the index went
      const auto position = static_cast<std::size_t>(index - record.indexes.data());
      if (position >= handle->indexes.size() || handle->indexes[position].name.empty()) return ok();
      auto current = read_item(store, handle->items, entry.key);
      if (!current) return current.error();
      if (!current->item) continue;
      const auto key = index_entry_key(*index, *current->item, entry.key);
      if (!key) continue;
      if (auto written = store.put(handle->indexes[position], *key,
                                   encode_item(index_projection(record, *index, *current->item)));
          !written) {
        return written.error();
      }
    }
    if (!page->cursor) break;
    options.cursor = std::move(page->cursor);
  }
  auto activated = tables_->mutate(
      table, [&](const TableRecord* now) -> Result<storage::RecordCatalog<TableRecord>::Outcome> {
        if (now == nullptr || now->id != table_id) return AwsError::internal("the table went");
        TableRecord record = *now;
        for (auto& index : record.indexes) {
          if (index.name == index_name && index.generation == generation) index.status = "ACTIVE";
        }
        return record;
      });
  if (!activated) return activated.error();
  return ok();
}

}  // namespace nimbus::services::dynamodb
