#include "nimbus/services/dynamodb/dynamodb_service.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "nimbus/aws/json_protocol.h"
#include "nimbus/core/request_id.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::dynamodb {
namespace {

constexpr std::string_view kTablesKeyspace = "dynamodb.tables";

// Every operation of the 2012-08-10 model, sorted: those without a handler
// are answered 501 NotImplementedException.
constexpr std::array<std::string_view, 53> kModelled = {
    "BatchExecuteStatement",
    "BatchGetItem",
    "BatchWriteItem",
    "CreateBackup",
    "CreateGlobalTable",
    "CreateTable",
    "DeleteBackup",
    "DeleteItem",
    "DeleteTable",
    "DescribeBackup",
    "DescribeContinuousBackups",
    "DescribeContributorInsights",
    "DescribeEndpoints",
    "DescribeExport",
    "DescribeGlobalTable",
    "DescribeGlobalTableSettings",
    "DescribeImport",
    "DescribeKinesisStreamingDestination",
    "DescribeLimits",
    "DescribeTable",
    "DescribeTableReplicaAutoScaling",
    "DescribeTimeToLive",
    "DisableKinesisStreamingDestination",
    "EnableKinesisStreamingDestination",
    "ExecuteStatement",
    "ExecuteTransaction",
    "ExportTableToPointInTime",
    "GetItem",
    "ImportTable",
    "ListBackups",
    "ListContributorInsights",
    "ListExports",
    "ListGlobalTables",
    "ListImports",
    "ListTables",
    "ListTagsOfResource",
    "PutItem",
    "Query",
    "RestoreTableFromBackup",
    "RestoreTableToPointInTime",
    "Scan",
    "TagResource",
    "TransactGetItems",
    "TransactWriteItems",
    "UntagResource",
    "UpdateContinuousBackups",
    "UpdateContributorInsights",
    "UpdateGlobalTable",
    "UpdateGlobalTableSettings",
    "UpdateItem",
    "UpdateTable",
    "UpdateTableReplicaAutoScaling",
    "UpdateTimeToLive",
};

// Read-only operations that are safe to try against memory first (sorted).
// DescribeTable is not among them: it reads the whole table.
constexpr std::array<std::string_view, 6> kMemoryReadable = {
    "BatchGetItem", "GetItem", "ListTables", "ListTagsOfResource", "Query", "Scan",
};

// Writes of one item, tried in place too (AsyncStore::update): each is
// refused, if at all, before its one store write, which is its last
// fallible step (sorted).
constexpr std::array<std::string_view, 3> kInPlaceWrites = {"DeleteItem", "PutItem", "UpdateItem"};

// The operations CloudWatch's per-operation metrics (SuccessfulRequestLatency,
// SystemErrors, ReturnedItemCount) are published for (sorted).
constexpr std::array<std::string_view, 10> kDataOperations = {
    "BatchGetItem", "BatchWriteItem",   "DeleteItem",         "GetItem",    "PutItem", "Query",
    "Scan",         "TransactGetItems", "TransactWriteItems", "UpdateItem",
};

// The tables a request names: its TableName, its RequestItems' keys, or its
// TransactItems' tables.
std::vector<std::string> request_tables(const json::object& in) {
  if (auto name = string_member(in, "TableName")) return {*name};
  std::vector<std::string> tables;
  if (const auto* items = in.if_contains("RequestItems"); items && items->is_object()) {
    for (const auto& [table, _] : items->as_object()) tables.emplace_back(table);
  }
  if (const auto* items = in.if_contains("TransactItems"); items && items->is_array()) {
    for (const auto& item : items->as_array()) {
      if (!item.is_object()) continue;
      for (const auto& [_, action] : item.as_object()) {
        if (!action.is_object()) continue;
        if (auto name = string_member(action.as_object(), "TableName")) tables.push_back(*name);
      }
    }
  }
  std::sort(tables.begin(), tables.end());
  tables.erase(std::unique(tables.begin(), tables.end()), tables.end());
  return tables;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- Request helpers ----------------------------------------------------------

const json::value* member(const json::object& in, std::string_view name) {
  const auto* value = in.if_contains(name);
  return value == nullptr || value->is_null() ? nullptr : value;
}

std::optional<std::string> string_member(const json::object& in, std::string_view name) {
  const auto* value = member(in, name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

AwsError constraint(std::string_view value, std::string_view field, std::string_view rule) {
  return AwsError::validation(fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: {}", value,
      field, rule));
}

AwsError table_not_found(std::string_view name) {
  return AwsError("ResourceNotFoundException",
                  fmt::format("Requested resource not found: Table: {} not found", name), 400);
}

Result<void> validate_table_name(std::string_view name, std::string_view field) {
  if (name.size() < 3) {
    return constraint(name, field, "Member must have length greater than or equal to 3");
  }
  if (name.size() > 255) {
    return constraint(name, field, "Member must have length less than or equal to 255");
  }
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return constraint(name, field,
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    }
  }
  return ok();
}

Result<std::string> enum_member(const json::object& in, std::string_view name,
                                std::string_view field,
                                std::initializer_list<std::string_view> allowed,
                                std::string_view fallback) {
  const auto value = string_member(in, name);
  if (!value) return std::string(fallback);
  if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    return constraint(
        *value, field,
        fmt::format("Member must satisfy enum value set: [{}]", fmt::join(allowed, ", ")));
  }
  return *value;
}

Result<void> check_capacity_modes(const json::object& in) {
  auto capacity = enum_member(in, "ReturnConsumedCapacity", "returnConsumedCapacity",
                              {"INDEXES", "TOTAL", "NONE"}, "NONE");
  if (!capacity) return capacity.error();
  auto metrics = enum_member(in, "ReturnItemCollectionMetrics", "returnItemCollectionMetrics",
                             {"SIZE", "NONE"}, "NONE");
  if (!metrics) return metrics.error();
  return ok();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t units_of(std::size_t bytes, std::size_t unit) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((bytes + unit - 1) / unit));
}

