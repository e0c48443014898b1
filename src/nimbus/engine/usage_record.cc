#include "nimbus/engine/usage_record.h"

#include <boost/json.hpp>

#include "nimbus/core/json_text.h"
#include "nimbus/core/request_id.h"
#include "nimbus/ledger/meters.h"

namespace nimbus::engine {

namespace json = boost::json;

namespace {

// What a lambda record's detail leaves out (docs/formats/ledger.md).
constexpr std::string_view kDefaultVersion = "$LATEST";
constexpr std::string_view kDefaultArchitecture = "x86_64";

}  // namespace

ledger::Usage to_usage(const UsageRecord& record) {
  ledger::Usage usage;
  usage.service = "lambda";
  usage.resource = record.function;
  usage.id = record.request_id;
  usage.time_us = record.start_time_us;
  const auto billed = static_cast<std::int64_t>(record.billed_ms);
  // Emplaced, not listed: an initializer list's strings would be copied.
  usage.quantities.reserve(5);
  usage.quantities.emplace_back(ledger::meter::kLambdaRequests, 1);
  usage.quantities.emplace_back(record.architecture == "arm64" ? ledger::meter::kLambdaComputeArm
                                                               : ledger::meter::kLambdaComputeX86,
                                billed * record.memory_mb);
  usage.quantities.emplace_back(ledger::meter::kLambdaBilledMs, billed);
  usage.quantities.emplace_back(ledger::meter::kLambdaColdStarts, record.cold_start ? 1 : 0);
  usage.quantities.emplace_back(ledger::meter::kLambdaErrors,
                                record.outcome == InvocationOutcome::kSuccess ? 0 : 1);
  usage.observations.reserve(5);
  usage.observations.emplace_back(ledger::observation::kLambdaDuration, record.duration_ms / 1000);
  if (record.cold_start && record.init_ms > 0) {
    usage.observations.emplace_back(ledger::observation::kLambdaInitDuration,
                                    record.init_ms / 1000);
  }
  if (record.concurrency > 0) {
    usage.observations.emplace_back(ledger::observation::kLambdaConcurrency, record.concurrency);
    usage.observations.emplace_back(ledger::observation::kLambdaAccountConcurrency,
                                    record.account_concurrency);
    usage.observations.emplace_back(ledger::observation::kLambdaUnreservedConcurrency,
                                    record.unreserved_concurrency);
  }
  // The record's head carries the name, request id and start time. Written
  // directly, without a format string to parse: one per invocation, and
  // every field is a number or a name Lambda restricts to characters JSON
  // need not escape. Fields at their usual value (docs/formats/ledger.md)
  // are left out: every byte is checksummed and copied several times on
  // its way to the disk, and these were a third of a record.
  std::string& detail = usage.detail_json;
  detail.clear();
  detail.reserve(128);
  detail += R"({"durationMs":)";
  append_json_number(detail, record.duration_ms);
  detail += R"(,"billedMs":)";
  append_json_number(detail, record.billed_ms);
  detail += R"(,"memoryMb":)";
  append_json_number(detail, record.memory_mb);
  detail += R"(,"bytesIn":)";
  append_json_number(detail, record.bytes_in);
  detail += R"(,"bytesOut":)";
  append_json_number(detail, record.bytes_out);
  if (record.version != kDefaultVersion) {
    detail += R"(,"version":")";
    detail += record.version;
    detail += '"';
  }
  if (record.architecture != kDefaultArchitecture) {
    detail += R"(,"architecture":")";
    detail += record.architecture;
    detail += '"';
  }
  if (record.cold_start) {
    detail += R"(,"coldStart":true,"initMs":)";
    append_json_number(detail, record.init_ms);
  }
  if (record.outcome != InvocationOutcome::kSuccess) {
    detail += R"(,"outcome":)";
    append_json_number(detail, static_cast<int>(record.outcome));
  }
  detail += '}';
  return usage;
}

std::optional<UsageRecord> from_usage(const ledger::Usage& usage) {
  if (usage.service != "lambda") return std::nullopt;
  boost::system::error_code ec;
  auto value = json::parse(usage.detail_json, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& o = value.as_object();
  try {
    UsageRecord record;
    record.function = usage.resource;
    record.request_id = usage.id;
    record.start_time_us = usage.time_us;
    record.duration_ms = o.at("durationMs").to_number<double>();
    record.billed_ms = o.at("billedMs").to_number<std::uint64_t>();
    record.memory_mb = o.at("memoryMb").to_number<std::uint32_t>();
    record.bytes_in = o.at("bytesIn").to_number<std::uint64_t>();
    record.bytes_out = o.at("bytesOut").to_number<std::uint64_t>();
    // Left out at their usual value; records written before 2026-11-28 have them all.
    const auto* version = o.if_contains("version");
    record.version = version ? json::value_to<std::string>(*version) : std::string(kDefaultVersion);
    const auto* architecture = o.if_contains("architecture");
    record.architecture = architecture ? json::value_to<std::string>(*architecture)
                                       : std::string(kDefaultArchitecture);
    const auto* cold_start = o.if_contains("coldStart");
    record.cold_start = cold_start != nullptr && cold_start->as_bool();
    const auto* init_ms = o.if_contains("initMs");
    record.init_ms = init_ms ? init_ms->to_number<double>() : 0;
    const auto* outcome = o.if_contains("outcome");
    record.outcome = outcome ? static_cast<InvocationOutcome>(outcome->to_number<int>())
                             : InvocationOutcome::kSuccess;
    return record;
  } catch (const std::exception&) {
    // A record this version does not understand: not one of ours.
    return std::nullopt;
  }
}

ledger::Usage throttle_usage(const std::string& function, std::int64_t time_us) {
  ledger::Usage usage;
  usage.service = "lambda";
  usage.resource = function;
  usage.id = new_request_id();
  usage.time_us = time_us;
  usage.quantities = {{std::string(ledger::meter::kLambdaThrottles), 1}};
  usage.detail_json = R"({"outcome":"throttled"})";
  return usage;
}

}  // namespace nimbus::engine
