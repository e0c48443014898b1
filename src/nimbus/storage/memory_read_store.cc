#include "nimbus/storage/memory_read_store.h"

namespace nimbus::storage {
namespace {

class RefusingTransaction final : public Transaction {
 public:
  Result<std::optional<std::string>> get(const Keyspace&, std::string_view) override {
    return would_block();
  }
  Result<void> put(const Keyspace&, std::string_view, std::string_view) override {
    return would_block();
  }
  Result<void> del(const Keyspace&, std::string_view) override { return would_block(); }
  Result<void> commit() override { return would_block(); }
};

}  // namespace

Result<void> MemoryReadStore::spend(std::size_t bytes) {
  if (bytes > budget_) return would_block();
  budget_ -= bytes;
  return ok();
}

Result<std::optional<std::string>> MemoryReadStore::get(const Keyspace& keyspace,
                                                        std::string_view key,
                                                        const Snapshot* snapshot) {
  if (snapshot != nullptr) return would_block();
  auto value = store_.get_from_memory(keyspace, key);
  if (!value) return value;
  if (auto spent = spend(key.size() + (*value ? (*value)->size() : 0)); !spent) {
    return spent.error();
  }
  return value;
}

Result<ScanPage> MemoryReadStore::scan(const Keyspace& keyspace, const ScanOptions& options) {
  if (options.limit == 0 || options.limit > kMaxScanLimit) return would_block();
  ScanOptions in_memory = options;
  in_memory.memory_only = true;
  auto page = store_.scan(keyspace, in_memory);
  if (!page) return page;
  std::size_t bytes = 0;
  for (const auto& item : page->items) bytes += item.key.size() + item.value.size();
  if (auto spent = spend(bytes); !spent) return spent.error();
  return page;
}

Result<void> MemoryReadStore::put(const Keyspace& keyspace, std::string_view key,
                                  std::string_view value) {
  WriteBatch batch;
  batch.put(keyspace, key, value);
  return write(batch);
}

Result<void> MemoryReadStore::del(const Keyspace& keyspace, std::string_view key) {
  WriteBatch batch;
  batch.del(keyspace, key);
  return write(batch);
}

Result<void> MemoryReadStore::write(const WriteBatch& batch) {
  if (writes_ == Writes::kRefused) return would_block();
  return store_.write_without_waiting(batch);
}

std::unique_ptr<Transaction> MemoryReadStore::begin() {
  return std::make_unique<RefusingTransaction>();
}

}  // namespace nimbus::storage
