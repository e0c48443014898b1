#include "nimbus/storage/rocksdb/options.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

namespace nimbus::storage {

rocksdb::Options rocksdb_options(const StoreOptions& options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned index and filters: a large file's index is thousands of
  // small blocks the cache can hold, not one block of megabytes larger than
  // a cache shard, which was read (and decompressed) again on every get.
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.format_version = 5;

  rocksdb::Options db;
  db.create_if_missing = true;
  db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Memory is bounded: the block cache plus all memtables together.
  db.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(options.memtable_bytes);
  db.write_buffer_size = std::max<std::size_t>(options.memtable_bytes / 4, 1 << 20);
  db.max_write_buffer_number = 4;
  db.max_background_jobs = options.background_jobs;
  db.bytes_per_sync = 1 << 20;
  // Reads matter more than disk on a developer's machine: LZ4 only where
  // data settles, nothing on the hot levels.
  db.compression = rocksdb::kNoCompression;
  db.bottommost_compression = rocksdb::kLZ4Compression;
  // A torn last record after a crash is dropped; everything before it is kept.
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Restart fast: replay the WAL into memtables instead of flushing them at open.
  db.avoid_flush_during_recovery = true;
  // The change feed reads committed batches back from the WAL: keep
  // obsolete WAL files a while so a slow listener still finds them.
  db.WAL_ttl_seconds = 300;
  db.WAL_size_limit_MB = 256;
  // Counters only (stats() reads tickers): histograms and timers cost two
  // clock reads per get and write.
  db.statistics = rocksdb::CreateDBStatistics();
  db.statistics->set_stats_level(rocksdb::kExceptHistogramOrTimers);
  // A bloom filter per memtable: a get of a key not written lately (every
  // DynamoDB PutItem of a new item reads the one it replaces) skips the
  // skip-list search of each of up to four memtables.
  db.memtable_whole_key_filtering = true;
  db.memtable_prefix_bloom_size_ratio = 0.05;
  db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db.keep_log_file_num = 3;
  return db;
}

rocksdb::OptimisticTransactionDBOptions occ_options() {
  rocksdb::OptimisticTransactionDBOptions occ;
  // Commits validate in parallel under per-bucket locks. RocksDB's default of
  // 2^20 buckets allocates a million mutexes at open (~200 ms here); 2^14
  // keeps start-up in milliseconds with collisions still rare.
  occ.occ_lock_buckets = 1 << 14;
  return occ;
}

}  // namespace nimbus::storage
