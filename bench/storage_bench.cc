// Storage interface overhead: the same point, scan and transaction work
// through nimbus::storage::Store and through RocksDB directly (same options,
// same key bytes), in one run. bench/storage_bench.py prints the ratios.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>

#include "nimbus/storage/rocksdb/options.h"
#include "nimbus/storage/store.h"

namespace {

using nimbus::storage::Keyspace;
using nimbus::storage::Store;

constexpr int kPreloaded = 100'000;
const std::string kValue(100, 'v');

std::filesystem::path scratch(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("nimbus-bench-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  return path;
}

std::string user_key(std::uint64_t i) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "key%016llx", static_cast<unsigned long long>(i));
  return buffer;
}

// The keyspace prefix the store adds, so raw RocksDB handles the same bytes.
std::string raw_key(std::uint64_t keyspace_id, std::uint64_t i) {
  std::string key(8, '\0');
  for (int b = 0; b < 8; ++b) key[7 - b] = static_cast<char>((keyspace_id >> (8 * b)) & 0xff);
  return key + user_key(i);
}

struct Fixture {
  Fixture() {
    nimbus::storage::StoreOptions options;
    options.path = scratch("store");
    store = std::move(Store::open(options).value());
    table = store->create_keyspace("bench").value();

    // Raw RocksDB opened exactly as the store opens it.
    const rocksdb::Options raw_options = nimbus::storage::rocksdb_options(options);
    rocksdb::OptimisticTransactionDB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    if (!rocksdb::OptimisticTransactionDB::Open(
             raw_options, nimbus::storage::occ_options(), scratch("raw").string(),
             {rocksdb::ColumnFamilyDescriptor(rocksdb::kDefaultColumnFamilyName, raw_options)},
             &handles, &db)
             .ok()) {
      std::abort();
    }
    raw_txn_db.reset(db);
    raw_family = handles.front();
    raw = raw_txn_db->GetBaseDB();

    for (int i = 0; i < kPreloaded; ++i) {
      (void)store->put(table, user_key(static_cast<std::uint64_t>(i)), kValue);
      (void)raw->Put(rocksdb::WriteOptions(), raw_key(table.id, static_cast<std::uint64_t>(i)),
                     kValue);
    }
  }

  std::unique_ptr<Store> store;
  Keyspace table;
  std::unique_ptr<rocksdb::OptimisticTransactionDB> raw_txn_db;
  rocksdb::DB* raw = nullptr;
  rocksdb::ColumnFamilyHandle* raw_family = nullptr;

  ~Fixture() { raw_txn_db->DestroyColumnFamilyHandle(raw_family); }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

void BM_Put_Store(benchmark::State& state) {
  auto& f = fixture();
  std::uint64_t i = kPreloaded;
  for (auto _ : state) benchmark::DoNotOptimize(f.store->put(f.table, user_key(i++), kValue));
}

void BM_Put_Raw(benchmark::State& state) {
  auto& f = fixture();
  std::uint64_t i = kPreloaded;
  rocksdb::WriteOptions options;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    batch.Put(raw_key(f.table.id, i++), kValue);
    benchmark::DoNotOptimize(f.raw->Write(options, &batch));
  }
}

void BM_Get_Store(benchmark::State& state) {
  auto& f = fixture();
  std::mt19937_64 rng(1);
  for (auto _ : state)
    benchmark::DoNotOptimize(f.store->get(f.table, user_key(rng() % kPreloaded)));
}

void BM_Get_Raw(benchmark::State& state) {
  auto& f = fixture();
  std::mt19937_64 rng(1);
  std::string value;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        f.raw->Get(rocksdb::ReadOptions(), raw_key(f.table.id, rng() % kPreloaded), &value));
  }
}

void BM_Scan100_Store(benchmark::State& state) {
  auto& f = fixture();
  std::mt19937_64 rng(2);
  nimbus::storage::ScanOptions options;
  options.limit = 100;
  for (auto _ : state) {
    options.lower = nimbus::storage::Bound{user_key(rng() % (kPreloaded - 200)), true};
    benchmark::DoNotOptimize(f.store->scan(f.table, options));
  }
}

void BM_Scan100_Raw(benchmark::State& state) {
  auto& f = fixture();
  std::mt19937_64 rng(2);
  const std::string upper = raw_key(f.table.id + 1, 0).substr(0, 8);
  for (auto _ : state) {
    rocksdb::ReadOptions options;
    const rocksdb::Slice upper_slice(upper);
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(f.raw->NewIterator(options));
    std::vector<std::pair<std::string, std::string>> items;
    int n = 0;
    for (it->Seek(raw_key(f.table.id, rng() % (kPreloaded - 200))); it->Valid() && n < 100;
         it->Next(), ++n) {
      items.emplace_back(it->key().ToString().substr(8), it->value().ToString());
    }
    benchmark::DoNotOptimize(items);
  }
}

void BM_Transaction_Store(benchmark::State& state) {
  auto& f = fixture();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    auto txn = f.store->begin();
    const auto key = user_key(rng() % kPreloaded);
    benchmark::DoNotOptimize(txn->get(f.table, key));
    (void)txn->put(f.table, key, kValue);
    benchmark::DoNotOptimize(txn->commit());
  }
}

void BM_Transaction_Raw(benchmark::State& state) {
  auto& f = fixture();
  std::mt19937_64 rng(3);
  rocksdb::OptimisticTransactionOptions txn_options;
  txn_options.set_snapshot = true;
  std::string value;
  for (auto _ : state) {
    std::unique_ptr<rocksdb::Transaction> txn(
        f.raw_txn_db->BeginTransaction(rocksdb::WriteOptions(), txn_options));
    rocksdb::ReadOptions read;
    read.snapshot = txn->GetSnapshot();
    const auto key = raw_key(f.table.id, rng() % kPreloaded);
    benchmark::DoNotOptimize(txn->GetForUpdate(read, key, &value));
    (void)txn->Put(key, kValue);
    benchmark::DoNotOptimize(txn->Commit());
  }
}

}  // namespace

BENCHMARK(BM_Put_Store);
BENCHMARK(BM_Put_Raw);
BENCHMARK(BM_Get_Store);
BENCHMARK(BM_Get_Raw);
BENCHMARK(BM_Scan100_Store);
BENCHMARK(BM_Scan100_Raw);
BENCHMARK(BM_Transaction_Store);
BENCHMARK(BM_Transaction_Raw);

BENCHMARK_MAIN();
