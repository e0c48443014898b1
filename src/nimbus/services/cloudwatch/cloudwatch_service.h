#pragma once

// Amazon CloudWatch metrics (awsQuery, 2010-08-01): ListMetrics,
// GetMetricStatistics and GetMetricData for the AWS/Lambda, AWS/ApiGateway
// and AWS/DynamoDB namespaces, from the per-minute aggregates the journal
// keeps of every usage record (docs/formats/ledger.md), so dashboards and
// scripts written against CloudWatch read Nimbus's numbers unchanged; and
// PutMetricData for metrics of users' own namespaces, read the same way.

#include <memory>
#include <string>

#include "nimbus/aws/service.h"
#include "nimbus/core/result.h"

namespace nimbus::storage {
class AsyncStore;
}

namespace nimbus::services::cloudwatch {

// Opens the published metrics' keyspaces. Blocks on disk.
Result<std::unique_ptr<aws::Service>> make_cloudwatch_service(storage::AsyncStore& store);

}  // namespace nimbus::services::cloudwatch
