#include "nimbus/engine/usage_record.h"

#include <limits>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nimbus/ledger/meters.h"

namespace nimbus::engine {
namespace {

UsageRecord warm_record() {
  UsageRecord record;
  record.function = "orders";
  record.version = "$LATEST";
  record.request_id = "8f5a1c2e-0000-4000-8000-000000000001";
  record.start_time_us = 1'795'000'000'000'000;
  record.duration_ms = 0.31;
  record.billed_ms = 1;
  record.memory_mb = 128;
  record.bytes_in = 40;
  record.bytes_out = 41;
  return record;
}

void expect_same(const UsageRecord& read, const UsageRecord& written) {
  EXPECT_EQ(read.function, written.function);
  EXPECT_EQ(read.version, written.version);
  EXPECT_EQ(read.request_id, written.request_id);
  EXPECT_EQ(read.start_time_us, written.start_time_us);
  EXPECT_DOUBLE_EQ(read.duration_ms, written.duration_ms);
  EXPECT_EQ(read.billed_ms, written.billed_ms);
  EXPECT_EQ(read.memory_mb, written.memory_mb);
  EXPECT_EQ(read.architecture, written.architecture);
  EXPECT_EQ(read.cold_start, written.cold_start);
  EXPECT_DOUBLE_EQ(read.init_ms, written.init_ms);
  EXPECT_EQ(read.outcome, written.outcome);
  EXPECT_EQ(read.bytes_in, written.bytes_in);
  EXPECT_EQ(read.bytes_out, written.bytes_out);
  EXPECT_EQ(read.qualifier, written.qualifier);
}

// The record's amount of `name`, or nullopt without one.
template <class Named>
auto amount_of(const Named& entries, std::string_view name)
    -> std::optional<typename Named::value_type::second_type> {
  for (const auto& [entry_name, amount] : entries) {
    if (entry_name == name) return amount;
  }
  return std::nullopt;
}

TEST(UsageRecord, AWarmSuccessfulInvocationLeavesItsUsualFieldsOut) {
  const auto written = warm_record();
  const auto usage = to_usage(written);
  EXPECT_EQ(usage.detail_json,
            R"({"durationMs":0.31,"billedMs":1,"memoryMb":128,"bytesIn":40,"bytesOut":41})");
  auto read = from_usage(usage);
  ASSERT_TRUE(read);
  expect_same(*read, written);
}

TEST(UsageRecord, DurationsAreRecordedToTheMicrosecond) {
  auto record = warm_record();
  record.cold_start = true;
  const std::pair<double, std::string_view> cases[] = {
      {12, "12"},    {2.0054, "2.005"},  {2.0055001, "2.006"},
      {0.0004, "0"}, {1234.5, "1234.5"}, {0.9999996, "1"},
  };
  for (const auto& [ms, text] : cases) {
    record.duration_ms = ms;
    record.init_ms = ms;
    const auto usage = to_usage(record);
    EXPECT_NE(usage.detail_json.find(fmt::format(R"("durationMs":{},)", text)), std::string::npos)
        << ms << ": " << usage.detail_json;
    EXPECT_NE(usage.detail_json.find(fmt::format(R"("initMs":{}}})", text)), std::string::npos)
        << ms << ": " << usage.detail_json;
  }
}

TEST(UsageRecord, TheLargestFieldsFitTheirDetail) {
  // The detail is written into a string sized once, from a bound on every
  // field: every field at its widest still makes a whole JSON document.
  auto record = warm_record();
  record.duration_ms = 1e300;
  record.billed_ms = std::numeric_limits<std::uint64_t>::max();
  record.memory_mb = std::numeric_limits<std::uint32_t>::max();
  record.bytes_in = std::numeric_limits<std::uint64_t>::max();
  record.bytes_out = std::numeric_limits<std::uint64_t>::max();
  record.version = std::string(200, '9');
  record.qualifier = std::string(128, 'a');  // an alias name at its longest
  record.architecture = "arm64";
  record.cold_start = true;
  record.init_ms = 1e300;
  record.outcome = InvocationOutcome::kInitError;
  const auto usage = to_usage(record);
  EXPECT_EQ(usage.detail_json.back(), '}');
  auto read = from_usage(usage);
  ASSERT_TRUE(read) << usage.detail_json;
  EXPECT_EQ(read->bytes_out, record.bytes_out);
  EXPECT_EQ(read->version, record.version);
  EXPECT_DOUBLE_EQ(read->duration_ms, 1e11);  // recorded at its nearest sane value
}

TEST(UsageRecord, ARefilledRecordIsTheRecordOfItsLastFill) {
  // An instance refills one record: nothing of a cold, failed invocation
  // may remain in the warm one after it.
  auto cold = warm_record();
  cold.cold_start = true;
  cold.init_ms = 87.5;
  cold.outcome = InvocationOutcome::kTimeout;
  cold.version = "3";
  cold.qualifier = "live";
  cold.concurrency = 4;
  cold.account_concurrency = 5;
  ledger::Usage usage;
  fill_usage(cold, usage);
  const auto warm = warm_record();
  fill_usage(warm, usage);
  const auto fresh = to_usage(warm);
  EXPECT_EQ(usage.detail_json, fresh.detail_json);
  EXPECT_EQ(usage.quantities, fresh.quantities);
  EXPECT_EQ(usage.observations, fresh.observations);
  EXPECT_EQ(usage.id, fresh.id);
}

TEST(UsageRecord, FieldsAwayFromTheirUsualValueAreKept) {
  auto written = warm_record();
  written.version = "3";
  written.qualifier = "live";
  written.architecture = "arm64";
  written.cold_start = true;
  written.init_ms = 87.5;
  written.outcome = InvocationOutcome::kTimeout;
  const auto usage = to_usage(written);
  auto read = from_usage(usage);
  ASSERT_TRUE(read) << usage.detail_json;
  expect_same(*read, written);
  // The arm64 meter bills the compute.
  bool arm = false;
  for (const auto& [meter, amount] : usage.quantities) {
    if (meter == ledger::meter::kLambdaComputeArm) arm = amount == 128;
  }
  EXPECT_TRUE(arm);
}

TEST(UsageRecord, RecordsWithEveryFieldAsEarlierVersionsWroteThemStillRead) {
  ledger::Usage usage;
  usage.service = "lambda";
  usage.resource = "orders";
  usage.id = "req-1";
  usage.time_us = 5;
  usage.detail_json = R"({"version":"$LATEST","durationMs":2.5,"billedMs":3,"memoryMb":256,)"
                      R"("architecture":"x86_64","coldStart":false,"initMs":0,"outcome":2,)"
                      R"("bytesIn":7,"bytesOut":9})";
  auto read = from_usage(usage);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->version, "$LATEST");
  EXPECT_EQ(read->architecture, "x86_64");
  EXPECT_FALSE(read->cold_start);
  EXPECT_EQ(read->outcome, InvocationOutcome::kFunctionError);
  EXPECT_EQ(read->billed_ms, 3u);
  EXPECT_EQ(read->memory_mb, 256u);
}

TEST(UsageRecord, ADetailWithoutItsRequiredFieldsIsNotOurs) {
  ledger::Usage usage;
  usage.service = "lambda";
  usage.detail_json = R"({"durationMs":1})";
  EXPECT_FALSE(from_usage(usage));
  usage.detail_json = "not json";
  EXPECT_FALSE(from_usage(usage));
  usage = to_usage(warm_record());
  usage.service = "apigateway";
  EXPECT_FALSE(from_usage(usage));
}

TEST(UsageRecord, StatisticsAreKeptAgainPerQualifierAndForAnAliasPerVersionRun) {
  // CloudWatch's Resource dimension: "orders" (unqualified), "orders:3",
  // "orders:live"; ExecutedVersion for an alias only.
  auto record = warm_record();
  record.outcome = InvocationOutcome::kFunctionError;
  record.duration_ms = 2.5;
  auto usage = to_usage(record);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.requests/"), 1);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.errors/"), 1);
  EXPECT_EQ(amount_of(usage.observations, "lambda.duration/"), 0.0025);
  EXPECT_EQ(usage.quantities.size(), 7u);
  EXPECT_EQ(usage.observations.size(), 2u);

  record.version = "3";
  record.qualifier = "3";
  usage = to_usage(record);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.requests/3"), 1);
  EXPECT_FALSE(amount_of(usage.quantities, "lambda.requests/"));
  EXPECT_FALSE(amount_of(usage.quantities, "lambda.requests/3/3"));
  record.qualifier = "$LATEST";
  record.version = "$LATEST";
  usage = to_usage(record);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.requests/$LATEST"), 1);
  EXPECT_EQ(usage.quantities.size(), 7u);

  record.qualifier = "live";
  record.version = "4";
  record.outcome = InvocationOutcome::kSuccess;
  usage = to_usage(record);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.requests/live"), 1);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.errors/live"), 0);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.requests/live/4"), 1);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.errors/live/4"), 0);
  EXPECT_EQ(amount_of(usage.observations, "lambda.duration/live/4"), 0.0025);
  // The billed meters are not copied: a copy would be billed twice.
  EXPECT_EQ(amount_of(usage.quantities, ledger::meter::kLambdaRequests), 1);
  EXPECT_EQ(usage.quantities.size(), 9u);
}

