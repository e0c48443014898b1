#pragma once

// One invocation as the ledger records it: the detail Lambda keeps
// (docs/formats/ledger.md, service "lambda") and the meters it bills.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
  // As invoked: "" (unqualified), a version, "$LATEST" or an alias. The
  // record's statistics are kept again per qualifier (CloudWatch's Resource
  // dimension) and, for an alias, per alias and version run
  // (ExecutedVersion): usage_record.cc, docs/formats/ledger.md.
  std::string qualifier;
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
  // ...of the function as invoked (its qualifier, CloudWatch's Resource)
  // and, for an alias, of the alias running this version (ExecutedVersion).
  std::uint32_t resource_concurrency = 0;
  std::uint32_t executed_version_concurrency = 0;
};

// A refused invocation (TooManyRequestsException): counted, not billed.
// `qualifier` as invoked, `version` the one it would have run.
ledger::Usage throttle_usage(const std::string& function, std::string_view qualifier,
                             std::string_view version, std::int64_t time_us);

// The qualifier in an invoked function ARN ("arn:aws:lambda:<region>:
// <account>:function:<name>[:<qualifier>]"); "" for an unqualified one.
std::string_view invoked_qualifier(std::string_view invoked_arn);
// A qualifier naming an alias: not empty, not a version number, not $LATEST.
bool is_alias_qualifier(std::string_view qualifier);

ledger::Usage to_usage(const UsageRecord& record);
// to_usage into `usage`, whose strings and lists keep their memory: what an
// instance does for every invocation.
void fill_usage(const UsageRecord& record, ledger::Usage& usage);
// nullopt for another service's record or a malformed one.
std::optional<UsageRecord> from_usage(const ledger::Usage& usage);

}  // namespace nimbus::engine
