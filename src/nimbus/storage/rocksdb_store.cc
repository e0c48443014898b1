// The RocksDB backend: the only file that includes RocksDB.
//
// Layout (docs/formats/storage-keys.md): one column family; every key is
// its keyspace's id as 8 bytes big-endian followed by the user key, so a
// keyspace is a contiguous range, drop is one DeleteRange, and batches across
// keyspaces are ordinary atomic WriteBatches. Keyspace 0 is the catalog.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/statistics.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "nimbus/storage/rocksdb/options.h"
#include "nimbus/storage/store.h"

namespace nimbus::storage {
namespace {

constexpr std::uint64_t kCatalogId = 0;
constexpr std::string_view kCatalogNamePrefix = "name:";  // "name:" + name -> id
constexpr std::string_view kCatalogNextId = "next-id";    // the id the next keyspace gets
constexpr std::size_t kPrefixBytes = 8;

std::string id_prefix(std::uint64_t id) {
  std::string prefix(kPrefixBytes, '\0');
  for (std::size_t i = 0; i < kPrefixBytes; ++i) {
    prefix[kPrefixBytes - 1 - i] = static_cast<char>((id >> (8 * i)) & 0xff);
  }
  return prefix;
}

std::uint64_t decode_id(std::string_view bytes) {
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < kPrefixBytes && i < bytes.size(); ++i) {
    id = (id << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return id;
}

std::string internal_key(std::uint64_t id, std::string_view key) {
  std::string out = id_prefix(id);
  out.append(key);
  return out;
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

AwsError storage_error(const rocksdb::Status& status, std::string_view what) {
  return AwsError::internal(fmt::format("storage: {} failed: {}", what, status.ToString()));
}

AwsError keyspace_not_found(std::string_view name) {
  return AwsError("ResourceNotFoundException", fmt::format("No keyspace named {}", name), 404);
}

AwsError conflict_error() {
  return AwsError(std::string(kConflictCode),
                  "Transaction cancelled: another write to the same keys committed first.", 400);
}

class RocksSnapshot final : public Snapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot)
      : db_(db), snapshot_(snapshot) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snapshot_); }
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

// Turns a WAL batch back into keyspace-level changes for the feed.
class ChangeDecoder final : public rocksdb::WriteBatch::Handler {
 public:
  explicit ChangeDecoder(CommittedBatch& out) : out_(out) {}