// ---- The service ----------------------------------------------------------------

DynamoDbServiceImpl::DynamoDbServiceImpl(
    DynamoDbServiceOptions options, storage::AsyncStore& store, ledger::Journal& journal,
    std::unique_ptr<storage::RecordCatalog<TableRecord>> tables)
    : options_(std::move(options)), store_(store), journal_(journal), tables_(std::move(tables)) {
  descriptor_.name = "dynamodb";
  descriptor_.signing_name = "dynamodb";
  descriptor_.protocol = aws::Protocol::kJson10;
  descriptor_.target_prefixes = {"DynamoDB_20120810"};
  // BatchWriteItem carries up to 25 items of 400 KB (16 MB in all), as JSON.
  descriptor_.max_request_bytes = 24 * 1024 * 1024;
  const std::pair<std::string_view, Handler> handlers[] = {
      {"CreateTable", &DynamoDbServiceImpl::create_table},
      {"DescribeTable", &DynamoDbServiceImpl::describe_table},
      {"ListTables", &DynamoDbServiceImpl::list_tables},
      {"DeleteTable", &DynamoDbServiceImpl::delete_table},
      {"UpdateTable", &DynamoDbServiceImpl::update_table},
      {"TagResource", &DynamoDbServiceImpl::tag_resource},
      {"UntagResource", &DynamoDbServiceImpl::untag_resource},
      {"ListTagsOfResource", &DynamoDbServiceImpl::list_tags_of_resource},
      {"DescribeLimits", &DynamoDbServiceImpl::describe_limits},
      {"DescribeTimeToLive", &DynamoDbServiceImpl::describe_time_to_live},
      {"UpdateTimeToLive", &DynamoDbServiceImpl::update_time_to_live},
      {"PutItem", &DynamoDbServiceImpl::put_item},
      {"GetItem", &DynamoDbServiceImpl::get_item},
      {"UpdateItem", &DynamoDbServiceImpl::update_item},
      {"DeleteItem", &DynamoDbServiceImpl::delete_item},
      {"Query", &DynamoDbServiceImpl::query},
      {"Scan", &DynamoDbServiceImpl::scan},
      {"BatchGetItem", &DynamoDbServiceImpl::batch_get_item},
      {"BatchWriteItem", &DynamoDbServiceImpl::batch_write_item},
      {"TransactWriteItems", &DynamoDbServiceImpl::transact_write_items},
      {"TransactGetItems", &DynamoDbServiceImpl::transact_get_items},
  };
  for (const auto& [name, handler] : handlers) {
    operations_.emplace(name, Operation{handler, std::make_shared<OperationCounters>()});
  }
  metering_thread_ = std::thread([this] { metering_loop(); });
  index_thread_ = std::thread([this] { index_loop(); });
}

