#pragma once

// One invocation as the ledger records it: the detail Lambda keeps
// (docs/formats/ledger.md, service "lambda") and the meters it bills.

#include <cstdint>
#include <optional>
#include <string>

#include "nimbus/ledger/journal.h"

namespace nimbus::engine {

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
  std::string architecture = "x86_64";
  bool cold_start = false;
  double init_ms = 0;
  InvocationOutcome outcome = InvocationOutcome::kSuccess;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  // Invocations in flight when this one was admitted, itself included: the
  // function's (all versions) and the account's. Not persisted.
  std::uint32_t concurrency = 0;
  std::uint32_t account_concurrency = 0;
  // The account's invocations of functions without reserved concurrency.
  std::uint32_t unreserved_concurrency = 0;
};

// A refused invocation (TooManyRequestsException): counted, not billed.
ledger::Usage throttle_usage(const std::string& function, std::int64_t time_us);

ledger::Usage to_usage(const UsageRecord& record);
// to_usage into `usage`, whose strings and lists keep their memory: what an
// instance does for every invocation.
void fill_usage(const UsageRecord& record, ledger::Usage& usage);
// nullopt for another service's record or a malformed one.
std::optional<UsageRecord> from_usage(const ledger::Usage& usage);

}  // namespace nimbus::engine
