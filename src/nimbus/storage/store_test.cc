#include "nimbus/storage/store.h"

#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nimbus/storage/test_store.h"

namespace nimbus::storage {
namespace {

std::vector<std::string> keys_of(const ScanPage& page) {
  std::vector<std::string> keys;
  for (const auto& item : page.items) keys.push_back(item.key);
  return keys;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_.path());
    ASSERT_TRUE(store_);
    table_ = store_->create_keyspace("table").value();
  }

  void fill(const Keyspace& keyspace, std::initializer_list<const char*> keys) {
    for (const auto* key : keys) ASSERT_TRUE(store_->put(keyspace, key, std::string("v-") + key));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Keyspace table_;
};

TEST_F(StoreTest, PointOperations) {
  EXPECT_EQ(store_->get(table_, "k").value(), std::nullopt);
  ASSERT_TRUE(store_->put(table_, "k", "v1"));
  EXPECT_EQ(store_->get(table_, "k").value(), "v1");
  ASSERT_TRUE(store_->put(table_, "k", std::string("v\0 2", 4)));
  EXPECT_EQ(store_->get(table_, "k").value(), std::string("v\0 2", 4));
  ASSERT_TRUE(store_->del(table_, "k"));
  EXPECT_EQ(store_->get(table_, "k").value(), std::nullopt);
  ASSERT_TRUE(store_->del(table_, "never-there"));
}

TEST_F(StoreTest, KeyspacesAreIsolatedAndListed) {
  auto other = store_->create_keyspace("other").value();
  EXPECT_NE(other.id, table_.id);
  ASSERT_TRUE(store_->put(table_, "k", "in-table"));
  ASSERT_TRUE(store_->put(other, "k", "in-other"));
  EXPECT_EQ(store_->get(table_, "k").value(), "in-table");
  EXPECT_EQ(store_->get(other, "k").value(), "in-other");

  const auto created = store_->create_keyspace("table");
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code(), "ResourceInUseException");
  EXPECT_EQ(store_->open_keyspace("table").value(), table_);
  EXPECT_EQ(store_->open_keyspace("missing").error().code(), "ResourceNotFoundException");
  EXPECT_EQ(store_->open_or_create_keyspace("table").value(), table_);

  auto listed = store_->list_keyspaces().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "other");
  EXPECT_EQ(listed[1].name, "table");
  EXPECT_EQ(store_->list_keyspaces("ot").value().size(), 1u);
}

TEST_F(StoreTest, DropRemovesDataAndNeverReusesIds) {
  fill(table_, {"a", "b", "c"});
  ASSERT_TRUE(store_->drop_keyspace("table"));
  EXPECT_EQ(store_->open_keyspace("table").error().code(), "ResourceNotFoundException");
  EXPECT_EQ(store_->drop_keyspace("table").error().code(), "ResourceNotFoundException");
  auto again = store_->create_keyspace("table").value();
  EXPECT_GT(again.id, table_.id);
  EXPECT_TRUE(store_->scan(again, {}).value().items.empty());
  // The old handle sees the range tombstone, not the new keyspace.
  EXPECT_TRUE(store_->scan(table_, {}).value().items.empty());
}

TEST_F(StoreTest, BatchesAreAtomicAcrossKeyspaces) {
  auto index = store_->create_keyspace("index").value();
  ASSERT_TRUE(store_->put(table_, "old", "x"));
  WriteBatch batch;
  batch.put(table_, "item", "data").put(index, "by-attr#item", "").del(table_, "old");
  ASSERT_TRUE(store_->write(batch));
  EXPECT_EQ(store_->get(table_, "item").value(), "data");
  EXPECT_EQ(store_->get(index, "by-attr#item").value(), "");
  EXPECT_EQ(store_->get(table_, "old").value(), std::nullopt);
}