TEST(UsageRecord, ConcurrencyIsKeptAgainAsInvokedWhereCounted) {
  auto record = warm_record();
  record.qualifier = "live";
  record.version = "4";
  record.concurrency = 5;
  record.account_concurrency = 7;
  record.unreserved_concurrency = 7;
  record.resource_concurrency = 3;
  record.executed_version_concurrency = 2;
  auto usage = to_usage(record);
  EXPECT_EQ(amount_of(usage.observations, "lambda.concurrency"), 5.0);
  EXPECT_EQ(amount_of(usage.observations, "lambda.concurrency/live"), 3.0);
  EXPECT_EQ(amount_of(usage.observations, "lambda.concurrency/live/4"), 2.0);
  // Invoked by version: no ExecutedVersion copy.
  record.qualifier = "4";
  record.executed_version_concurrency = 0;
  usage = to_usage(record);
  EXPECT_EQ(amount_of(usage.observations, "lambda.concurrency/4"), 3.0);
  EXPECT_FALSE(amount_of(usage.observations, "lambda.concurrency/4/4"));
  // Not counted (a record without concurrency): no copies.
  record.resource_concurrency = 0;
  usage = to_usage(record);
  EXPECT_FALSE(amount_of(usage.observations, "lambda.concurrency/4"));
}

TEST(UsageRecord, AThrottleIsCountedPerQualifierToo) {
  auto usage = throttle_usage("orders", "live", "4", 5);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.throttles"), 1);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.throttles/live"), 1);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.throttles/live/4"), 1);
  usage = throttle_usage("orders", "", "$LATEST", 5);
  EXPECT_EQ(amount_of(usage.quantities, "lambda.throttles/"), 1);
  EXPECT_EQ(usage.quantities.size(), 2u);
}

TEST(UsageRecord, TheQualifierIsWhatFollowsTheNameInTheInvokedArn) {
  EXPECT_EQ(invoked_qualifier("arn:aws:lambda:us-east-1:000000000000:function:orders"), "");
  EXPECT_EQ(invoked_qualifier("arn:aws:lambda:us-east-1:000000000000:function:orders:live"),
            "live");
  EXPECT_EQ(invoked_qualifier("arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST"),
            "$LATEST");
  EXPECT_EQ(invoked_qualifier(""), "");
}

}  // namespace
}  // namespace nimbus::engine
