#pragma once

// The DynamoDB service's implementation class, shared by the files that
// define its operations: tables.cc, items.cc, queries.cc, batches.cc.
// Every operation runs on a storage thread (AsyncStore::run), so handlers
// block on the store freely.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/aws/json_protocol.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/services/dynamodb/dynamodb_service.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"
#include "nimbus/services/dynamodb/internal/expression.h"
#include "nimbus/services/dynamodb/internal/request_expressions.h"
#include "nimbus/services/dynamodb/internal/table.h"
#include "nimbus/storage/record_catalog.h"
#include "nimbus/storage/store.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

// ---- Request helpers (dynamodb_service.cc) ----------------------------------

const json::value* member(const json::object& in, std::string_view name);
std::optional<std::string> string_member(const json::object& in, std::string_view name);
// "1 validation error detected: Value 'v' at 'field' failed to satisfy constraint: rule".
AwsError constraint(std::string_view value, std::string_view field, std::string_view rule);
AwsError table_not_found(std::string_view name);
Result<void> validate_table_name(std::string_view name, std::string_view field = "tableName");
// One of `allowed`, or absent (`fallback`); DynamoDB's enum error otherwise.
Result<std::string> enum_member(const json::object& in, std::string_view name,
                                std::string_view field,
                                std::initializer_list<std::string_view> allowed,
                                std::string_view fallback);
// ReturnConsumedCapacity and ReturnItemCollectionMetrics, if present, hold
// one of their values.
Result<void> check_capacity_modes(const json::object& in);
// Rounds a size up to whole units of `unit` bytes, at least one.
std::int64_t units_of(std::size_t bytes, std::size_t unit);
// Unix epoch milliseconds, now.
std::int64_t now_ms();

struct TableSize {
  std::int64_t items = 0;
  std::int64_t bytes = 0;  // DynamoDB item sizes, summed
};

// A table's live item count and DynamoDB size. Each write adds what it
// changed while it holds its item's stripe lock; the base is counted once,
// from a snapshot taken with every stripe held, so base plus changes is
// exact without a counter in the store that every write would contend on.
struct TableStats {
  explicit TableStats(std::string table_name) : table(std::move(table_name)) {}
  // One item written: from `old_size` to `new_size` bytes (0: absent).
  void changed(std::size_t old_size, std::size_t new_size) {
    items.fetch_add(static_cast<int>(new_size > 0) - static_cast<int>(old_size > 0),
                    std::memory_order_relaxed);
    bytes.fetch_add(static_cast<std::int64_t>(new_size) - static_cast<std::int64_t>(old_size),
                    std::memory_order_relaxed);
  }
  // Base plus changes: the size once `counted`.
  TableSize size() const {
    return {base_items + items.load(std::memory_order_relaxed),
            base_bytes + bytes.load(std::memory_order_relaxed)};
  }

  const std::string table;
  // The newest TableRecord::index_version this server has written with. A
  // write holding its item's stripe lock with an older record is stale: it
  // would not keep an index added since (or would keep one removed), so it
  // is run again with the current record. drain_older_writes() raises this
  // after the record changed, then takes every stripe once, so the writes
  // that passed the check before are committed before a backfill visits an
  // item or a deleted index's keyspace is dropped.
  std::atomic<std::uint64_t> index_version{0};
  std::atomic<std::int64_t> items{0};  // changes written since the service started
  std::atomic<std::int64_t> bytes{0};
  std::mutex counting;  // one base count at a time
  std::atomic<bool> counted{false};
  std::int64_t base_items = 0;  // set under `counting` before `counted`
  std::int64_t base_bytes = 0;

  // Storage metering: accrued up to `metered_until_ms`, less than a whole
  // byte-minute carried in `byte_ms`.
  std::mutex metering;
  std::int64_t metered_until_ms = 0;  // 0: not yet metered
  std::int64_t byte_ms = 0;
};

// A table, the keyspace its items live in, and its live size.
struct TableHandle {
  std::shared_ptr<const TableRecord> record;
  storage::Keyspace items;
  std::shared_ptr<TableStats> stats;
  // The record's indexes' keyspaces, in its order; one dropped since the
  // record was read has an empty name.
  std::vector<storage::Keyspace> indexes;
};

