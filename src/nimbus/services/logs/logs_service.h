#pragma once

// Amazon CloudWatch Logs (awsJson1_1, Logs_20140328): log groups, streams
// and events over the keyspaces the journal writes function logs to
// (docs/formats/ledger.md), so `aws logs tail /aws/lambda/NAME --follow`
// shows what functions print; PutLogEvents writes there too. Retention
// policies are enforced by a sweeper thread.

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
}

namespace nimbus::services::logs {

struct LogsServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // How often expired events are deleted (and at once after PutRetentionPolicy).
  std::chrono::milliseconds retention_sweep_interval{60'000};
};

class LogsService : public aws::Service {
 public:
  static Result<std::unique_ptr<LogsService>> start(LogsServiceOptions options,
                                                    storage::AsyncStore& store,
                                                    ledger::Journal& journal);
  // Stops the retention sweeper. Blocks; idempotent.
  virtual void stop() = 0;
};

}  // namespace nimbus::services::logs
