#pragma once

// How Nimbus configures RocksDB (private to storage; the storage benchmark
// opens its raw-RocksDB baseline with the same options).

#include <rocksdb/options.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>

#include "nimbus/storage/store.h"

namespace nimbus::storage {

rocksdb::Options rocksdb_options(const StoreOptions& options);

// Conflict validation for optimistic transactions.
rocksdb::OptimisticTransactionDBOptions occ_options();

}  // namespace nimbus::storage