// A write's handle is stale when its record's indexes are older than ones
// written with already (TableStats::index_version).
inline bool stale(const TableHandle& handle) {
  return handle.record->index_version < handle.stats->index_version.load(std::memory_order_acquire);
}
// What a handler returns for a stale write (after letting its locks go):
// the service runs the request again, which reads the current record.
inline constexpr std::string_view kStaleTableCode = "NimbusStaleTableRecord";
inline AwsError stale_table() {
  return AwsError(std::string(kStaleTableCode), "the table's indexes changed", 500, Fault::kServer);
}

// Requests and errors of one operation, for /_nimbus/metrics.
struct OperationCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> user_errors{0};    // 4xx
  std::atomic<std::uint64_t> system_errors{0};  // 5xx
};

// What every write takes besides its item or key: ReturnValues,
// ReturnValuesOnConditionCheckFailure, the capacity modes, and its
// condition (and, for UpdateItem, update) expression (items.cc).
struct WriteParameters {
  std::string returns;
  bool return_old_on_failure = false;
  RequestExpressions expressions;
};
Result<WriteParameters> write_parameters(const json::object& in, bool updates);

// Refuses an update of a key attribute, as DynamoDB does.
Result<void> check_key_untouched(const TableRecord& table,
                                 const std::vector<UpdateAction>& actions);

// ConditionalCheckFailedException, with the old item when asked for.
AwsError condition_failed(const std::optional<Item>& old, bool return_old);

// What a request consumed, for ReturnConsumedCapacity and the ledger.
struct Consumed {
  std::int64_t read_half_units = 0;  // eventually consistent reads of 4 KB
  std::int64_t write_units = 0;      // writes of 1 KB
  // The indexes' shares (ReturnConsumedCapacity INDEXES), by index name;
  // included in the figures above.
  struct OnIndex {
    bool global = true;
    std::int64_t read_half_units = 0;
    std::int64_t write_units = 0;
  };
  std::map<std::string, OnIndex, std::less<>> indexes;
};

// Adds to `batch` the index entries replacing `old_item` with `new_item`
// at `key` changes (either may be null), and their write units, each
// index's apart, to `consumed` (items.cc).
void add_metered_index_writes(const TableHandle& handle, const std::string& key,
                              const Item* old_item, const Item* new_item,
                              storage::WriteBatch& batch, Consumed& consumed);

// Writes `new_item` (null: deletes the item) at `key` in place of
// `old_item` (null: none), with the entries of the table's indexes, in one
// atomic batch; the indexes' write units are added to `consumed` (items.cc).
Result<void> write_item(storage::Store& store, const TableHandle& handle, const std::string& key,
                        const Item* old_item, const Item* new_item, std::string_view encoded,
                        Consumed& consumed);

// What one table saw between two ledger flushes: its usage record, and
// through it CloudWatch's AWS/DynamoDB metrics.
struct TableActivity {
  struct ByOperation {
    ledger::MinuteStat latency_us;      // successful requests
    ledger::MinuteStat returned_items;  // Query and Scan
    std::int64_t system_errors = 0;
  };
  Consumed consumed;
  // Per request, as CloudWatch's consumed capacity statistics are (in the
  // ledger's units: half read units, write units).
  ledger::MinuteStat read_samples;
  ledger::MinuteStat write_samples;
  std::int64_t conditional_check_failures = 0;
  std::map<std::string, ByOperation, std::less<>> operations;
};

class DynamoDbServiceImpl;

// UpdateItem's, DeleteItem's (and transactions' ConditionCheck's) common
// request: the table, the key, and the write's parameters (items.cc).
struct KeyedWrite {
  TableHandle handle;
  Item key_item;
  std::string key;
  WriteParameters parameters;
};
Result<KeyedWrite> keyed_write(DynamoDbServiceImpl& service, storage::Store& store,
                               const json::object& in, bool updates);

// PutItem's (and transactions' Put's) request: the table, the item, its
// key and size, and the write's parameters; `item_field` names a missing
// Item in the error (items.cc).
struct ItemWrite {
  TableHandle handle;
  Item item;
  std::string key;
  std::size_t size = 0;
  WriteParameters parameters;
};
Result<ItemWrite> item_write(DynamoDbServiceImpl& service, storage::Store& store,
                             const json::object& in, std::string_view item_field);

