// Tables' live sizes (DescribeTable's ItemCount and TableSizeBytes), the
// storage they are billed for, and the service's Prometheus metrics.

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/core/request_id.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"
#include "nimbus/ledger/metrics.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::dynamodb {
namespace {

// DynamoDB bills each item's size plus 100 bytes of indexing overhead.
constexpr std::int64_t kItemOverheadBytes = 100;
constexpr std::int64_t kMsPerMinute = 60'000;

}  // namespace

Result<TableSize> DynamoDbServiceImpl::table_size(storage::Store& store,
                                                  const TableHandle& handle) {
  TableStats& stats = *handle.stats;
  if (!stats.counted.load(std::memory_order_acquire)) {
    std::lock_guard counting(stats.counting);
    if (!stats.counted.load(std::memory_order_relaxed)) {
      // With every stripe held no write is between its commit and its
      // add(): the snapshot and the changes counted so far agree.
      std::shared_ptr<const storage::Snapshot> snapshot;
      std::int64_t items_then = 0;
      std::int64_t bytes_then = 0;
      {
        auto all = lock_every_stripe();
        snapshot = store.snapshot();
        items_then = stats.items.load(std::memory_order_relaxed);
        bytes_then = stats.bytes.load(std::memory_order_relaxed);
      }
      std::int64_t items = 0;
      std::int64_t bytes = 0;
      storage::ScanOptions options;
      options.limit = 4096;
      options.snapshot = snapshot;
      while (true) {
        auto page = store.scan(handle.items, options);
        if (!page) return page.error();
        for (const auto& entry : page->items) {
          auto stored = read_stored(entry.value);
          if (!stored) return stored.error();
          ++items;
          bytes += static_cast<std::int64_t>(stored->size);
        }
        if (!page->cursor) break;
        options.cursor = std::move(page->cursor);
      }
      stats.base_items = items - items_then;
      stats.base_bytes = bytes - bytes_then;
      stats.counted.store(true, std::memory_order_release);
    }
  }
  return stats.size();
}

void DynamoDbServiceImpl::meter_storage(TableStats& stats, TableSize size, std::int64_t now) {
  std::int64_t byte_minutes = 0;
  {
    std::lock_guard lock(stats.metering);
    if (stats.metered_until_ms != 0 && now > stats.metered_until_ms) {
      const std::int64_t billed = size.bytes + kItemOverheadBytes * size.items;
      stats.byte_ms += billed * (now - stats.metered_until_ms);
      byte_minutes = stats.byte_ms / kMsPerMinute;
      stats.byte_ms %= kMsPerMinute;
    }
    stats.metered_until_ms = std::max(stats.metered_until_ms, now);
  }
  if (byte_minutes == 0) return;
  ledger::Usage usage;
  usage.service = "dynamodb";
  usage.resource = stats.table;
  usage.id = new_request_id();
  usage.time_us = now * 1000;
  usage.quantities.emplace_back(ledger::meter::kDynamoDbStorage, byte_minutes);
  journal_.append_usage(std::move(usage));
}

void DynamoDbServiceImpl::meter_all_storage() {
  storage::Store& store = store_.store();
  for (const auto& record : tables_->all()) {
    auto handle = table_named(store, record->name);
    if (!handle || handle->record->id != record->id) continue;  // deleted meanwhile
    auto size = table_size(store, *handle);
    if (!size) {
      spdlog::warn("dynamodb: cannot size table {} for storage metering: {}", record->name,
                   size.error().message());
      continue;
    }
    meter_storage(*handle->stats, *size, now_ms());
  }
}

void DynamoDbServiceImpl::write_metrics(ledger::PrometheusWriter& out) const {
  using ledger::PrometheusWriter;
  out.family("nimbus_dynamodb_requests_total", "counter", "DynamoDB requests by operation.");
  auto sample = [&out](std::string_view name, std::string_view operation, std::uint64_t value,
                       std::string_view extra = {}) {
    std::string labels = PrometheusWriter::label("operation", operation);
    if (!extra.empty()) labels += "," + std::string(extra);
    out.sample(name, labels, static_cast<double>(value));
  };
  sample("nimbus_dynamodb_requests_total", "DescribeEndpoints",
         describe_endpoints_counters_.requests.load(std::memory_order_relaxed));
  for (const auto& [name, operation] : operations_) {
    sample("nimbus_dynamodb_requests_total", name,
           operation.counters->requests.load(std::memory_order_relaxed));
  }
  out.family("nimbus_dynamodb_errors_total", "counter",
             "DynamoDB requests answered with an error: user (4xx) or system (5xx).");
  for (const auto& [name, operation] : operations_) {
    sample("nimbus_dynamodb_errors_total", name,
           operation.counters->user_errors.load(std::memory_order_relaxed), "type=\"user\"");
    sample("nimbus_dynamodb_errors_total", name,
           operation.counters->system_errors.load(std::memory_order_relaxed), "type=\"system\"");
  }
  std::vector<std::pair<std::string, TableSize>> sizes;
  {
    std::lock_guard lock(open_tables_mutex_);
    for (const auto& [id, open] : open_tables_) {
      const TableStats& stats = *open.stats;
      if (!stats.counted.load(std::memory_order_acquire)) continue;
      sizes.emplace_back(stats.table, stats.size());
    }
  }
  std::sort(sizes.begin(), sizes.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out.family("nimbus_dynamodb_table_items", "gauge", "Items in each table.");
  for (const auto& [table, size] : sizes) {
    out.sample("nimbus_dynamodb_table_items", PrometheusWriter::label("table", table),
               static_cast<double>(size.items));
  }
  out.family("nimbus_dynamodb_table_size_bytes", "gauge",
             "Each table's size as DynamoDB counts it (TableSizeBytes).");
  for (const auto& [table, size] : sizes) {
    out.sample("nimbus_dynamodb_table_size_bytes", PrometheusWriter::label("table", table),
               static_cast<double>(size.bytes));
  }
}

}  // namespace nimbus::services::dynamodb
