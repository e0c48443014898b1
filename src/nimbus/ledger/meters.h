#pragma once

// What the ledger counts. A service records each meter in its recorded unit
// (integers: MB-ms, not GB-seconds, so sums are exact); the price book
// prices each in its billing unit, `per_billing_unit` recorded units each.
// Meter names are persisted: never rename, only add.

#include <array>
#include <cstdint>
#include <string_view>

namespace nimbus::ledger {

struct MeterInfo {
  std::string_view name;
  std::string_view recorded_unit;
  std::string_view billing_unit;
  std::int64_t per_billing_unit = 1;
};

namespace meter {
inline constexpr std::string_view kLambdaRequests = "lambda.requests";
inline constexpr std::string_view kLambdaComputeX86 = "lambda.compute.x86_64";
inline constexpr std::string_view kLambdaComputeArm = "lambda.compute.arm64";
inline constexpr std::string_view kLambdaBilledMs = "lambda.billed-ms";
inline constexpr std::string_view kLambdaColdStarts = "lambda.cold-starts";
inline constexpr std::string_view kLambdaErrors = "lambda.errors";
// Invocations refused for concurrency (not billed, as on AWS).
inline constexpr std::string_view kLambdaThrottles = "lambda.throttles";
// CloudWatch's Resource and ExecutedVersion dimensions: an invocation's
// requests, errors and throttles (and its duration, an observation) are
// recorded again under the qualifier it was invoked with,
// "<name>/<qualifier>" ("<name>/" when unqualified), and for an alias once
// more with the version that ran, "<name>/<alias>/<version>". Statistics
// only: not priced.
inline constexpr char kLambdaQualifierSeparator = '/';
inline constexpr std::string_view kHttpApiRequests = "apigateway.http.requests";
inline constexpr std::string_view kRestApiRequests = "apigateway.rest.requests";
inline constexpr std::string_view kApiGatewayBytes = "apigateway.bytes";
inline constexpr std::string_view kApiGatewayRequests = "apigateway.requests";  // 1 each
inline constexpr std::string_view kApiGateway4xx = "apigateway.4xx";
inline constexpr std::string_view kApiGateway5xx = "apigateway.5xx";
// Requests a usage plan let through for one API key (not priced), under the
// resource "usageplan/<plan id>/<key id>": quotas and GetUsage count these.
// CloudWatch's dimension sets beyond the API (docs/compatibility/cloudwatch.md):
// a request's API Gateway meters and observations are also recorded per
// stage, named "<meter or observation>/<stage>", and with detailed metrics
// enabled per route (or REST API method) too, "<name>/<stage>/<route key>"
// ("<name>/<stage>/<METHOD> <resource path>"; stage names hold no '/'); a
// REST API request records its API's name as of the request,
// "apigateway.api-name/<name>" (1 each). Statistics only: not priced.
inline constexpr char kApiGatewayStageSeparator = '/';
inline constexpr std::string_view kApiGatewayApiName = "apigateway.api-name/";
// Quota granted back to a key for the current period by UpdateUsage
// (negative: taken away); what the quota counts is requests less these.
inline constexpr std::string_view kApiGatewayUsagePlanExtensions =
    "apigateway.usage-plan.extensions";
inline constexpr std::string_view kApiGatewayUsagePlanRequests = "apigateway.usage-plan.requests";
// DynamoDB's are recorded; Step Functions' are priced, recorded once it lands.
inline constexpr std::string_view kDynamoDbReadUnits = "dynamodb.read-request-units";
inline constexpr std::string_view kDynamoDbWriteUnits = "dynamodb.write-request-units";
inline constexpr std::string_view kDynamoDbStorage = "dynamodb.storage";
// Items time to live deleted (free, as on AWS).
inline constexpr std::string_view kDynamoDbExpiredItems = "dynamodb.expired-items";
// Request statistics behind CloudWatch's AWS/DynamoDB metrics (not priced),
// per table. A name ending in '.' is a prefix: the operation follows it
// ("dynamodb.system-errors.GetItem").
inline constexpr std::string_view kDynamoDbSuccessfulRequests = "dynamodb.successful-requests.";
inline constexpr std::string_view kDynamoDbReturnedItems = "dynamodb.returned-items.";
inline constexpr std::string_view kDynamoDbSystemErrors = "dynamodb.system-errors.";
inline constexpr std::string_view kDynamoDbConditionalCheckFailures =
    "dynamodb.conditional-check-failures";
// The account's (resource ""): 400s other than failed conditions, as UserErrors counts.
inline constexpr std::string_view kDynamoDbUserErrors = "dynamodb.user-errors";
inline constexpr std::string_view kStandardTransitions = "stepfunctions.standard.transitions";
inline constexpr std::string_view kExpressRequests = "stepfunctions.express.requests";
inline constexpr std::string_view kExpressCompute = "stepfunctions.express.compute";
}  // namespace meter

inline constexpr std::array kMeters = {
    MeterInfo{meter::kLambdaRequests, "requests", "requests", 1},
    // 1 GB-second = 1024 MB x 1000 ms.
    MeterInfo{meter::kLambdaComputeX86, "MB-ms", "GB-seconds", 1'024'000},
    MeterInfo{meter::kLambdaComputeArm, "MB-ms", "GB-seconds", 1'024'000},
    MeterInfo{meter::kLambdaBilledMs, "ms", "ms", 1},
    MeterInfo{meter::kLambdaColdStarts, "cold starts", "cold starts", 1},
    MeterInfo{meter::kLambdaErrors, "errors", "errors", 1},
    MeterInfo{meter::kLambdaThrottles, "throttles", "throttles", 1},
    // HTTP APIs bill a request per 512 KB of it: the service records billed requests.
    MeterInfo{meter::kHttpApiRequests, "requests", "requests", 1},
    MeterInfo{meter::kRestApiRequests, "requests", "requests", 1},
    MeterInfo{meter::kApiGatewayBytes, "bytes", "bytes", 1},
    MeterInfo{meter::kApiGatewayRequests, "requests", "requests", 1},
    MeterInfo{meter::kApiGateway4xx, "responses", "responses", 1},
    MeterInfo{meter::kApiGateway5xx, "responses", "responses", 1},
    // Eventually consistent reads cost half a unit: recorded in halves.
    MeterInfo{meter::kDynamoDbReadUnits, "half read request units", "read request units", 2},
    MeterInfo{meter::kDynamoDbWriteUnits, "write request units", "write request units", 1},
    // A GB-month is 2^30 bytes for the 730 hours (43,800 minutes) of AWS's
    // average month; byte-minutes keep a small table's storage from rounding away.
    MeterInfo{meter::kDynamoDbStorage, "byte-minutes", "GB-months",
              (std::int64_t{1} << 30) * 43'800},
    MeterInfo{meter::kDynamoDbExpiredItems, "items", "items", 1},
    MeterInfo{meter::kStandardTransitions, "state transitions", "state transitions", 1},
    MeterInfo{meter::kExpressRequests, "requests", "requests", 1},
    MeterInfo{meter::kExpressCompute, "MB-ms", "GB-seconds", 1'024'000},
};

// Values a usage record carries for latency histograms (metrics.h) and
// CloudWatch statistics: durations in seconds, unless said otherwise.
namespace observation {
inline constexpr std::string_view kLambdaDuration = "lambda.duration";
inline constexpr std::string_view kLambdaInitDuration = "lambda.init-duration";
// Not durations: invocations in flight (the function's, all its versions;
// the account's) when an invocation was admitted, itself included.
inline constexpr std::string_view kLambdaConcurrency = "lambda.concurrency";
inline constexpr std::string_view kLambdaAccountConcurrency = "lambda.account-concurrency";
// The account's invocations of functions without reserved concurrency.
inline constexpr std::string_view kLambdaUnreservedConcurrency = "lambda.unreserved-concurrency";
inline constexpr std::string_view kApiGatewayLatency = "apigateway.latency";
// Only requests that reached their integration: from relaying the request
// to the integration's answer.
inline constexpr std::string_view kApiGatewayIntegrationLatency = "apigateway.integration-latency";
// A prefix, the operation follows: successful requests' time in DynamoDB,
// merged by the service (Usage::merged_samples).
inline constexpr std::string_view kDynamoDbLatency = "dynamodb.latency.";
}  // namespace observation

inline const MeterInfo* find_meter(std::string_view name) {
  for (const auto& info : kMeters) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace nimbus::ledger