class DynamoDbServiceImpl final : public DynamoDbService {
 public:
  DynamoDbServiceImpl(DynamoDbServiceOptions options, storage::AsyncStore& store,
                      ledger::Journal& journal,
                      std::unique_ptr<storage::RecordCatalog<TableRecord>> tables);
  ~DynamoDbServiceImpl() override;

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }
  void stop() override;
  void write_metrics(ledger::PrometheusWriter& out) const override;
  boost::asio::awaitable<net::HttpResponse> handle(const aws::RequestContext& context,
                                                   net::HttpRequest& request) override;

 private:
  using Handler = Result<json::object> (DynamoDbServiceImpl::*)(storage::Store&,
                                                                const json::object&,
                                                                const aws::RequestContext&);

  // tables.cc
  Result<json::object> create_table(storage::Store&, const json::object&,
                                    const aws::RequestContext&);
  Result<json::object> describe_table(storage::Store&, const json::object&,
                                      const aws::RequestContext&);
  Result<json::object> list_tables(storage::Store&, const json::object&,
                                   const aws::RequestContext&);
  Result<json::object> delete_table(storage::Store&, const json::object&,
                                    const aws::RequestContext&);
  Result<json::object> update_table(storage::Store&, const json::object&,
                                    const aws::RequestContext&);
  Result<json::object> tag_resource(storage::Store&, const json::object&,
                                    const aws::RequestContext&);
  Result<json::object> untag_resource(storage::Store&, const json::object&,
                                      const aws::RequestContext&);
  Result<json::object> list_tags_of_resource(storage::Store&, const json::object&,
                                             const aws::RequestContext&);
  Result<json::object> describe_limits(storage::Store&, const json::object&,
                                       const aws::RequestContext&);
  Result<json::object> describe_time_to_live(storage::Store&, const json::object&,
                                             const aws::RequestContext&);
  Result<json::object> update_time_to_live(storage::Store&, const json::object&,
                                           const aws::RequestContext&);
  json::object describe(const TableRecord& table, std::string_view status, TableSize size);
  // UpdateTable's GlobalSecondaryIndexUpdates: Create (backfilled in the
  // background), Delete and Update (throughput) (tables.cc).
  Result<void> update_indexes(storage::Store& store, const json::object& in,
                              const std::string& name);
  // Waits until every write made with a table record older than `handle`'s
  // is committed: raises the table's index version, then takes every
  // stripe once (a write holds its stripes from its staleness check to its
  // commit).
  void drain_older_writes(const TableHandle& handle);

  // items.cc
  Result<json::object> put_item(storage::Store&, const json::object&, const aws::RequestContext&);
  Result<json::object> get_item(storage::Store&, const json::object&, const aws::RequestContext&);
  Result<json::object> update_item(storage::Store&, const json::object&,
                                   const aws::RequestContext&);
  Result<json::object> delete_item(storage::Store&, const json::object&,
                                   const aws::RequestContext&);

  // queries.cc
  Result<json::object> query(storage::Store&, const json::object&, const aws::RequestContext&);
  Result<json::object> scan(storage::Store&, const json::object&, const aws::RequestContext&);

  // batches.cc
  Result<json::object> batch_get_item(storage::Store&, const json::object&,
                                      const aws::RequestContext&);
  Result<json::object> batch_write_item(storage::Store&, const json::object&,
                                        const aws::RequestContext&);

  // transactions.cc
  Result<json::object> transact_write_items(storage::Store&, const json::object&,
                                            const aws::RequestContext&);
  Result<json::object> transact_get_items(storage::Store&, const json::object&,
                                          const aws::RequestContext&);
  // One idempotency token's request, kept ten minutes as DynamoDB keeps them.
  struct TransactionToken {
    std::size_t request_hash = 0;
    std::chrono::steady_clock::time_point expires;
    bool in_progress = false;
  };

 public:
  // Shared by the operation files.
  Result<TableHandle> table(storage::Store& store, const json::object& in);
  Result<TableHandle> table_named(storage::Store& store, const std::string& name);
  // table(), with the table's name in a ResourceNotFoundException (as the
  // table operations report it; item operations do not).
  Result<TableHandle> named_table(storage::Store& store, const json::object& in);
  // Stripe locks serialise writes to one item (and so conditional writes
  // and read-modify-writes) without serialising writes to different items.
  std::size_t stripe_of(const TableRecord& table, std::string_view key) const;
  std::mutex& stripe(std::size_t index) { return stripes_[index]; }
  // Locks one stripe; where the store refuses waits (a write tried in place
  // on an I/O thread), only tries, refusing with kWouldBlockCode if the
  // stripe is held, so the write is run again on a storage thread.
  Result<std::unique_lock<std::mutex>> lock_stripe(storage::Store& store, std::size_t index);
  // Locks each stripe once, in index order (so writers of several items,
  // all locking in that order, never deadlock); unlocked when dropped.
  std::vector<std::unique_lock<std::mutex>> lock_stripes(std::vector<std::size_t> stripes);
  // Every stripe: no write is between its check and its commit while held.
  std::vector<std::unique_lock<std::mutex>> lock_every_stripe();
  static constexpr std::size_t kStripes = 512;

  // The table's live size; counted from the store the first time (blocks).
  Result<TableSize> table_size(storage::Store& store, const TableHandle& handle);
  // Records the storage `stats`' table used since it was last metered, at
  // its size now (table_sizes.cc).
  void meter_storage(TableStats& stats, TableSize size, std::int64_t now_ms);

  // Adds to the ledger's next flush and answers ReturnConsumedCapacity.
  void meter(const std::string& table, const Consumed& consumed);
  // Adds one request's outcome to the ledger's next flush (CloudWatch's
  // request metrics): its latency or error, by table and operation.
  void record_request(std::string_view operation, const json::object& in,
                      const Result<json::object>& result, std::int64_t latency_us);
  // The ConsumedCapacity member for `in`'s ReturnConsumedCapacity, or null.
  static std::optional<json::object> consumed_capacity(const json::object& in,
                                                       const std::string& table,
                                                       const Consumed& consumed);
  // A multi-table operation's ConsumedCapacity list into `out`, if asked for.
  static void add_consumed_capacities(const json::object& in,
                                      const std::map<std::string, Consumed>& consumed,
                                      json::object& out);

 private:
  void metering_loop();
  void flush_metering();
  // Meters every table's storage up to now (table_sizes.cc).
  void meter_all_storage();
  // Fills the indexes UpdateTable created from their tables' items, then
  // makes them ACTIVE; resumes any left CREATING by a stop (tables.cc).
  void index_loop();
  void backfill_indexes();
  Result<void> backfill(storage::Store& store, const std::string& table, const std::string& index);
  // Deletes expired items of the tables with time to live on (time_to_live.cc).
  void expire_items();
  Result<std::int64_t> expire_items(storage::Store& store, const TableHandle& handle,
                                    std::int64_t now_s);

  struct Operation {
    Handler handler;
    std::shared_ptr<OperationCounters> counters;
  };

  DynamoDbServiceOptions options_;
  storage::AsyncStore& store_;
  ledger::Journal& journal_;
  std::unique_ptr<storage::RecordCatalog<TableRecord>> tables_;
  aws::ServiceDescriptor descriptor_;
  std::map<std::string, Operation, std::less<>> operations_;
  OperationCounters describe_endpoints_counters_;

  // Tables served since start, by table id.
  struct OpenTable {
    storage::Keyspace items;
    std::shared_ptr<TableStats> stats;
    std::map<std::string, storage::Keyspace> indexes;  // by index name
  };
  mutable std::mutex open_tables_mutex_;
  std::map<std::string, OpenTable> open_tables_;

  std::array<std::mutex, kStripes> stripes_;

  std::mutex tokens_mutex_;
  std::map<std::string, TransactionToken> tokens_;  // TransactWriteItems' ClientRequestToken

  std::mutex metering_mutex_;
  std::condition_variable metering_wake_;
  bool stopping_ = false;
  std::map<std::string, TableActivity, std::less<>> pending_;  // by table name
  std::int64_t pending_user_errors_ = 0;
  std::thread metering_thread_;

  std::mutex index_mutex_;
  std::condition_variable index_wake_;
  bool index_work_ = true;  // a backfill may be wanted (at start: one a stop left)
  bool index_stopping_ = false;
  std::thread index_thread_;
};

}  // namespace nimbus::services::dynamodb
