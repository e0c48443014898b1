#pragma once

// AWS Lambda's API (restJson1, 2015-03-31 and the later dated paths): the
// control plane over functions, versions, aliases and their settings, kept
// in the store; Invoke on top of the functions engine; and asynchronous
// invocations through a durable queue.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "nimbus/aws/service.h"
#include "nimbus/core/result.h"

namespace nimbus::storage {
class AsyncStore;
}
namespace nimbus::engine {
class Engine;
}

namespace nimbus::services::lambda {

struct LambdaServiceOptions {
  std::filesystem::path code_dir;  // unpacked code and uploaded zips (<data-dir>/lambda/code)
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::uint32_t account_concurrency = 1000;  // the engine's limit, reported by GetAccountSettings
  std::uint64_t code_storage_bytes = 80'530'636'800;  // all packages together (Lambda's 75 GB)
  // Lambda waits a minute before retrying a failed asynchronous invocation
  // and two before the second retry; tests shorten it.
  std::chrono::milliseconds async_retry_delay{60'000};
};

class LambdaService : public aws::Service {
 public:
  // Loads every function, hands them to the engine and starts the
  // asynchronous-invocation worker. Blocks on disk.
  static Result<std::unique_ptr<LambdaService>> start(LambdaServiceOptions options,
                                                      storage::AsyncStore& store,
                                                      engine::Engine& engine);

  // Where GetFunction's Code.Location points: the server's own address.
  virtual void set_endpoint_url(std::string url) = 0;
  // Before the engine stops: no new asynchronous invocations start.
  virtual void stop_dispatching() = 0;
  // After the engine stopped. Blocks; idempotent.
  virtual void stop() = 0;
};

}  // namespace nimbus::services::lambda
