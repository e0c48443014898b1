#pragma once

// Where the engine's durable output goes: function log events (what
// CloudWatch Logs will serve) and one usage record per invocation (what the
// ledger bills from). Writers append from any thread without waiting; a
// journal thread group-commits what accumulates over 2 ms, so an invocation
// never waits on the disk and a busy engine writes one batch per 2 ms, not
// one per invocation. Byte formats: docs/formats/functions.md.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/storage/store.h"

namespace nimbus::engine {

struct LogEvent {
  std::string group;   // "/aws/lambda/<name>"
  std::string stream;  // "2026/11/26/[$LATEST]<instance id>"
  std::int64_t timestamp_ms = 0;
  std::string message;
};

// Persisted enum: explicit values, never reordered.
enum class InvocationOutcome : std::uint8_t {
  kSuccess = 1,
  kFunctionError = 2,  // the function reported an error
  kTimeout = 3,
  kCrash = 4,  // the runtime exited or was killed (including out of memory)
  kInitError = 5,
};

struct UsageRecord {
  std::string function;  // name
  std::string version;
  std::string request_id;
  std::int64_t start_time_us = 0;  // Unix epoch microseconds
  double duration_ms = 0;
  std::uint64_t billed_ms = 0;
  std::uint32_t memory_mb = 0;
  bool cold_start = false;
  double init_ms = 0;
  InvocationOutcome outcome = InvocationOutcome::kSuccess;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

class Journal {
 public:
  static constexpr std::string_view kLogEventsKeyspace = "logs.events";
  static constexpr std::string_view kLogStreamsKeyspace = "logs.streams";
  static constexpr std::string_view kUsageKeyspace = "usage.lambda";

  static Result<std::unique_ptr<Journal>> open(storage::Store& store);
  ~Journal();  // flushes

  void append_log(LogEvent event);
  void append_logs(std::vector<LogEvent> events);
  void create_stream(const std::string& group, const std::string& stream, std::int64_t created_ms);
  void append_usage(const UsageRecord& record);
  // Log events and (optionally) a usage record in one hand-off.
  void append(std::vector<LogEvent> events, const UsageRecord* usage);

  // Blocks until everything appended before the call is in the store.
  void flush();

  // Readers (tests, and later the Logs service and the ledger).
  static Result<std::vector<LogEvent>> read_logs(storage::Store& store, const std::string& group,
                                                 const std::string& stream_prefix = {});
  static Result<std::vector<UsageRecord>> read_usage(storage::Store& store);

 private:
  Journal(storage::Store& store, storage::Keyspace events, storage::Keyspace streams,
          storage::Keyspace usage);
  void run();

  storage::Store& store_;
  storage::Keyspace events_;
  storage::Keyspace streams_;
  storage::Keyspace usage_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  storage::WriteBatch pending_;
  std::uint64_t appended_ = 0;  // batches handed in
  std::uint64_t written_ = 0;   // batches in the store
  std::uint64_t sequence_;      // tie-breaker for events in the same millisecond
  int flush_waiters_ = 0;       // flush() callers: no lingering while they wait
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nimbus::engine
