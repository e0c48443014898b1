#pragma once

// Amazon DynamoDB (awsJson1_0, DynamoDB_20120810): tables and items over the
// embedded store, with DynamoDB's validation, expressions, queries, scans,
// batches and capacity units (docs/compatibility/dynamodb.md). Consumed
// capacity is metered into the ledger.

#include <chrono>
#include <memory>
#include <string>

#include "nimbus/aws/service.h"
#include "nimbus/core/result.h"

namespace nimbus::storage {
class AsyncStore;
}
namespace nimbus::ledger {
class Journal;
class PrometheusWriter;
}  // namespace nimbus::ledger

namespace nimbus::services::dynamodb {

struct DynamoDbServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Consumed capacity is summed per table and handed to the journal this often.
  std::chrono::milliseconds metering_interval{1000};
  // Each table's size is metered as storage this often (and at stop and
  // DeleteTable), for the time since it was last metered.
  std::chrono::milliseconds storage_metering_interval{60'000};
  // Tables with time to live on are searched for expired items this often.
  std::chrono::milliseconds expiry_interval{60'000};
};

class DynamoDbService : public aws::Service {
 public:
  // Loads the table catalog. Blocks on disk.
  static Result<std::unique_ptr<DynamoDbService>> start(DynamoDbServiceOptions options,
                                                        storage::AsyncStore& store,
                                                        ledger::Journal& journal);
  // Flushes metered capacity and storage and stops the metering thread.
  // Blocks; idempotent.
  virtual void stop() = 0;
  // Requests and errors by operation, and each table's items and size.
  virtual void write_metrics(ledger::PrometheusWriter& out) const = 0;
};

}  // namespace nimbus::services::dynamodb
