#pragma once

// A view of a Store that answers reads only from memory (memtables and the
// block cache) and only up to a byte budget, refusing everything else with
// kWouldBlockCode: what lets AsyncStore::read run a cheap, cached read on
// the calling I/O thread without ever waiting for the disk. With writes
// allowed, it also applies writes that need no wait
// (Store::write_without_waiting), which is what AsyncStore::update runs.

#include <cstddef>

#include "nimbus/storage/store.h"

namespace nimbus::storage {

class MemoryReadStore final : public Store {
 public:
  enum class Writes { kRefused, kWithoutWaiting };
  MemoryReadStore(Store& store, std::size_t budget_bytes, Writes writes = Writes::kRefused)
      : store_(store), budget_(budget_bytes), writes_(writes) {}

  // Keyspace changes and catalog reads may touch the disk.
  Result<Keyspace> create_keyspace(std::string_view) override { return would_block(); }
  Result<Keyspace> open_keyspace(std::string_view) override { return would_block(); }
  Result<Keyspace> open_or_create_keyspace(std::string_view) override { return would_block(); }
  Result<void> drop_keyspace(std::string_view) override { return would_block(); }
  Result<std::vector<Keyspace>> list_keyspaces(std::string_view) override { return would_block(); }

  Result<std::optional<std::string>> get(const Keyspace& keyspace, std::string_view key,
                                         const Snapshot* snapshot) override;
  Result<std::optional<std::string>> get_from_memory(const Keyspace& keyspace,
                                                     std::string_view key) override {
    return get(keyspace, key, nullptr);
  }
  Result<void> put(const Keyspace& keyspace, std::string_view key, std::string_view value) override;
  Result<void> del(const Keyspace& keyspace, std::string_view key) override;
  Result<void> write(const WriteBatch& batch) override;
  Result<void> write_without_waiting(const WriteBatch& batch) override { return write(batch); }
  bool refuses_waits() const override { return true; }
  // Bounded scans only (a limit of at most kMaxScanLimit keys).
  Result<ScanPage> scan(const Keyspace& keyspace, const ScanOptions& options) override;

  std::shared_ptr<const Snapshot> snapshot() override { return store_.snapshot(); }
  // A transaction whose every call is refused.
  std::unique_ptr<Transaction> begin() override;
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override {
    return store_.subscribe(std::move(listener));
  }
  Result<void> sync() override { return would_block(); }
  std::map<std::string, std::uint64_t> stats() override { return store_.stats(); }

  static constexpr std::size_t kMaxScanLimit = 1024;

 private:
  Result<void> spend(std::size_t bytes);

  Store& store_;
  std::size_t budget_;
  Writes writes_;
};

}  // namespace nimbus::storage
