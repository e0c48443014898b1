#pragma once

// Amazon CloudWatch metrics (awsQuery, 2010-08-01): ListMetrics,
// GetMetricStatistics and GetMetricData for the AWS/Lambda, AWS/ApiGateway
// and AWS/DynamoDB namespaces, from the per-minute aggregates the journal
// keeps of every usage record (docs/formats/ledger.md), so dashboards and
// scripts written against CloudWatch read Nimbus's numbers unchanged; and
// PutMetricData for metrics of users' own namespaces, read the same way,
// which functions also publish by logging CloudWatch's embedded metric format.

#include <memory>
#include <string>

#include "nimbus/aws/service.h"
#include "nimbus/core/result.h"

namespace nimbus::storage {
class AsyncStore;
}
namespace nimbus::ledger {
class Journal;
}

namespace nimbus::services::cloudwatch {

class CloudWatchService : public aws::Service {
 public:
  // Opens the published metrics' keyspaces (blocks on disk) and reads
  // embedded-metric-format lines from functions' logs in `journal`.
  static Result<std::unique_ptr<CloudWatchService>> start(storage::AsyncStore& store,
                                                          ledger::Journal& journal);
  // Stores the metrics read from logs so far and stops reading. Blocks;
  // idempotent.
  virtual void stop() = 0;
};

}  // namespace nimbus::services::cloudwatch
