#pragma once

// The composition root. Server::start builds every component, hands each its
// dependencies through its constructor, and starts them in order; stop()
// stops them in reverse. Reading start() shows the architecture.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "nimbus/core/result.h"

namespace nimbus::server {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4566;
  std::filesystem::path data_dir = ".nimbus";
  std::string durability = "wal";  // wal | sync
  std::string auth = "off";        // off | sigv4
  std::string credentials_file;    // AWS shared-credentials format; required for sigv4
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::size_t io_threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 72 * 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds shutdown_timeout{10'000};

  // Functions engine.
  std::filesystem::path runtimes_dir;    // empty: the runtimes/ beside the build
  std::string isolation = "namespaces";  // namespaces | process
  std::uint32_t max_concurrency = 1000;
  std::uint64_t memory_budget_mb = 0;    // 0: three quarters of physical memory
  std::uint32_t prepared_sandboxes = 2;  // ready for cold starts (namespaces isolation)
  std::string cgroups = "auto";          // auto | v1 | v2 | none
  std::chrono::milliseconds function_idle_timeout{300'000};
  std::string node_path = "/usr/bin/node";
  std::string python_path = "/usr/bin/python3";

  // Lambda: the wait before retrying a failed asynchronous invocation
  // (Lambda's is a minute, then two).
  std::chrono::milliseconds lambda_async_retry_delay{60'000};
  // Lambda: all deployment packages together (Lambda's account limit, 75 GB).
  std::uint64_t lambda_code_storage_bytes = 80'530'636'800;

  // API Gateway: the account-level throttle every API shares (AWS's default
  // quota: 10,000 requests per second, bursts of 5,000).
  double apigateway_rate_limit = 10'000;
  std::int64_t apigateway_burst_limit = 5'000;

  // DynamoDB: how often tables with time to live on are searched for
  // expired items (DynamoDB deletes them within a few days).
  std::chrono::milliseconds dynamodb_ttl_interval{60'000};

  // Usage records (the ledger `nimbus cost` reads) and function log capture:
  // off only to measure what they cost.
  bool metering = true;
  bool function_logs = true;
  // The price book cost reports use; empty: <data-dir>/price-book.yaml,
  // written from the shipped default when missing.
  std::filesystem::path price_book;
};

class Server {
 public:
  // Validates the configuration, builds and starts everything; ready to serve
  // when it returns.
  static Result<std::unique_ptr<Server>> start(const ServerConfig& config);
  virtual ~Server() = default;

  virtual std::string endpoint() const = 0;  // "http://127.0.0.1:4566"
  virtual const std::filesystem::path& data_dir() const = 0;

  // Graceful: stop taking connections, finish in-flight requests, stop the
  // services, flush state. Idempotent; blocks.
  virtual void stop() = 0;
};

}  // namespace nimbus::server
