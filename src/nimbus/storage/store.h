#pragma once

// The store every service keeps its state in: named keyspaces of ordered
// byte-string keys, atomic batches across keyspaces, optimistic transactions,
// snapshots, and a commit-ordered change feed. Designed so that a second
// backend on a distributed SQL engine can implement it (docs/storage.md);
// RocksDB is the one backend today.
//
// Thread safety: every method may be called from any thread concurrently,
// except that one Transaction is used by one thread at a time. All calls
// block on disk: from coroutines, go through AsyncStore (async_store.h).
// Snapshots, transactions and subscriptions must be released before the
// store is destroyed.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::storage {

// What "acknowledged" promises. Persisted nowhere; chosen per server.
enum class Durability {
  kProcessCrash,  // in the write-ahead log (OS page cache) before acknowledging
  kSync,          // fsynced before acknowledging; concurrent writers share fsyncs
};

struct StoreOptions {
  std::filesystem::path path;
  Durability durability = Durability::kProcessCrash;
  std::size_t block_cache_bytes = 64 << 20;
  std::size_t memtable_bytes = 64 << 20;  // all memtables together
  int background_jobs = 2;
};

// A named, ordered collection of keys. Cheap to create and drop; ids are
// never reused, so a stale handle never sees a later keyspace's data.
struct Keyspace {
  std::string name;
  std::uint64_t id = 0;
  friend bool operator==(const Keyspace&, const Keyspace&) = default;
};

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// An ordered set of writes applied atomically, possibly across keyspaces.
class WriteBatch {
 public:
  enum class Kind : std::uint8_t { kPut = 1, kDelete = 2 };
  struct Write {
    Kind kind;
    std::uint64_t keyspace_id;
    std::string key;
    std::string value;
  };

  WriteBatch& put(const Keyspace& keyspace, std::string_view key, std::string_view value);
  WriteBatch& del(const Keyspace& keyspace, std::string_view key);
  const std::vector<Write>& writes() const { return writes_; }
  bool empty() const { return writes_.empty(); }
  // Room for `count` writes without growing (batches built over and over).
  void reserve(std::size_t count) { writes_.reserve(count); }

 private:
  std::vector<Write> writes_;
};

// A consistent point-in-time view; released when the last reference goes.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

enum class Direction { kForward, kBackward };

struct Bound {
  std::string key;
  bool inclusive = true;
};

// Keys in [lower, upper] with each end inclusive or not, absent ends open.
struct ScanOptions {
  std::optional<Bound> lower;
  std::optional<Bound> upper;
  Direction direction = Direction::kForward;
  std::size_t limit = 0;  // 0: no limit
  // Resume after this key (exclusive), as returned in ScanPage::cursor.
  std::optional<std::string> cursor;
  std::shared_ptr<const Snapshot> snapshot;  // null: latest
  // Read only what is in memory (memtables, block cache): fail with
  // kWouldBlockCode rather than wait for the disk.
  bool memory_only = false;

  // Every key that starts with `prefix`.
  static ScanOptions with_prefix(std::string_view prefix);
};

struct ScanPage {
  std::vector<KeyValue> items;
  // Set when the limit stopped the scan and more keys may follow.
  std::optional<std::string> cursor;
};

// Optimistic, serialisable read-check-write: reads record the keys they saw;
// commit fails with a conflict error if any key read or written was changed
// by another commit since the transaction began, and then nothing is written.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Result<std::optional<std::string>> get(const Keyspace& keyspace,
                                                 std::string_view key) = 0;
  virtual Result<void> put(const Keyspace& keyspace, std::string_view key,
                           std::string_view value) = 0;
  virtual Result<void> del(const Keyspace& keyspace, std::string_view key) = 0;
  virtual Result<void> commit() = 0;
};

// The error code of a transaction that lost a conflict; retrying may succeed.
inline constexpr std::string_view kConflictCode = "TransactionConflictException";
bool is_conflict(const AwsError& error);

// The error code of a memory-only read that would have had to wait for the
// disk (or a write refused where writing is not allowed); the same call on
// a storage thread succeeds.
inline constexpr std::string_view kWouldBlockCode = "StoreWouldBlock";
bool is_would_block(const AwsError& error);
AwsError would_block();

// One committed batch as the change feed delivers it.
struct CommittedBatch {
  std::uint64_t sequence = 0;  // increases with commit order
  struct Change {
    enum class Kind : std::uint8_t { kPut = 1, kDelete = 2, kDropKeyspace = 3 } kind;
    std::uint64_t keyspace_id;
    std::string key;
    std::string value;
  };
  std::vector<Change> changes;
};

// Called on the store's feed thread, in commit order, one batch at a time.
// Must not block for long and must not call unsubscribe from inside.
using ChangeListener = std::function<void(const CommittedBatch&)>;

class Subscription {
 public:
  virtual ~Subscription() = default;  // unsubscribes; returns once no callback runs
};

class Store {
 public:
  // Opens (creating if missing) the store at options.path, recovering from a
  // crash if needed. Fails if another process holds it open.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  virtual ~Store() = default;

  // Keyspaces. create fails if the name exists; drop removes the name at once
  // and the data in the background.
  virtual Result<Keyspace> create_keyspace(std::string_view name) = 0;
  virtual Result<Keyspace> open_keyspace(std::string_view name) = 0;
  virtual Result<Keyspace> open_or_create_keyspace(std::string_view name) = 0;
  virtual Result<void> drop_keyspace(std::string_view name) = 0;
  virtual Result<std::vector<Keyspace>> list_keyspaces(std::string_view prefix = {}) = 0;

  virtual Result<std::optional<std::string>> get(const Keyspace& keyspace, std::string_view key,
                                                 const Snapshot* snapshot = nullptr) = 0;
  // get() from memtables and the block cache only: kWouldBlockCode if the
  // answer needs the disk. Never blocks on I/O.
  virtual Result<std::optional<std::string>> get_from_memory(const Keyspace& keyspace,
                                                             std::string_view key) = 0;
  virtual Result<void> put(const Keyspace& keyspace, std::string_view key,
                           std::string_view value) = 0;
  virtual Result<void> del(const Keyspace& keyspace, std::string_view key) = 0;
  virtual Result<void> write(const WriteBatch& batch) = 0;
  // write(), but only if acknowledging it needs no wait for the disk:
  // refused with kWouldBlockCode, writing nothing, when it needs an fsync
  // (Durability::kSync) or when the store is holding writers back because
  // flushes are behind. What it still does is append to the write-ahead log
  // in the OS page cache and, when writers meet, wait for the one writing
  // the group (CPU work, not disk). A backend that cannot promise that
  // refuses every call.
  virtual Result<void> write_without_waiting(const WriteBatch&) { return would_block(); }
  // Views that answer only what needs no wait (MemoryReadStore) say so, so
  // that a caller holding locks of its own tries them instead of waiting.
  virtual bool refuses_waits() const { return false; }
  virtual Result<ScanPage> scan(const Keyspace& keyspace, const ScanOptions& options) = 0;

  virtual std::shared_ptr<const Snapshot> snapshot() = 0;
  virtual std::unique_ptr<Transaction> begin() = 0;

  // Delivers every batch committed after this call, in commit order.
  virtual std::unique_ptr<Subscription> subscribe(ChangeListener listener) = 0;

  // Makes everything acknowledged so far durable against an OS crash too.
  virtual Result<void> sync() = 0;

  // Counters for metrics: RocksDB tickers and properties by name.
  virtual std::map<std::string, std::uint64_t> stats() = 0;
};

}  // namespace nimbus::storage