TEST_F(StoreTest, ScansHonourBoundsDirectionLimitAndCursor) {
  fill(table_, {"a", "b", "c", "d", "e"});
  auto other = store_->create_keyspace("z-after").value();
  fill(other, {"a"});  // must never leak into table_'s scans

  EXPECT_EQ(keys_of(store_->scan(table_, {}).value()),
            (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  ScanOptions range;
  range.lower = Bound{"b", false};
  range.upper = Bound{"d", true};
  EXPECT_EQ(keys_of(store_->scan(table_, range).value()), (std::vector<std::string>{"c", "d"}));
  range.lower = Bound{"b", true};
  range.upper = Bound{"d", false};
  EXPECT_EQ(keys_of(store_->scan(table_, range).value()), (std::vector<std::string>{"b", "c"}));
  range.direction = Direction::kBackward;
  EXPECT_EQ(keys_of(store_->scan(table_, range).value()), (std::vector<std::string>{"c", "b"}));

  ScanOptions backward;
  backward.direction = Direction::kBackward;
  EXPECT_EQ(keys_of(store_->scan(table_, backward).value()),
            (std::vector<std::string>{"e", "d", "c", "b", "a"}));

  // Pages of two, resumed by cursor, in both directions.
  for (const auto direction : {Direction::kForward, Direction::kBackward}) {
    ScanOptions paged;
    paged.limit = 2;
    paged.direction = direction;
    std::vector<std::string> seen;
    int pages = 0;
    for (;;) {
      const auto page = store_->scan(table_, paged).value();
      ++pages;
      for (const auto& key : keys_of(page)) seen.push_back(key);
      if (!page.cursor) break;
      paged.cursor = page.cursor;
    }
    EXPECT_EQ(pages, 3);
    std::vector<std::string> expected{"a", "b", "c", "d", "e"};
    if (direction == Direction::kBackward) std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(seen, expected);
  }

  // A limit that ends exactly at the last key leaves no cursor.
  ScanOptions exact;
  exact.limit = 5;
  EXPECT_FALSE(store_->scan(table_, exact).value().cursor);

  // Prefix scans, including prefixes ending in 0xff.
  fill(table_, {"user#1", "user#2", "userz", "user"});
  EXPECT_EQ(keys_of(store_->scan(table_, ScanOptions::with_prefix("user#")).value()),
            (std::vector<std::string>{"user#1", "user#2"}));
  ASSERT_TRUE(store_->put(table_, "p\xff\x01", "x"));
  ASSERT_TRUE(store_->put(table_, "p\xff", "x"));
  ASSERT_TRUE(store_->put(table_, "q", "x"));
  auto backward_prefix = ScanOptions::with_prefix("p\xff");
  backward_prefix.direction = Direction::kBackward;
  EXPECT_EQ(keys_of(store_->scan(table_, backward_prefix).value()),
            (std::vector<std::string>{"p\xff\x01", "p\xff"}));

  ScanOptions empty;
  empty.lower = Bound{"d", true};
  empty.upper = Bound{"b", true};
  EXPECT_TRUE(store_->scan(table_, empty).value().items.empty());
}

TEST_F(StoreTest, SnapshotsSeeOnePointInTime) {
  fill(table_, {"a", "b"});
  const auto snapshot = store_->snapshot();
  ASSERT_TRUE(store_->put(table_, "a", "changed"));
  ASSERT_TRUE(store_->put(table_, "c", "new"));
  ASSERT_TRUE(store_->del(table_, "b"));
  EXPECT_EQ(store_->get(table_, "a", snapshot.get()).value(), "v-a");
  EXPECT_EQ(store_->get(table_, "b", snapshot.get()).value(), "v-b");
  ScanOptions at_snapshot;
  at_snapshot.snapshot = snapshot;
  EXPECT_EQ(keys_of(store_->scan(table_, at_snapshot).value()),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(keys_of(store_->scan(table_, {}).value()), (std::vector<std::string>{"a", "c"}));
}

TEST_F(StoreTest, TransactionReadsItsOwnWritesAndCommitsAtomically) {
  auto txn = store_->begin();
  EXPECT_EQ(txn->get(table_, "counter").value(), std::nullopt);
  ASSERT_TRUE(txn->put(table_, "counter", "1"));
  ASSERT_TRUE(txn->put(table_, "other", "x"));
  EXPECT_EQ(txn->get(table_, "counter").value(), "1");
  EXPECT_EQ(store_->get(table_, "counter").value(), std::nullopt) << "not visible before commit";
  ASSERT_TRUE(txn->commit());
  EXPECT_EQ(store_->get(table_, "counter").value(), "1");
  EXPECT_EQ(store_->get(table_, "other").value(), "x");
}

TEST_F(StoreTest, ConflictingTransactionIsRefusedAndWritesNothing) {
  ASSERT_TRUE(store_->put(table_, "balance", "100"));
  auto first = store_->begin();
  auto second = store_->begin();
  EXPECT_EQ(first->get(table_, "balance").value(), "100");
  EXPECT_EQ(second->get(table_, "balance").value(), "100");
  ASSERT_TRUE(first->put(table_, "balance", "90"));
  ASSERT_TRUE(second->put(table_, "balance", "80"));
  ASSERT_TRUE(second->put(table_, "audit", "second"));
  ASSERT_TRUE(first->commit());
  const auto lost = second->commit();
  ASSERT_FALSE(lost);
  EXPECT_TRUE(is_conflict(lost.error()));
  EXPECT_EQ(store_->get(table_, "balance").value(), "90");
  EXPECT_EQ(store_->get(table_, "audit").value(), std::nullopt);
}

TEST_F(StoreTest, PlainWriteToAKeyReadByATransactionConflicts) {
  auto txn = store_->begin();
  EXPECT_EQ(txn->get(table_, "item").value(), std::nullopt);  // condition: must not exist
  ASSERT_TRUE(store_->put(table_, "item", "someone else"));
  ASSERT_TRUE(txn->put(table_, "item", "mine"));
  EXPECT_TRUE(is_conflict(txn->commit().error()));
  EXPECT_EQ(store_->get(table_, "item").value(), "someone else");
}

TEST_F(StoreTest, ConcurrentIncrementsLoseNothing) {
  ASSERT_TRUE(store_->put(table_, "counter", "0"));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 200;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        for (;;) {
          auto txn = store_->begin();
          const int value = std::stoi(txn->get(table_, "counter").value().value());
          ASSERT_TRUE(txn->put(table_, "counter", std::to_string(value + 1)));
          const auto committed = txn->commit();
          if (committed) break;
          ASSERT_TRUE(is_conflict(committed.error())) << committed.error().message();
          ++conflicts;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store_->get(table_, "counter").value(), std::to_string(kThreads * kIncrements));
}

TEST_F(StoreTest, DataSurvivesReopen) {
  fill(table_, {"a", "b"});
  auto index = store_->create_keyspace("index").value();
  store_.reset();
  store_ = open_store(dir_.path());
  ASSERT_TRUE(store_);
  EXPECT_EQ(store_->open_keyspace("table").value(), table_);
  EXPECT_EQ(store_->open_keyspace("index").value(), index);
  EXPECT_EQ(store_->get(table_, "b").value(), "v-b");
  EXPECT_GT(store_->create_keyspace("new").value().id, index.id);
}

TEST(StoreMemoryReadTest, MemoryOnlyReadsNeverGoToTheDisk) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.path();
  options.block_cache_bytes = 8 << 20;
  options.memtable_bytes = 1 << 20;  // small memtables: most data gets flushed to files
  auto store = std::move(Store::open(options).value());
  auto table = store->create_keyspace("t").value();
  const std::string value(1024, 'v');
  for (int i = 0; i < 4000; ++i) ASSERT_TRUE(store->put(table, fmt::format("k{:04}", i), value));
  // Just written: in a memtable.
  EXPECT_EQ(store->get_from_memory(table, "k3999").value(), value);
  EXPECT_EQ(store->get_from_memory(table, "zz").value(), std::nullopt);
  // Reopened, the early keys are in files and the block cache is cold: refused.
  store.reset();
  store = std::move(Store::open(options).value());
  auto cold = store->get_from_memory(table, "k0000");
  ASSERT_FALSE(cold);
  EXPECT_TRUE(is_would_block(cold.error()));
  ScanOptions in_memory;
  in_memory.memory_only = true;
  in_memory.limit = 3;
  auto cold_scan = store->scan(table, in_memory);
  ASSERT_FALSE(cold_scan);
  EXPECT_TRUE(is_would_block(cold_scan.error()));
  // Ordinary reads bring the blocks into the cache; then memory suffices.
  EXPECT_EQ(store->get(table, "k0000").value(), value);
  EXPECT_EQ(store->get_from_memory(table, "k0001").value(), value);
  ScanOptions from_disk = in_memory;
  from_disk.memory_only = false;
  EXPECT_EQ(store->scan(table, from_disk).value().items.size(), 3u);
  EXPECT_EQ(keys_of(store->scan(table, in_memory).value()),
            (std::vector<std::string>{"k0000", "k0001", "k0002"}));
}

TEST_F(StoreTest, SecondOpenOfTheSameDirectoryFails) {
  StoreOptions options;
  options.path = dir_.path();
  const auto second = Store::open(options);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("lock"), std::string::npos) << second.error().message();
}

TEST_F(StoreTest, ChangeFeedDeliversCommitsInOrder) {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<CommittedBatch> batches;
  auto subscription = store_->subscribe([&](const CommittedBatch& batch) {
    std::lock_guard lock(mutex);
    batches.push_back(batch);
    arrived.notify_all();
  });
  auto index = store_->create_keyspace("index").value();  // catalog writes are not data
  ASSERT_TRUE(store_->put(table_, "a", "1"));
  WriteBatch batch;
  batch.put(table_, "b", "2").put(index, "i", "").del(table_, "a");
  ASSERT_TRUE(store_->write(batch));
  auto txn = store_->begin();
  ASSERT_TRUE(txn->put(table_, "t", "3"));
  ASSERT_TRUE(txn->commit());
  ASSERT_TRUE(store_->drop_keyspace("index"));

  std::unique_lock lock(mutex);
  ASSERT_TRUE(
      arrived.wait_for(lock, std::chrono::seconds(10), [&] { return batches.size() >= 4; }));
  ASSERT_EQ(batches.size(), 4u);
  for (std::size_t i = 1; i < batches.size(); ++i)
    EXPECT_GT(batches[i].sequence, batches[i - 1].sequence);
  ASSERT_EQ(batches[0].changes.size(), 1u);
  EXPECT_EQ(batches[0].changes[0].key, "a");
  EXPECT_EQ(batches[0].changes[0].keyspace_id, table_.id);
  ASSERT_EQ(batches[1].changes.size(), 3u);
  EXPECT_EQ(batches[1].changes[1].keyspace_id, index.id);
  EXPECT_EQ(batches[1].changes[2].kind, CommittedBatch::Change::Kind::kDelete);
  EXPECT_EQ(batches[2].changes[0].value, "3");
  ASSERT_EQ(batches[3].changes.size(), 1u);
  EXPECT_EQ(batches[3].changes[0].kind, CommittedBatch::Change::Kind::kDropKeyspace);
  EXPECT_EQ(batches[3].changes[0].keyspace_id, index.id);
}

TEST_F(StoreTest, ChangeFeedReplaysToTheSameStateUnderConcurrentWriters) {
  std::mutex mutex;
  std::map<std::string, std::string> replayed;
  std::uint64_t last_sequence = 0;
  bool ordered = true;
  auto subscription = store_->subscribe([&](const CommittedBatch& batch) {
    std::lock_guard lock(mutex);
    if (batch.sequence <= last_sequence) ordered = false;
    last_sequence = batch.sequence;
    for (const auto& change : batch.changes) {
      if (change.kind == CommittedBatch::Change::Kind::kPut) replayed[change.key] = change.value;
      if (change.kind == CommittedBatch::Change::Kind::kDelete) replayed.erase(change.key);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const auto key = "k" + std::to_string(i % 37);
        if (i % 5 == 4) {
          ASSERT_TRUE(store_->del(table_, key));
        } else {
          ASSERT_TRUE(store_->put(table_, key, std::to_string(t * 1000 + i)));
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  std::map<std::string, std::string> actual;
  for (const auto& item : store_->scan(table_, {}).value().items) actual[item.key] = item.value;
  for (int attempt = 0; attempt < 500; ++attempt) {
    {
      std::lock_guard lock(mutex);
      if (replayed == actual) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard lock(mutex);
  EXPECT_TRUE(ordered);
  EXPECT_EQ(replayed, actual);
}

TEST(StoreDurabilityTest, SyncModeSharesFsyncsBetweenConcurrentWriters) {
  TempDir dir;
  auto store = open_store(dir.path(), Durability::kSync);
  ASSERT_TRUE(store);
  auto table = store->create_keyspace("t").value();
  const auto before = store->stats();
  constexpr int kThreads = 8;
  constexpr int kWrites = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        ASSERT_TRUE(store->put(table, std::to_string(t) + "-" + std::to_string(i), "v"));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto after = store->stats();
  const auto syncs = after.at("rocksdb.wal.synced") - before.at("rocksdb.wal.synced");
  const auto writes = kThreads * kWrites;
  EXPECT_GT(syncs, 0u);
  EXPECT_LE(syncs, static_cast<std::uint64_t>(writes));
  // Group commit: some writes rode on another writer's fsync.
  EXPECT_GT(after.at("rocksdb.write.other") - before.at("rocksdb.write.other"), 0u);
  EXPECT_GT(after.at("rocksdb.estimate-num-keys"), 0u);
}

}  // namespace
}  // namespace nimbus::storage