DynamoDbServiceImpl::~DynamoDbServiceImpl() { stop(); }

void DynamoDbServiceImpl::stop() {
  {
    std::lock_guard lock(metering_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  metering_wake_.notify_all();
  if (metering_thread_.joinable()) metering_thread_.join();
  {
    std::lock_guard lock(index_mutex_);
    index_stopping_ = true;
  }
  index_wake_.notify_all();
  if (index_thread_.joinable()) index_thread_.join();
  meter_all_storage();
  flush_metering();
}

boost::asio::awaitable<net::HttpResponse> DynamoDbServiceImpl::handle(
    const aws::RequestContext& context, net::HttpRequest& request) {
  auto decoded = aws::decode_json_request(request);
  if (!decoded) {
    co_return aws::error_response(descriptor_.protocol, decoded.error(), context.request_id);
  }
  if (decoded->operation == "DescribeEndpoints") {
    describe_endpoints_counters_.requests.fetch_add(1, std::memory_order_relaxed);
    // The endpoint the client reached is the one to keep using.
    const auto host = request.headers.get("Host");
    json::object endpoint{{"Address", host ? std::string(*host) : std::string("localhost")},
                          {"CachePeriodInMinutes", 1440}};
    json::object output{{"Endpoints", json::array{std::move(endpoint)}}};
    co_return aws::json_response(descriptor_.protocol, output);
  }
  const auto operation = operations_.find(decoded->operation);
  if (operation == operations_.end()) {
    const bool modelled =
        std::binary_search(kModelled.begin(), kModelled.end(), decoded->operation);
    AwsError error =
        modelled ? AwsError("NotImplementedException",
                            fmt::format("Nimbus does not implement {} yet.", decoded->operation),
                            501, Fault::kServer)
                 : AwsError::unknown_operation(decoded->operation);
    co_return aws::error_response(descriptor_.protocol, error, context.request_id);
  }
  OperationCounters& counters = *operation->second.counters;
  counters.requests.fetch_add(1, std::memory_order_relaxed);
  const auto started = std::chrono::steady_clock::now();
  auto run = [this, handler = operation->second.handler, &decoded,
              &context](storage::Store& store) {
    // A write made with a table record older than its indexes is run again
    // (stale_table()): the next run reads the current record.
    for (int attempt = 1;; ++attempt) {
      auto result = (this->*handler)(store, decoded->input, context);
      if (result || result.error().code() != kStaleTableCode || attempt == 100) return result;
    }
  };
  // Small reads of cached data, and writes of one cached item that need no
  // wait for the disk, are answered here, on the I/O thread, without the
  // round trip to a storage thread; anything else goes there.
  const bool reads_only =
      std::binary_search(kMemoryReadable.begin(), kMemoryReadable.end(), decoded->operation);
  Result<json::object> result = AwsError();
  if (reads_only) {
    result = co_await store_.read(std::move(run));
  } else if (std::binary_search(kInPlaceWrites.begin(), kInPlaceWrites.end(), decoded->operation)) {
    result = co_await store_.update(std::move(run));
  } else {
    result = co_await store_.run(std::move(run));
  }
  record_request(decoded->operation, decoded->input, result,
                 std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
  if (!result) {
    auto& errors =
        result.error().http_status() >= 500 ? counters.system_errors : counters.user_errors;
    errors.fetch_add(1, std::memory_order_relaxed);
    co_return aws::error_response(descriptor_.protocol, result.error(), context.request_id);
  }
  co_return aws::json_response(descriptor_.protocol, *result);
}

Result<TableHandle> DynamoDbServiceImpl::table_named(storage::Store& store,
                                                     const std::string& name) {
  auto record = tables_->find(name);
  if (!record) {
    return AwsError("ResourceNotFoundException", "Requested resource not found", 400);
  }
  // The index keyspaces of the record, from the open table's, opening the
  // ones it lacks (an index UpdateTable added). A keyspace is only opened,
  // never created, here: CreateTable and UpdateTable create them, and a
  // stale record must not bring back one that was dropped.
  auto index_keyspaces = [&](OpenTable& open) {
    std::vector<storage::Keyspace> out;
    out.reserve(record->indexes.size());
    for (const auto& index : record->indexes) {
      auto it = open.indexes.find(index.name);
      if (it == open.indexes.end()) {
        auto opened = store.open_keyspace(record->index_keyspace(index));
        if (!opened) {
          out.emplace_back();  // dropped: reads and writes refuse it
          continue;
        }
        it = open.indexes.emplace(index.name, std::move(*opened)).first;
      }
      out.push_back(it->second);
    }
    return out;
  };
  {
    std::lock_guard lock(open_tables_mutex_);
    if (const auto it = open_tables_.find(record->id); it != open_tables_.end()) {
      auto indexes = index_keyspaces(it->second);
      return TableHandle{std::move(record), it->second.items, it->second.stats, std::move(indexes)};
    }
  }
  auto keyspace = store.open_or_create_keyspace(record->items_keyspace());
  if (!keyspace) return keyspace.error();
  std::lock_guard lock(open_tables_mutex_);
  // Another request may have opened it meanwhile: every handle shares one entry.
  auto [it, added] = open_tables_.try_emplace(
      record->id, OpenTable{*keyspace, std::make_shared<TableStats>(record->name), {}});
  if (added) it->second.stats->index_version.store(record->index_version);
  auto indexes = index_keyspaces(it->second);
  return TableHandle{std::move(record), it->second.items, it->second.stats, std::move(indexes)};
}

Result<TableHandle> DynamoDbServiceImpl::table(storage::Store& store, const json::object& in) {
  const auto name = string_member(in, "TableName");
  if (!name) {
    return constraint("null", "tableName", "Member must not be null");
  }
  if (auto valid = validate_table_name(*name); !valid) return valid.error();
  return table_named(store, *name);
}

Result<TableHandle> DynamoDbServiceImpl::named_table(storage::Store& store,
                                                     const json::object& in) {
  auto handle = table(store, in);
  if (!handle) {
    const auto name = string_member(in, "TableName");
    if (handle.error().code() == "ResourceNotFoundException" && name) return table_not_found(*name);
  }
  return handle;
}

std::size_t DynamoDbServiceImpl::stripe_of(const TableRecord& table, std::string_view key) const {
  std::size_t hash = std::hash<std::string_view>{}(key);
  hash ^= std::hash<std::string>{}(table.id) + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
  return hash % kStripes;
}

Result<std::unique_lock<std::mutex>> DynamoDbServiceImpl::lock_stripe(storage::Store& store,
                                                                      std::size_t index) {
  if (!store.refuses_waits()) return std::unique_lock(stripe(index));
  std::unique_lock lock(stripe(index), std::try_to_lock);
  if (!lock.owns_lock()) return storage::would_block();
  return lock;
}

std::vector<std::unique_lock<std::mutex>> DynamoDbServiceImpl::lock_every_stripe() {
  std::vector<std::size_t> every(kStripes);
  std::iota(every.begin(), every.end(), std::size_t{0});
  return lock_stripes(std::move(every));
}

std::vector<std::unique_lock<std::mutex>> DynamoDbServiceImpl::lock_stripes(
    std::vector<std::size_t> stripes) {
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(stripes.size());
  for (const std::size_t index : stripes) locks.emplace_back(stripe(index));
  return locks;
}

void DynamoDbServiceImpl::meter(const std::string& table, const Consumed& consumed) {
  std::lock_guard lock(metering_mutex_);
  TableActivity& activity = pending_[table];
  activity.consumed.read_half_units += consumed.read_half_units;
  activity.consumed.write_units += consumed.write_units;
  if (consumed.read_half_units > 0) activity.read_samples.add(consumed.read_half_units);
  if (consumed.write_units > 0) activity.write_samples.add(consumed.write_units);
}

void DynamoDbServiceImpl::record_request(std::string_view operation, const json::object& in,
                                         const Result<json::object>& result,
                                         std::int64_t latency_us) {
  const bool data_operation =
      std::binary_search(kDataOperations.begin(), kDataOperations.end(), operation);
  // As on AWS: a failed condition is not a user error, and user errors are
  // the account's, without a table.
  const bool failed_condition =
      !result && result.error().code() == "ConditionalCheckFailedException";
  const bool user_error = !result && !failed_condition && result.error().http_status() < 500;
  if (!data_operation && !user_error) return;
  const auto tables = data_operation ? request_tables(in) : std::vector<std::string>();
  std::int64_t returned_items = -1;
  if (result && (operation == "Query" || operation == "Scan")) {
    if (const auto* count = result->if_contains("Count"); count && count->is_int64()) {
      returned_items = count->as_int64();
    }
  }
  std::lock_guard lock(metering_mutex_);
  if (user_error) {
    ++pending_user_errors_;
    return;
  }
  for (const auto& table : tables) {
    TableActivity& activity = pending_[table];
    if (failed_condition) {
      ++activity.conditional_check_failures;
      continue;
    }
    auto by = activity.operations.find(operation);
    if (by == activity.operations.end()) {
      by = activity.operations.emplace(std::string(operation), TableActivity::ByOperation{}).first;
    }
    if (!result) {
      ++by->second.system_errors;
      continue;
    }
    by->second.latency_us.add(latency_us);
    if (returned_items >= 0) by->second.returned_items.add(returned_items);
  }
}

std::optional<json::object> DynamoDbServiceImpl::consumed_capacity(const json::object& in,
                                                                   const std::string& table,
                                                                   const Consumed& consumed) {
  const auto mode = string_member(in, "ReturnConsumedCapacity");
  if (!mode || *mode == "NONE") return std::nullopt;
  const double read = static_cast<double>(consumed.read_half_units) / 2.0;
  const double write = static_cast<double>(consumed.write_units);
  json::object out{{"TableName", table}, {"CapacityUnits", read + write}};
  if (consumed.read_half_units > 0) out["ReadCapacityUnits"] = read;
  if (consumed.write_units > 0) out["WriteCapacityUnits"] = write;
  if (*mode == "INDEXES") {
    // The table's own share, and each index's.
    auto units = [](double read_units, double write_units) {
      json::object share{{"CapacityUnits", read_units + write_units}};
      if (read_units > 0) share["ReadCapacityUnits"] = read_units;
      if (write_units > 0) share["WriteCapacityUnits"] = write_units;
      return share;
    };
    double table_read = read;
    double table_write = write;
    json::object global_indexes;
    json::object local_indexes;
    for (const auto& [name, on_index] : consumed.indexes) {
      const double index_read = static_cast<double>(on_index.read_half_units) / 2.0;
      const double index_write = static_cast<double>(on_index.write_units);
      table_read -= index_read;
      table_write -= index_write;
      (on_index.global ? global_indexes : local_indexes)[name] = units(index_read, index_write);
    }
    out["Table"] = units(table_read, table_write);
    if (!global_indexes.empty()) out["GlobalSecondaryIndexes"] = std::move(global_indexes);
    if (!local_indexes.empty()) out["LocalSecondaryIndexes"] = std::move(local_indexes);
  }
  return out;
}

void DynamoDbServiceImpl::add_consumed_capacities(const json::object& in,
                                                  const std::map<std::string, Consumed>& consumed,
                                                  json::object& out) {
  json::array capacities;
  for (const auto& [table, units] : consumed) {
    if (auto capacity = consumed_capacity(in, table, units)) {
      capacities.push_back(std::move(*capacity));
    }
  }
  if (!capacities.empty()) out["ConsumedCapacity"] = std::move(capacities);
}

void DynamoDbServiceImpl::metering_loop() {
  // The first storage pass starts every table's clock (and counts its size).
  auto next_storage = std::chrono::steady_clock::now();
  auto next_expiry = std::chrono::steady_clock::now() + options_.expiry_interval;
  std::unique_lock lock(metering_mutex_);
  while (!stopping_) {
    if (std::chrono::steady_clock::now() >= next_storage) {
      lock.unlock();
      meter_all_storage();
      lock.lock();
      next_storage = std::chrono::steady_clock::now() + options_.storage_metering_interval;
    }
    if (std::chrono::steady_clock::now() >= next_expiry) {
      lock.unlock();
      expire_items();
      lock.lock();
      next_expiry = std::chrono::steady_clock::now() + options_.expiry_interval;
    }
    metering_wake_.wait_for(lock, options_.metering_interval, [this] { return stopping_; });
    lock.unlock();
    flush_metering();
    lock.lock();
  }
}

void DynamoDbServiceImpl::flush_metering() {
  std::map<std::string, TableActivity, std::less<>> pending;
  std::int64_t user_errors = 0;
  {
    std::lock_guard lock(metering_mutex_);
    pending.swap(pending_);
    std::swap(user_errors, pending_user_errors_);
  }
  const std::int64_t time_us = now_us();
  auto record = [&](std::string resource) {
    ledger::Usage usage;
    usage.service = "dynamodb";
    usage.resource = std::move(resource);
    usage.id = new_request_id();
    usage.time_us = time_us;
    return usage;
  };
  // Only what is not zero, as DynamoDB publishes its metrics.
  for (const auto& [table, activity] : pending) {
    ledger::Usage usage = record(table);
    const Consumed& consumed = activity.consumed;
    // The sums for the counters; each request a sample in the minute.
    if (consumed.read_half_units > 0) {
      usage.quantities.emplace_back(ledger::meter::kDynamoDbReadUnits, consumed.read_half_units);
      usage.merged_samples.emplace_back(fmt::format("m:{}", ledger::meter::kDynamoDbReadUnits),
                                        activity.read_samples);
    }
    if (consumed.write_units > 0) {
      usage.quantities.emplace_back(ledger::meter::kDynamoDbWriteUnits, consumed.write_units);
      usage.merged_samples.emplace_back(fmt::format("m:{}", ledger::meter::kDynamoDbWriteUnits),
                                        activity.write_samples);
    }
    if (activity.conditional_check_failures > 0) {
      usage.quantities.emplace_back(ledger::meter::kDynamoDbConditionalCheckFailures,
                                    activity.conditional_check_failures);
    }
    for (const auto& [operation, by] : activity.operations) {
      if (by.latency_us.count > 0) {
        usage.quantities.emplace_back(
            fmt::format("{}{}", ledger::meter::kDynamoDbSuccessfulRequests, operation),
            by.latency_us.count);
        usage.merged_samples.emplace_back(
            fmt::format("o:{}{}", ledger::observation::kDynamoDbLatency, operation), by.latency_us);
      }
      if (by.returned_items.sum > 0) {
        std::string meter = fmt::format("{}{}", ledger::meter::kDynamoDbReturnedItems, operation);
        usage.merged_samples.emplace_back("m:" + meter, by.returned_items);
        usage.quantities.emplace_back(std::move(meter), by.returned_items.sum);
      }
      if (by.system_errors > 0) {
        usage.quantities.emplace_back(
            fmt::format("{}{}", ledger::meter::kDynamoDbSystemErrors, operation), by.system_errors);
      }
    }
    if (!usage.quantities.empty()) journal_.append_usage(std::move(usage));
  }
  if (user_errors > 0) {
    ledger::Usage usage = record("");
    usage.quantities.emplace_back(ledger::meter::kDynamoDbUserErrors, user_errors);
    journal_.append_usage(std::move(usage));
  }
}

Result<std::unique_ptr<DynamoDbService>> DynamoDbService::start(DynamoDbServiceOptions options,
                                                                storage::AsyncStore& store,
                                                                ledger::Journal& journal) {
  auto tables = storage::RecordCatalog<TableRecord>::open(store.store(), kTablesKeyspace);
  if (!tables) return tables.error();
  return std::unique_ptr<DynamoDbService>(
      new DynamoDbServiceImpl(std::move(options), store, journal, std::move(*tables)));
}

}  // namespace nimbus::services::dynamodb