  rocksdb::Status PutCF(std::uint32_t, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    add(CommittedBatch::Change::Kind::kPut, key, value);
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(std::uint32_t, const rocksdb::Slice& key) override {
    add(CommittedBatch::Change::Kind::kDelete, key, {});
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(std::uint32_t cf, const rocksdb::Slice& key) override {
    return DeleteCF(cf, key);
  }
  rocksdb::Status DeleteRangeCF(std::uint32_t, const rocksdb::Slice& begin,
                                const rocksdb::Slice&) override {
    // Only keyspace drops delete ranges: the whole id prefix.
    out_.changes.push_back({CommittedBatch::Change::Kind::kDropKeyspace,
                            decode_id(std::string_view(begin.data(), begin.size())),
                            {},
                            {}});
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(std::uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  void LogData(const rocksdb::Slice&) override {}

 private:
  void add(CommittedBatch::Change::Kind kind, const rocksdb::Slice& key,
           const rocksdb::Slice& value) {
    if (key.size() < kPrefixBytes) return;
    const std::string_view k(key.data(), key.size());
    const auto id = decode_id(k);
    if (id == kCatalogId) return;
    out_.changes.push_back({kind, id, std::string(k.substr(kPrefixBytes)), value.ToString()});
  }
  CommittedBatch& out_;
};

class RocksStore;

class RocksSubscription final : public Subscription {
 public:
  RocksSubscription(RocksStore& store, std::uint64_t id) : store_(store), id_(id) {}
  ~RocksSubscription() override;

 private:
  RocksStore& store_;
  std::uint64_t id_;
};

class RocksTransaction final : public Transaction {
 public:
  RocksTransaction(std::unique_ptr<rocksdb::Transaction> txn) : txn_(std::move(txn)) {
    read_options_.snapshot = txn_->GetSnapshot();
  }

  Result<std::optional<std::string>> get(const Keyspace& keyspace, std::string_view key) override {
    std::string value;
    const auto status = txn_->GetForUpdate(read_options_, internal_key(keyspace.id, key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (status.IsBusy() || status.IsTryAgain()) return conflict_error();
    if (!status.ok()) return storage_error(status, "transaction get");
    return std::optional<std::string>(std::move(value));
  }

  Result<void> put(const Keyspace& keyspace, std::string_view key,
                   std::string_view value) override {
    const auto status = txn_->Put(internal_key(keyspace.id, key), slice(value));
    if (!status.ok()) return storage_error(status, "transaction put");
    return ok();
  }

  Result<void> del(const Keyspace& keyspace, std::string_view key) override {
    const auto status = txn_->Delete(internal_key(keyspace.id, key));
    if (!status.ok()) return storage_error(status, "transaction delete");
    return ok();
  }

  Result<void> commit() override;
  std::function<void()> on_commit;

 private:
  std::unique_ptr<rocksdb::Transaction> txn_;
  rocksdb::ReadOptions read_options_;
};

class RocksStore final : public Store {
 public:
  ~RocksStore() override {
    {
      std::lock_guard lock(feed_mutex_);
      feed_stop_ = true;
    }
    feed_wake_.notify_all();
    if (feed_thread_.joinable()) feed_thread_.join();
    // A clean shutdown leaves nothing to replay, whatever the durability mode.
    if (db_) db_->SyncWAL();
  }

  Result<void> open(const StoreOptions& options) {
    const rocksdb::Options db_options = rocksdb_options(options);
    statistics_ = db_options.statistics;

    rocksdb::OptimisticTransactionDB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    const auto status = rocksdb::OptimisticTransactionDB::Open(
        db_options, occ_options(), options.path.string(),
        {rocksdb::ColumnFamilyDescriptor(rocksdb::kDefaultColumnFamilyName, db_options)}, &handles,
        &db);
    if (!status.ok())
      return storage_error(status, fmt::format("opening {}", options.path.string()));
    txn_db_.reset(db);
    default_family_.reset(handles.front());
    db_ = txn_db_->GetBaseDB();
    write_options_.sync = options.durability == Durability::kSync;
    no_wait_options_.no_slowdown = true;
    return ok();
  }

  // -- keyspaces -------------------------------------------------------------
  Result<Keyspace> create_keyspace(std::string_view name) override {
    std::lock_guard lock(catalog_mutex_);
    return create_locked(name);
  }

  Result<Keyspace> open_keyspace(std::string_view name) override {
    auto found = find_keyspace(name);
    if (!found) return found.error();
    if (!*found) return keyspace_not_found(name);
    return **found;
  }

  Result<Keyspace> open_or_create_keyspace(std::string_view name) override {
    std::lock_guard lock(catalog_mutex_);
    auto found = find_keyspace(name);
    if (!found) return found.error();
    if (*found) return **found;
    return create_locked(name);
  }

  Result<void> drop_keyspace(std::string_view name) override {
    std::lock_guard lock(catalog_mutex_);
    auto found = find_keyspace(name);
    if (!found) return found.error();
    if (!*found) return keyspace_not_found(name);
    rocksdb::WriteBatch batch;
    batch.Delete(internal_key(kCatalogId, std::string(kCatalogNamePrefix) + std::string(name)));
    // One range tombstone: the data goes in background compactions.
    batch.DeleteRange(id_prefix((*found)->id), id_prefix((*found)->id + 1));
    return apply(batch);
  }

  Result<std::vector<Keyspace>> list_keyspaces(std::string_view prefix) override {
    std::vector<Keyspace> keyspaces;
    const std::string start =
        internal_key(kCatalogId, std::string(kCatalogNamePrefix) + std::string(prefix));
    const std::string end = id_prefix(kCatalogId + 1);
    rocksdb::ReadOptions read;
    const rocksdb::Slice upper(end);
    read.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
    for (it->Seek(start); it->Valid(); it->Next()) {
      const auto key = it->key().ToStringView().substr(kPrefixBytes);
      if (!key.starts_with(kCatalogNamePrefix)) break;
      auto name = key.substr(kCatalogNamePrefix.size());
      if (!name.starts_with(prefix)) break;
      keyspaces.push_back({std::string(name), decode_id(it->value().ToStringView())});
    }
    if (!it->status().ok()) return storage_error(it->status(), "listing keyspaces");
    return keyspaces;
  }

  // -- data --------------------------------------------------------------------
  Result<std::optional<std::string>> get(const Keyspace& keyspace, std::string_view key,
                                         const Snapshot* snapshot) override {
    rocksdb::ReadOptions read;
    if (snapshot != nullptr) read.snapshot = static_cast<const RocksSnapshot*>(snapshot)->get();
    std::string value;
    const auto status = db_->Get(read, internal_key(keyspace.id, key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return storage_error(status, "get");
    return std::optional<std::string>(std::move(value));
  }

  Result<std::optional<std::string>> get_from_memory(const Keyspace& keyspace,
                                                     std::string_view key) override {
    rocksdb::ReadOptions read;
    read.read_tier = rocksdb::kBlockCacheTier;
    std::string value;
    const auto status = db_->Get(read, internal_key(keyspace.id, key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (status.IsIncomplete()) return would_block();
    if (!status.ok()) return storage_error(status, "get");
    return std::optional<std::string>(std::move(value));
  }

  Result<void> put(const Keyspace& keyspace, std::string_view key,
                   std::string_view value) override {
    rocksdb::WriteBatch batch;
    batch.Put(internal_key(keyspace.id, key), slice(value));
    return apply(batch);
  }

  Result<void> del(const Keyspace& keyspace, std::string_view key) override {
    rocksdb::WriteBatch batch;
    batch.Delete(internal_key(keyspace.id, key));
    return apply(batch);
  }

  Result<void> write(const WriteBatch& batch) override {
    return apply(encode(batch), write_options_);
  }

  Result<void> write_without_waiting(const WriteBatch& batch) override {
    if (write_options_.sync) return would_block();
    return apply(encode(batch), no_wait_options_);
  }

  Result<ScanPage> scan(const Keyspace& keyspace, const ScanOptions& options) override {
    const std::string prefix = id_prefix(keyspace.id);
    std::string lower = prefix;
    std::string upper = id_prefix(keyspace.id + 1);  // exclusive
    if (options.lower) {
      lower = prefix + options.lower->key;
      if (!options.lower->inclusive) lower.push_back('\0');  // the next key after it
    }
    if (options.upper) {
      upper = prefix + options.upper->key;
      if (options.upper->inclusive) upper.push_back('\0');
    }
    if (options.cursor) {
      // Resume strictly after the cursor in the scan's direction.
      if (options.direction == Direction::kForward) {
        std::string after = prefix + *options.cursor;
        after.push_back('\0');
        lower = std::max(lower, after);
      } else {
        upper = std::min(upper, prefix + *options.cursor);
      }
    }
    ScanPage page;
    if (lower >= upper) return page;

    rocksdb::ReadOptions read;
    if (options.snapshot)
      read.snapshot = static_cast<const RocksSnapshot*>(options.snapshot.get())->get();
    if (options.memory_only) read.read_tier = rocksdb::kBlockCacheTier;
    const rocksdb::Slice lower_slice(lower);
    const rocksdb::Slice upper_slice(upper);
    read.iterate_lower_bound = &lower_slice;
    read.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
    const bool forward = options.direction == Direction::kForward;
    forward ? it->SeekToFirst() : it->SeekToLast();
    for (; it->Valid(); forward ? it->Next() : it->Prev()) {
      if (options.limit > 0 && page.items.size() == options.limit) {
        page.cursor = page.items.back().key;
        break;
      }
      page.items.push_back(
          {std::string(it->key().ToStringView().substr(kPrefixBytes)), it->value().ToString()});
    }
    if (it->status().IsIncomplete()) return would_block();
    if (!it->status().ok()) return storage_error(it->status(), "scan");
    return page;
  }

  std::shared_ptr<const Snapshot> snapshot() override {
    return std::make_shared<RocksSnapshot>(db_, db_->GetSnapshot());
  }

  std::unique_ptr<Transaction> begin() override {
    rocksdb::OptimisticTransactionOptions txn_options;
    txn_options.set_snapshot = true;
    auto txn = std::make_unique<RocksTransaction>(std::unique_ptr<rocksdb::Transaction>(
        txn_db_->BeginTransaction(write_options_, txn_options)));
    txn->on_commit = [this] { wake_feed(); };
    return txn;
  }

  Result<void> sync() override {
    const auto status = db_->SyncWAL();
    if (!status.ok()) return storage_error(status, "sync");
    return ok();
  }

  std::map<std::string, std::uint64_t> stats() override {
    std::map<std::string, std::uint64_t> out;
    for (const auto& [ticker, name] : rocksdb::TickersNameMap) {
      switch (ticker) {
        case rocksdb::NUMBER_KEYS_WRITTEN:
        case rocksdb::NUMBER_KEYS_READ:
        case rocksdb::BYTES_WRITTEN:
        case rocksdb::BYTES_READ:
        case rocksdb::WAL_FILE_SYNCED:
        case rocksdb::WAL_FILE_BYTES:
        case rocksdb::WRITE_DONE_BY_SELF:
        case rocksdb::WRITE_DONE_BY_OTHER:
        case rocksdb::BLOCK_CACHE_HIT:
        case rocksdb::BLOCK_CACHE_MISS:
        case rocksdb::NUMBER_DB_SEEK:
        case rocksdb::COMPACT_WRITE_BYTES:
        case rocksdb::FLUSH_WRITE_BYTES:
        case rocksdb::STALL_MICROS:
          out[name] = statistics_->getTickerCount(ticker);
          break;
        default:
          break;
      }
    }
    for (const auto* property :
         {"rocksdb.estimate-num-keys", "rocksdb.cur-size-all-mem-tables",
          "rocksdb.block-cache-usage", "rocksdb.total-sst-files-size",
          "rocksdb.estimate-live-data-size", "rocksdb.num-running-compactions"}) {
      std::uint64_t value = 0;
      if (db_->GetIntProperty(property, &value)) out[property] = value;
    }
    return out;
  }

  // -- change feed -------------------------------------------------------------
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override {
    std::lock_guard delivery(delivery_mutex_);
    std::lock_guard lock(feed_mutex_);
    if (listeners_.empty()) feed_next_ = db_->GetLatestSequenceNumber() + 1;
    const auto id = ++last_listener_id_;
    listeners_.emplace_back(id, std::move(listener));
    has_listeners_ = true;
    if (!feed_thread_.joinable()) feed_thread_ = std::thread([this] { run_feed(); });
    return std::make_unique<RocksSubscription>(*this, id);
  }

  void unsubscribe(std::uint64_t id) {
    std::lock_guard delivery(delivery_mutex_);  // waits out a running callback
    std::lock_guard lock(feed_mutex_);
    std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
    has_listeners_ = !listeners_.empty();
  }

  void wake_feed() {
    if (!has_listeners_.load(std::memory_order_relaxed)) return;
    {
      std::lock_guard lock(feed_mutex_);
      feed_pending_ = true;
    }
    feed_wake_.notify_one();
  }

 private:
  // The batch in this thread's encoding buffer: a large batch written over
  // and over (the journal's) reuses memory instead of faulting in fresh
  // pages every time. A buffer grown past 8 MB is let go at the next call.
  static rocksdb::WriteBatch& encode(const WriteBatch& batch) {
    thread_local rocksdb::WriteBatch out;
    if (out.GetDataSize() > (8u << 20)) out = rocksdb::WriteBatch();
    out.Clear();
    for (const auto& write : batch.writes()) {
      if (write.kind == WriteBatch::Kind::kPut) {
        out.Put(internal_key(write.keyspace_id, write.key), slice(write.value));
      } else {
        out.Delete(internal_key(write.keyspace_id, write.key));
      }
    }
    return out;
  }

  Result<void> apply(rocksdb::WriteBatch& batch) { return apply(batch, write_options_); }

  Result<void> apply(rocksdb::WriteBatch& batch, const rocksdb::WriteOptions& options) {
    const auto status = db_->Write(options, &batch);
    // With no_slowdown, a write the store would hold back is refused whole.
    if (status.IsIncomplete() && options.no_slowdown) return would_block();
    if (!status.ok()) return storage_error(status, "write");
    wake_feed();
    return ok();
  }

  Result<std::optional<Keyspace>> find_keyspace(std::string_view name) {
    std::string value;
    const auto status = db_->Get(
        rocksdb::ReadOptions(),
        internal_key(kCatalogId, std::string(kCatalogNamePrefix) + std::string(name)), &value);
    if (status.IsNotFound()) return std::optional<Keyspace>();
    if (!status.ok()) return storage_error(status, "reading the keyspace catalog");
    return std::optional<Keyspace>(Keyspace{std::string(name), decode_id(value)});
  }

  // Caller holds catalog_mutex_.
  Result<Keyspace> create_locked(std::string_view name) {
    if (name.empty()) return AwsError::validation("keyspace name must not be empty");
    auto found = find_keyspace(name);
    if (!found) return found.error();
    if (*found) {
      return AwsError("ResourceInUseException", fmt::format("Keyspace {} already exists", name),
                      400);
    }
    std::string next;
    auto status = db_->Get(rocksdb::ReadOptions(), internal_key(kCatalogId, kCatalogNextId), &next);
    if (!status.ok() && !status.IsNotFound())
      return storage_error(status, "reading the keyspace catalog");
    const std::uint64_t id = status.IsNotFound() ? 1 : decode_id(next);
    rocksdb::WriteBatch batch;
    batch.Put(internal_key(kCatalogId, std::string(kCatalogNamePrefix) + std::string(name)),
              id_prefix(id));
    batch.Put(internal_key(kCatalogId, kCatalogNextId), id_prefix(id + 1));
    if (auto applied = apply(batch); !applied) return applied.error();
    return Keyspace{std::string(name), id};
  }

  void run_feed() {
    for (;;) {
      {
        std::unique_lock lock(feed_mutex_);
        feed_wake_.wait_for(lock, std::chrono::milliseconds(200),
                            [this] { return feed_stop_ || feed_pending_; });
        if (feed_stop_) return;
        feed_pending_ = false;
      }
      std::lock_guard delivery(delivery_mutex_);
      if (!has_listeners_) continue;
      std::unique_ptr<rocksdb::TransactionLogIterator> it;
      const auto status = db_->GetUpdatesSince(feed_next_, &it);
      if (!status.ok()) {
        if (!status.IsNotFound()) {
          spdlog::error("storage: change feed cannot read from sequence {}: {}", feed_next_,
                        status.ToString());
        }
        continue;
      }
      for (; it->Valid(); it->Next()) {
        auto result = it->GetBatch();
        const std::uint64_t count = result.writeBatchPtr->Count();
        if (result.sequence + count <= feed_next_) continue;  // already delivered
        CommittedBatch committed;
        committed.sequence = result.sequence;
        ChangeDecoder decoder(committed);
        result.writeBatchPtr->Iterate(&decoder);
        feed_next_ = result.sequence + count;
        if (committed.changes.empty()) continue;
        for (const auto& [id, listener] : listeners_) listener(committed);
      }
    }
  }

  std::unique_ptr<rocksdb::OptimisticTransactionDB> txn_db_;
  struct CloseFamily {
    RocksStore* store;
    void operator()(rocksdb::ColumnFamilyHandle* handle) const {
      store->txn_db_->DestroyColumnFamilyHandle(handle);
    }
  };
  std::unique_ptr<rocksdb::ColumnFamilyHandle, CloseFamily> default_family_{nullptr,
                                                                            CloseFamily{this}};
  rocksdb::DB* db_ = nullptr;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteOptions no_wait_options_;  // write_without_waiting's
  std::mutex catalog_mutex_;

  // Change feed. delivery_mutex_ is held while callbacks run (and taken
  // before feed_mutex_), so unsubscribing waits for a running callback.
  std::mutex delivery_mutex_;
  std::mutex feed_mutex_;
  std::condition_variable feed_wake_;
  bool feed_pending_ = false;
  bool feed_stop_ = false;
  std::atomic<bool> has_listeners_{false};
  std::vector<std::pair<std::uint64_t, ChangeListener>> listeners_;
  std::uint64_t last_listener_id_ = 0;
  std::uint64_t feed_next_ = 0;  // guarded by delivery_mutex_
  std::thread feed_thread_;
};

RocksSubscription::~RocksSubscription() { store_.unsubscribe(id_); }

Result<void> RocksTransaction::commit() {
  const auto status = txn_->Commit();
  if (status.IsBusy() || status.IsTryAgain()) return conflict_error();
  if (!status.ok()) return storage_error(status, "transaction commit");
  if (on_commit) on_commit();
  return ok();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  auto store = std::make_unique<RocksStore>();
  if (auto opened = store->open(options); !opened) return opened.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace nimbus::storage
