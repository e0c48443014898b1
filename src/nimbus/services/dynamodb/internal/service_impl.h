#pragma once

// The DynamoDB service's implementation class, shared by the files that
// define its operations: tables.cc, items.cc, queries.cc, batches.cc.
// Every operation runs on a storage thread (AsyncStore::run), so handlers
// block on the store freely.

#include <array>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/aws/json_protocol.h"
#include "nimbus/services/dynamodb/dynamodb_service.h"
#include "nimbus/services/dynamodb/internal/attribute_value.h"
#include "nimbus/services/dynamodb/internal/expression.h"
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

// A table and the keyspace its items live in.
struct TableHandle {
  std::shared_ptr<const TableRecord> record;
  storage::Keyspace items;
};

// What a request consumed, for ReturnConsumedCapacity and the ledger.
struct Consumed {
  std::int64_t read_half_units = 0;  // eventually consistent reads of 4 KB
  std::int64_t write_units = 0;      // writes of 1 KB
};

class DynamoDbServiceImpl final : public DynamoDbService {
 public:
  DynamoDbServiceImpl(DynamoDbServiceOptions options, storage::AsyncStore& store,
                      ledger::Journal& journal,
                      std::unique_ptr<storage::RecordCatalog<TableRecord>> tables);
  ~DynamoDbServiceImpl() override;

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }
  void stop() override;
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
  json::object describe(storage::Store& store, const TableRecord& table, std::string_view status);

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

 public:
  // Shared by the operation files.
  Result<TableHandle> table(storage::Store& store, const json::object& in);
  Result<TableHandle> table_named(storage::Store& store, const std::string& name);
  // Stripe locks serialise writes to one item (and so conditional writes
  // and read-modify-writes) without serialising writes to different items.
  std::size_t stripe_of(const TableRecord& table, std::string_view key) const;
  std::mutex& stripe(std::size_t index) { return stripes_[index]; }
  static constexpr std::size_t kStripes = 512;

  // Adds to the ledger's next flush and answers ReturnConsumedCapacity.
  void meter(const std::string& table, const Consumed& consumed);
  // The ConsumedCapacity member for `in`'s ReturnConsumedCapacity, or null.
  static std::optional<json::object> consumed_capacity(const json::object& in,
                                                       const std::string& table,
                                                       const Consumed& consumed);

 private:
  void metering_loop();
  void flush_metering();

  DynamoDbServiceOptions options_;
  storage::AsyncStore& store_;
  ledger::Journal& journal_;
  std::unique_ptr<storage::RecordCatalog<TableRecord>> tables_;
  aws::ServiceDescriptor descriptor_;
  std::map<std::string, Handler, std::less<>> operations_;

  std::mutex keyspaces_mutex_;
  std::map<std::string, storage::Keyspace> keyspaces_;  // by table id

  std::array<std::mutex, kStripes> stripes_;

  std::mutex metering_mutex_;
  std::condition_variable metering_wake_;
  bool stopping_ = false;
  std::map<std::string, Consumed> pending_;  // by table name
  std::thread metering_thread_;
};

}  // namespace nimbus::services::dynamodb
