#include "nimbus/services/cloudwatch/cloudwatch_service.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/aws/aws_time.h"
#include "nimbus/aws/query_protocol.h"
#include "nimbus/aws/xml_writer.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"
#include "nimbus/services/cloudwatch/internal/custom_metrics.h"
#include "nimbus/services/cloudwatch/internal/embedded_metrics.h"
#include "nimbus/services/cloudwatch/internal/metric_math.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::cloudwatch {
namespace {

constexpr std::string_view kXmlns = "http://monitoring.amazonaws.com/doc/2010-08-01/";
constexpr std::int64_t kMaxDatapoints = 100'800;

// A CloudWatch metric and the minute aggregate it is read from.
struct MetricDef {
  std::string_view ns;
  std::string_view name;
  std::string_view service;    // the ledger's
  std::string_view dimension;  // the one dimension naming a resource; empty: none
  std::string_view source;     // "m:<meter>" or "o:<observation>"
  std::string_view unit;
  double scale;  // stored unit -> metric unit
  enum class Api { kAny, kHttp, kRest } api = Api::kAny;
  // Read instead of `source` when no dimension names a resource (a metric
  // of the whole account that is not the sum of its resources').
  std::string_view account_source = {};
  // Published per resource and operation, with the dimensions `dimension`
  // and Operation together only: `source` and `listed_by` are prefixes the
  // operation's name completes.
  bool per_operation = false;
  // The hourly counter ListMetrics lists the metric for (a resource, or a
  // resource's operation) by; empty: any of the resource's.
  std::string_view listed_by = {};
};

constexpr MetricDef kMetrics[] = {
    {"AWS/Lambda", "Invocations", "lambda", "FunctionName", "m:lambda.requests", "Count", 1},
    {"AWS/Lambda", "Errors", "lambda", "FunctionName", "m:lambda.errors", "Count", 1},
    {"AWS/Lambda", "Duration", "lambda", "FunctionName", "o:lambda.duration", "Milliseconds",
     0.001},
    {"AWS/Lambda", "Throttles", "lambda", "FunctionName", "m:lambda.throttles", "Count", 1},
    // Observations are kept in millionths.
    {"AWS/Lambda", "ConcurrentExecutions", "lambda", "FunctionName", "o:lambda.concurrency",
     "Count", 1e-6, MetricDef::Api::kAny, "o:lambda.account-concurrency"},
    // The account's only, over functions without reserved concurrency.
    {"AWS/Lambda",
     "UnreservedConcurrentExecutions",
     "lambda",
     "",
     "o:lambda.unreserved-concurrency",
     "Count",
     1e-6,
     MetricDef::Api::kAny,
     {},
     false,
     "lambda.requests"},
    {"AWS/ApiGateway", "Count", "apigateway", "ApiId", "m:apigateway.requests", "Count", 1},
    {"AWS/ApiGateway", "4xx", "apigateway", "ApiId", "m:apigateway.4xx", "Count", 1,
     MetricDef::Api::kHttp},
    {"AWS/ApiGateway", "5xx", "apigateway", "ApiId", "m:apigateway.5xx", "Count", 1,
     MetricDef::Api::kHttp},
    {"AWS/ApiGateway", "4XXError", "apigateway", "ApiId", "m:apigateway.4xx", "Count", 1,
     MetricDef::Api::kRest},
    {"AWS/ApiGateway", "5XXError", "apigateway", "ApiId", "m:apigateway.5xx", "Count", 1,
     MetricDef::Api::kRest},
    {"AWS/ApiGateway", "Latency", "apigateway", "ApiId", "o:apigateway.latency", "Milliseconds",
     0.001},
    {"AWS/ApiGateway", "IntegrationLatency", "apigateway", "ApiId",
     "o:apigateway.integration-latency", "Milliseconds", 0.001},
    {"AWS/ApiGateway", "DataProcessed", "apigateway", "ApiId", "m:apigateway.bytes", "Bytes", 1,
     MetricDef::Api::kHttp},
    // The ledger keeps read units in halves (eventually consistent reads).
    {"AWS/DynamoDB", "ConsumedReadCapacityUnits", "dynamodb", "TableName",
     "m:dynamodb.read-request-units", "Count", 0.5},
    {"AWS/DynamoDB", "ConsumedWriteCapacityUnits", "dynamodb", "TableName",
     "m:dynamodb.write-request-units", "Count", 1},
    {"AWS/DynamoDB", "TimeToLiveDeletedItemCount", "dynamodb", "TableName",
     "m:dynamodb.expired-items", "Count", 1},
    // Latency samples are micro-seconds.
    {"AWS/DynamoDB",
     "SuccessfulRequestLatency",
     "dynamodb",
     "TableName",
     "o:dynamodb.latency.",
     "Milliseconds",
     0.001,
     MetricDef::Api::kAny,
     {},
     true,
     "dynamodb.successful-requests."},
    {"AWS/DynamoDB",
     "ReturnedItemCount",
     "dynamodb",
     "TableName",
     "m:dynamodb.returned-items.",
     "Count",
     1,
     MetricDef::Api::kAny,
     {},
     true,
     "dynamodb.returned-items."},
    {"AWS/DynamoDB",
     "SystemErrors",
     "dynamodb",
     "TableName",
     "m:dynamodb.system-errors.",
     "Count",
     1,
     MetricDef::Api::kAny,
     {},
     true,
     "dynamodb.system-errors."},
    {"AWS/DynamoDB",
     "ConditionalCheckFailedRequests",
     "dynamodb",
     "TableName",
     "m:dynamodb.conditional-check-failures",
     "Count",
     1,
     MetricDef::Api::kAny,
     {},
     false,
     "dynamodb.conditional-check-failures"},
    // The account's: published without dimensions.
    {"AWS/DynamoDB",
     "UserErrors",
     "dynamodb",
     "",
     "m:dynamodb.user-errors",
     "Count",
     1,
     MetricDef::Api::kAny,
     {},
     false,
     "dynamodb.user-errors"},
};

constexpr std::string_view kOperationDimension = "Operation";

// A dimension set API Gateway publishes: HTTP APIs' {ApiId}, {ApiId,
// Stage} and, with detailed metrics, {ApiId, Route, Stage}; REST APIs'
// {ApiName}, {ApiName, Stage} and, with detailed metrics, {ApiName,
// Method, Resource, Stage}.
struct ApiDimensions {
  bool by_name = false;  // ApiName (REST APIs), not ApiId (HTTP APIs)
  std::string api;
  std::optional<std::string> stage;
  // As the ledger names detailed metrics: an HTTP API's route key, a REST
  // API's "<Method> <Resource>".
  std::optional<std::string> route;
};

std::optional<ApiDimensions> api_dimensions(
    const std::vector<std::pair<std::string, std::string>>& dimensions) {
  ApiDimensions out;
  bool named_api = false;
  std::optional<std::string> method, resource;
  for (const auto& [name, value] : dimensions) {
    if (name == "ApiId" || name == "ApiName") {
      if (named_api) return std::nullopt;
      named_api = true;
      out.by_name = name == "ApiName";
      out.api = value;
    } else if (name == "Stage" && !out.stage) {
      out.stage = value;
    } else if (name == "Route" && !out.route) {
      out.route = value;
    } else if (name == "Method" && !method) {
      method = value;
    } else if (name == "Resource" && !resource) {
      resource = value;
    } else {
      return std::nullopt;
    }
  }
  if (!named_api || method.has_value() != resource.has_value()) return std::nullopt;
  if (method) {
    if (!out.by_name || out.route) return std::nullopt;
    out.route = fmt::format("{} {}", *method, *resource);
  } else if (out.route && out.by_name) {
    return std::nullopt;
  }
  if (out.route && !out.stage) return std::nullopt;
  return out;
}

// Lambda's metrics published beyond {FunctionName} by Resource (the
// qualifier a function was invoked with) and, for an alias, by Resource and
// ExecutedVersion (sorted).
constexpr std::array<std::string_view, 5> kByResource = {"ConcurrentExecutions", "Duration",
                                                         "Errors", "Invocations", "Throttles"};

bool published_by_resource(const MetricDef& metric) {
  return metric.ns == "AWS/Lambda" &&
         std::binary_search(kByResource.begin(), kByResource.end(), metric.name);
}

// For Lambda's {FunctionName, Resource} and {FunctionName, Resource,
// ExecutedVersion}: the function, and what its statistics' names carry
// after them in the ledger for that set ("/<qualifier>" or
// "/<alias>/<version>", meters.h). nullopt for any other set, or a
// Resource that is not the function ("<name>") or one of its qualifiers
// ("<name>:<qualifier>").
std::optional<std::pair<std::string, std::string>> function_resource(
    const std::vector<std::pair<std::string, std::string>>& dimensions) {
  const std::string* function = nullptr;
  const std::string* resource = nullptr;
  const std::string* executed_version = nullptr;
  for (const auto& [name, value] : dimensions) {
    const std::string** slot = name == "FunctionName"      ? &function
                               : name == "Resource"        ? &resource
                               : name == "ExecutedVersion" ? &executed_version
                                                           : nullptr;
    if (slot == nullptr || *slot != nullptr) return std::nullopt;
    *slot = &value;
  }
  if (function == nullptr || resource == nullptr) return std::nullopt;
  std::string_view qualifier = *resource;
  if (!qualifier.starts_with(*function)) return std::nullopt;
  qualifier.remove_prefix(function->size());
  if (!qualifier.empty()) {
    if (qualifier.size() == 1 || qualifier.front() != ':') return std::nullopt;
    qualifier.remove_prefix(1);
  }
  std::string suffix(1, ledger::meter::kLambdaQualifierSeparator);
  suffix += qualifier;
  if (executed_version != nullptr) {
    if (qualifier.empty()) return std::nullopt;  // published for aliases only
    suffix += ledger::meter::kLambdaQualifierSeparator;
    suffix += *executed_version;
  }
  return std::pair{*function, std::move(suffix)};
}

// `name` as the ledger keeps it per stage (meters.h).
std::string staged(std::string_view name, std::string_view stage) {
  std::string out(name);
  out += ledger::meter::kApiGatewayStageSeparator;
  out += stage;
  return out;
}

constexpr int kMaxMetricData = 1000;
constexpr int kMaxDimensions = 30;
constexpr std::size_t kMaxValues = 150;

// Names and values: 1 to `max` characters, none of them control characters.
bool valid_name(std::string_view text, std::size_t max) {
  if (text.empty() || text.size() > max) return false;
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t kTwoWeeksS = 14 * 86'400;

// CloudWatch takes a datum timed from two weeks back to two hours ahead.
bool within_datum_window(std::int64_t time_s, std::int64_t now_s) {
  return time_s >= now_s - kTwoWeeksS && time_s <= now_s + 2 * 3600;
}

AwsError invalid_value(std::string message);

// A datapoint's number: finite and within CloudWatch's range (2^-360 to
// 2^360 in magnitude, or zero).
Result<double> datapoint(const std::string& text, std::string_view parameter) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const double magnitude = std::abs(value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      (magnitude != 0 && (magnitude < std::ldexp(1.0, -360) || magnitude > std::ldexp(1.0, 360)))) {
    return invalid_value(fmt::format("The value {} for parameter {} is invalid.", text, parameter));
  }
  return value;
}

const MetricDef* find_metric(std::string_view ns, std::string_view name) {
  for (const auto& metric : kMetrics) {
    if (metric.ns == ns && metric.name == name) return &metric;
  }
  return nullptr;
}

AwsError invalid_value(std::string message) {
  return AwsError("InvalidParameterValue", std::move(message), 400);
}

// A percentile asked of a metric published with PutMetricData, whose
// minutes keep no distribution; `parameter` names where, if it is not the
// request's ExtendedStatistics.
AwsError custom_percentiles_refused(std::string_view parameter) {
  constexpr std::string_view kWhy =
      "Nimbus keeps percentiles of the AWS/ namespaces' metrics only, not of metrics published "
      "with PutMetricData.";
  if (parameter.empty()) return invalid_value(std::string(kWhy));
  return invalid_value(fmt::format("{}: {}", parameter, kWhy));
}
AwsError missing(std::string_view name) {
  return AwsError("MissingParameter", fmt::format("The parameter {} is required.", name), 400);
}

// Read access to one request's parameters.
class Params {
 public:
  explicit Params(const aws::QueryRequest& request) : request_(request) {}

  std::optional<std::string> get(std::string_view name) const {
    auto value = request_.get(name);
    if (!value) return std::nullopt;
    return std::string(*value);
  }
  // prefix.member.1, prefix.member.2, ... until one is missing.
  std::vector<std::string> members(std::string_view prefix) const {
    std::vector<std::string> out;
    for (int i = 1;; ++i) {
      auto value = get(fmt::format("{}.member.{}", prefix, i));
      if (!value) return out;
      out.push_back(std::move(*value));
    }
  }
  // Whether any parameter's name starts with `prefix`.
  bool any_under(std::string_view prefix) const {
    for (const auto& [name, value] : request_.parameters) {
      if (name.starts_with(prefix)) return true;
    }
    return false;
  }
  std::vector<std::pair<std::string, std::string>> dimensions(std::string_view prefix) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 1;; ++i) {
      auto name = get(fmt::format("{}.member.{}.Name", prefix, i));
      if (!name) return out;
      out.emplace_back(std::move(*name),
                       get(fmt::format("{}.member.{}.Value", prefix, i)).value_or(""));
    }
  }

 private:
  const aws::QueryRequest& request_;
};

Result<std::int64_t> seconds_param(const Params& params, std::string_view name) {
  auto text = params.get(name);
  if (!text) return missing(name);
  auto time = aws::parse_iso8601(*text);
  if (!time) {
    return invalid_value(
        fmt::format("The parameter {} must be a timestamp, not '{}'.", name, *text));
  }
  return std::chrono::duration_cast<std::chrono::seconds>(time->time_since_epoch()).count();
}

// StartTime and EndTime, in order.
Result<std::pair<std::int64_t, std::int64_t>> time_range(const Params& params) {
  auto start = seconds_param(params, "StartTime");
  if (!start) return start.error();
  auto end = seconds_param(params, "EndTime");
  if (!end) return end.error();
  if (*end <= *start) {
    return invalid_value("The parameter StartTime must be less than the parameter EndTime.");
  }
  return std::pair{*start, *end};
}

Result<std::int64_t> period_param(std::optional<std::string> text, std::string_view name) {
  if (!text) return missing(name);
  std::int64_t period = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), period);
  if (ec != std::errc() || end != text->data() + text->size() || period < 60 || period % 60 != 0) {
    return invalid_value(fmt::format("The parameter {} must be a multiple of 60.", name));
  }
  return period;
}

std::string number(double value) {
  if (value == static_cast<double>(static_cast<std::int64_t>(value)) && std::abs(value) < 1e15) {
    return fmt::format("{}.0", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);
}

std::string iso(std::int64_t seconds) {
  return aws::format_iso8601(aws::WallTime(std::chrono::seconds(seconds)));
}

// One period's merged samples.
using Buckets = std::map<std::int64_t, ledger::MinuteStat>;

bool is_statistic(std::string_view stat) {
  return stat == "Sum" || stat == "Average" || stat == "SampleCount" || stat == "Minimum" ||
         stat == "Maximum";
}

// "p99", "p99.9", "p0" ... "p100": the percentile, or nullopt for anything else.
std::optional<double> percentile_of(std::string_view stat) {
  if (stat.size() < 2 || stat.size() > 14 || stat[0] != 'p') return std::nullopt;
  const std::string_view digits = stat.substr(1);
  if (!std::isdigit(static_cast<unsigned char>(digits.front())) ||
      !std::isdigit(static_cast<unsigned char>(digits.back())) ||
      std::count(digits.begin(), digits.end(), '.') > 1 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) {
        return c == '.' || std::isdigit(static_cast<unsigned char>(c));
      })) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value > 100) return std::nullopt;
  return value;
}

// A statistic of the ledger's samples, in the metric's unit: nullopt for a
// percentile of samples kept without their distribution.
std::optional<double> statistic(const ledger::MinuteStat& stat, std::string_view name,
                                double scale) {
  if (const auto p = percentile_of(name)) {
    const auto value = stat.percentile(*p);
    if (!value) return std::nullopt;
    return *value * scale;
  }
  if (name == "SampleCount") return static_cast<double>(stat.count);
  if (name == "Sum") return static_cast<double>(stat.sum) * scale;
  if (name == "Minimum") return static_cast<double>(stat.min) * scale;
  if (name == "Maximum") return static_cast<double>(stat.max) * scale;
  return static_cast<double>(stat.sum) * scale /
         static_cast<double>(std::max<std::int64_t>(1, stat.count));
}

double statistic(const Sample& sample, std::string_view name) {
  if (name == "SampleCount") return sample.count;
  if (name == "Sum") return sample.sum;
  if (name == "Minimum") return sample.min;
  if (name == "Maximum") return sample.max;
  return sample.sum / std::max(sample.count, 1e-300);
}

class CloudWatchServiceImpl final : public CloudWatchService {
 public:
  CloudWatchServiceImpl(storage::AsyncStore& store, ledger::Journal& journal,
                        std::unique_ptr<CustomMetrics> custom)
      : store_(store), journal_(journal), custom_(std::move(custom)) {
    descriptor_.name = "cloudwatch";
    descriptor_.signing_name = "monitoring";
    descriptor_.protocol = aws::Protocol::kQuery;
    descriptor_.max_request_bytes = 1024 * 1024;
  }

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }

  boost::asio::awaitable<net::HttpResponse> handle(const aws::RequestContext& context,
                                                   net::HttpRequest& request) override {
    auto decoded = aws::decode_query_request(request);
    if (!decoded) {
      co_return aws::error_response(descriptor_.protocol, decoded.error(), context.request_id);
    }
    const std::string action = decoded->action;
    if (action != "ListMetrics" && action != "GetMetricStatistics" && action != "GetMetricData" &&
        action != "PutMetricData") {
      const bool modelled = action.starts_with("Describe") ||
                            action.find("Alarm") != std::string::npos ||
                            action.find("Dashboard") != std::string::npos;
      AwsError error =
          modelled
              ? AwsError("NotImplemented", fmt::format("Nimbus does not implement {} yet.", action),
                         501)
              : AwsError("InvalidAction",
                         fmt::format("Could not find operation {} for version 2010-08-01", action),
                         400);
      co_return aws::error_response(descriptor_.protocol, error, context.request_id);
    }
    // The aggregates are read on a storage thread; the whole answer is made there.
    auto work = [this, &decoded](storage::Store& store) -> Result<std::string> {
      const Params params(*decoded);
      if (decoded->action == "PutMetricData") return put_metric_data(store, params);
      // Usage handed to the journal may not be written yet: written first,
      // so metrics read right after the work include it.
      journal_.flush();
      if (decoded->action == "ListMetrics") return list_metrics(store, params);
      if (decoded->action == "GetMetricStatistics") return get_metric_statistics(store, params);
      return get_metric_data(store, params);
    };
    auto result = co_await store_.run(std::move(work));
    if (!result) {
      co_return aws::error_response(descriptor_.protocol, result.error(), context.request_id);
    }
    co_return aws::query_response(action, kXmlns, *result, context.request_id);
  }

 private:
  // Samples of `metric` for the resource `dimensions` select (all when
  // none), merged into periods of `period` seconds from `start`.
  static Result<Buckets> collect(storage::Store& store, const MetricDef& metric,
                                 const std::vector<std::pair<std::string, std::string>>& dimensions,
                                 std::int64_t start, std::int64_t end, std::int64_t period) {
    Buckets buckets;
    const std::int64_t first = start - ((start % 60) + 60) % 60;
    if ((end - first) / period > kMaxDatapoints) {
      return invalid_value(
          fmt::format("You have requested up to {} datapoints, which exceeds the limit of {}.",
                      (end - first) / period, kMaxDatapoints));
    }
    if (metric.service == "apigateway") {
      return collect_api(store, metric, dimensions, first, end, period);
    }
    std::optional<std::string> resource;
    std::string source(!metric.account_source.empty() && dimensions.empty() ? metric.account_source
                                                                            : metric.source);
    if (metric.per_operation) {
      auto value_of = [&](std::string_view name) -> const std::string* {
        for (const auto& [dimension_name, value] : dimensions) {
          if (dimension_name == name) return &value;
        }
        return nullptr;
      };
      const std::string* table = value_of(metric.dimension);
      const std::string* operation = value_of(kOperationDimension);
      if (dimensions.size() != 2 || table == nullptr || operation == nullptr) {
        return buckets;  // published only with both
      }
      resource = *table;
      source += *operation;
    } else if (dimensions.size() > 1 && published_by_resource(metric)) {
      auto function = function_resource(dimensions);
      if (!function) return buckets;  // a dimension set this metric is not published with
      resource = std::move(function->first);
      source += function->second;
    } else if (dimensions.size() > 1 ||
               (dimensions.size() == 1 && dimensions[0].first != metric.dimension)) {
      return buckets;  // a dimension set this metric is not published with
    } else if (dimensions.size() == 1) {
      resource = dimensions[0].second;
    }
    auto minutes = ledger::Journal::read_minutely(store, metric.service, first, end);
    if (!minutes) return minutes.error();
    for (const auto& minute : *minutes) {
      if (minute.name != source) continue;
      if (resource && minute.resource != *resource) continue;
      const std::int64_t bucket = first + (minute.minute_start_s - first) / period * period;
      buckets[bucket].merge(minute.stat);
    }
    return buckets;
  }

  // An API Gateway metric's samples for one of the dimension sets it is
  // published with (api_dimensions): an HTTP API's by its id, REST APIs'
  // by the name they had in each minute; per stage with Stage.
  static Result<Buckets> collect_api(
      storage::Store& store, const MetricDef& metric,
      const std::vector<std::pair<std::string, std::string>>& dimensions, std::int64_t first,
      std::int64_t end, std::int64_t period) {
    Buckets buckets;
    const auto set = api_dimensions(dimensions);
    if (!set || (set->by_name && metric.api == MetricDef::Api::kHttp) ||
        (!set->by_name && metric.api == MetricDef::Api::kRest)) {
      return buckets;  // a dimension set this metric is not published with
    }
    std::string source =
        set->stage ? staged(metric.source, *set->stage) : std::string(metric.source);
    if (set->route) source = staged(source, *set->route);
    auto minutes = ledger::Journal::read_minutely(store, metric.service, first, end);
    if (!minutes) return minutes.error();
    // The minutes in which each API had the name asked for (by name), or
    // was a REST API (by id: REST APIs are not published by id).
    const std::string marker =
        set->by_name ? fmt::format("m:{}{}", ledger::meter::kApiGatewayApiName, set->api)
                     : fmt::format("m:{}", ledger::meter::kRestApiRequests);
    std::set<std::pair<std::int64_t, std::string_view>> marked;
    for (const auto& minute : *minutes) {
      if (minute.name == marker) marked.emplace(minute.minute_start_s, minute.resource);
    }
    for (const auto& minute : *minutes) {
      if (minute.name != source) continue;
      const bool is_marked = marked.contains({minute.minute_start_s, minute.resource});
      if (set->by_name ? !is_marked : (is_marked || minute.resource != set->api)) continue;
      const std::int64_t bucket = first + (minute.minute_start_s - first) / period * period;
      buckets[bucket].merge(minute.stat);
    }
    return buckets;
  }

  Result<std::string> put_metric_data(storage::Store& store, const Params& params) {
    auto ns = params.get("Namespace");
    if (!ns) return missing("Namespace");
    if (!valid_name(*ns, 255) || ns->starts_with("AWS/") || ns->front() == ':') {
      return invalid_value(fmt::format("The value {} for parameter Namespace is invalid.", *ns));
    }
    const auto now = now_seconds();
    std::vector<Datum> data;
    for (int i = 1;; ++i) {
      const std::string prefix = fmt::format("MetricData.member.{}", i);
      if (!params.any_under(prefix + ".")) {
        if (i == 1) return missing("MetricData");
        break;
      }
      if (i > kMaxMetricData) {
        return invalid_value(fmt::format(
            "The collection MetricData must not have a size greater than {}.", kMaxMetricData));
      }
      auto datum = parse_datum(params, prefix, now);
      if (!datum) return datum.error();
      datum->series.ns = *ns;
      data.push_back(std::move(*datum));
    }
    if (auto stored = custom_->put(store, data, now); !stored) return stored.error();
    return std::string();
  }

  static Result<Datum> parse_datum(const Params& params, const std::string& prefix,
                                   std::int64_t now) {
    Datum datum;
    auto name = params.get(prefix + ".MetricName");
    if (!name) return missing(prefix + ".MetricName");
    if (!valid_name(*name, 255)) {
      return invalid_value(
          fmt::format("The value {} for parameter {}.MetricName is invalid.", *name, prefix));
    }
    datum.series.name = *name;
    for (int d = 1;; ++d) {
      const std::string dimension = fmt::format("{}.Dimensions.member.{}", prefix, d);
      if (!params.any_under(dimension + ".")) break;
      if (d > kMaxDimensions) {
        return invalid_value(
            fmt::format("The collection {}.Dimensions must not have a size greater than {}.",
                        prefix, kMaxDimensions));
      }
      auto dimension_name = params.get(dimension + ".Name");
      if (!dimension_name) return missing(dimension + ".Name");
      auto dimension_value = params.get(dimension + ".Value");
      if (!dimension_value) return missing(dimension + ".Value");
      if (!valid_name(*dimension_name, 255) || dimension_name->front() == ':') {
        return invalid_value(fmt::format("The value {} for parameter {}.Name is invalid.",
                                         *dimension_name, dimension));
      }
      if (!valid_name(*dimension_value, 1024)) {
        return invalid_value(fmt::format("The value {} for parameter {}.Value is invalid.",
                                         *dimension_value, dimension));
      }
      datum.series.dimensions.emplace_back(std::move(*dimension_name), std::move(*dimension_value));
    }
    std::sort(datum.series.dimensions.begin(), datum.series.dimensions.end());
    for (std::size_t d = 1; d < datum.series.dimensions.size(); ++d) {
      if (datum.series.dimensions[d].first == datum.series.dimensions[d - 1].first) {
        return invalid_value(
            fmt::format("No metric may have duplicate dimension names: {}.Dimensions has {} twice.",
                        prefix, datum.series.dimensions[d].first));
      }
    }

    datum.time_s = now;
    if (auto timestamp = params.get(prefix + ".Timestamp")) {
      auto time = aws::parse_iso8601(*timestamp);
      if (!time) {
        return invalid_value(
            fmt::format("The value {} for parameter {}.Timestamp is invalid.", *timestamp, prefix));
      }
      datum.time_s =
          std::chrono::duration_cast<std::chrono::seconds>(time->time_since_epoch()).count();
      if (!within_datum_window(datum.time_s, now)) {
        return invalid_value(fmt::format(
            "The parameter {}.Timestamp must specify a time no more than two weeks in the past "
            "and no more than two hours in the future.",
            prefix));
      }
    }
    if (auto unit = params.get(prefix + ".Unit")) {
      if (!is_standard_unit(*unit)) {
        return invalid_value(
            fmt::format("The value {} for parameter {}.Unit is invalid.", *unit, prefix));
      }
      datum.unit = *unit;
    }

    const auto value = params.get(prefix + ".Value");
    const bool statistics = params.any_under(prefix + ".StatisticValues.");
    const bool values = params.any_under(prefix + ".Values.");
    if (value && statistics) {
      return AwsError("InvalidParameterCombination",
                      fmt::format("The parameters {0}.Value and {0}.StatisticValues are mutually "
                                  "exclusive and you have specified both.",
                                  prefix),
                      400);
    }
    if ((value || statistics) && values) {
      return AwsError("InvalidParameterCombination",
                      fmt::format("The parameters {0}.Values and {0}.Value or {0}.StatisticValues "
                                  "are mutually exclusive and you have specified both.",
                                  prefix),
                      400);
    }
    if (value) {
      auto number = datapoint(*value, prefix + ".Value");
      if (!number) return number.error();
      datum.sample = Sample{1, *number, *number, *number};
    } else if (statistics) {
      const std::string set = prefix + ".StatisticValues";
      double fields[4];
      const char* names[] = {"SampleCount", "Sum", "Minimum", "Maximum"};
      for (int f = 0; f < 4; ++f) {
        const std::string field = fmt::format("{}.{}", set, names[f]);
        auto text = params.get(field);
        if (!text) return missing(field);
        auto number = datapoint(*text, field);
        if (!number) return number.error();
        fields[f] = *number;
      }
      if (fields[0] <= 0 || fields[2] > fields[3]) {
        return invalid_value(fmt::format("The parameter {} is not a valid statistic set.", set));
      }
      datum.sample = Sample{fields[0], fields[1], fields[2], fields[3]};
    } else if (values) {
      const auto listed = params.members(prefix + ".Values");
      const auto counts = params.members(prefix + ".Counts");
      if (listed.size() > kMaxValues) {
        return invalid_value(fmt::format(
            "The collection {}.Values must not have a size greater than {}.", prefix, kMaxValues));
      }
      if (!counts.empty() && counts.size() != listed.size()) {
        return invalid_value(fmt::format(
            "The parameters {0}.Values and {0}.Counts must be of the same size.", prefix));
      }
      for (std::size_t v = 0; v < listed.size(); ++v) {
        auto number = datapoint(listed[v], fmt::format("{}.Values.member.{}", prefix, v + 1));
        if (!number) return number.error();
        double count = 1;
        if (!counts.empty()) {
          auto parsed = datapoint(counts[v], fmt::format("{}.Counts.member.{}", prefix, v + 1));
          if (!parsed) return parsed.error();
          count = *parsed;
          if (count < 0) {
            return invalid_value(
                fmt::format("The value {} for parameter {}.Counts.member.{} is "
                            "invalid.",
                            counts[v], prefix, v + 1));
          }
        }
        if (count == 0) continue;
        datum.sample.merge(Sample{count, *number * count, *number, *number});
      }
    } else {
      return AwsError("InvalidParameterCombination",
                      fmt::format("At least one of the parameters {0}.Value and "
                                  "{0}.StatisticValues must be specified.",
                                  prefix),
                      400);
    }
    return datum;
  }

  Result<std::string> get_metric_statistics(storage::Store& store, const Params& params) {
    auto ns = params.get("Namespace");
    if (!ns) return missing("Namespace");
    auto name = params.get("MetricName");
    if (!name) return missing("MetricName");
    auto range = time_range(params);
    if (!range) return range.error();
    const auto [start, end] = *range;
    auto period = period_param(params.get("Period"), "Period");
    if (!period) return period.error();
    const auto statistics = params.members("Statistics");
    const auto extended = params.members("ExtendedStatistics");
    if (statistics.empty() && extended.empty()) {
      return AwsError("InvalidParameterCombination",
                      "Must specify either Statistics or ExtendedStatistics, but not both.", 400);
    }
    for (const auto& stat : statistics) {
      if (!is_statistic(stat)) {
        return invalid_value(
            fmt::format("The parameter Statistics contains '{}', which is not "
                        "one of Average, Sum, SampleCount, Maximum, Minimum.",
                        stat));
      }
    }
    if (!statistics.empty() && !extended.empty()) {
      return AwsError("InvalidParameterCombination",
                      "Must specify either Statistics or ExtendedStatistics, but not both.", 400);
    }
    if (extended.size() > 10) {
      return invalid_value(
          "The collection ExtendedStatistics must not have a size greater than 10.");
    }
    for (const auto& stat : extended) {
      if (!percentile_of(stat)) {
        return invalid_value(fmt::format(
            "The value {} for parameter ExtendedStatistics is not a percentile (p0.0 to p100).",
            stat));
      }
    }
    const auto* metric = find_metric(*ns, *name);
    if (!extended.empty() && metric == nullptr && !ns->starts_with("AWS/")) {
      return custom_percentiles_refused("");
    }
    aws::XmlWriter out;
    out.element("Label", *name).open("Datapoints");
    if (metric != nullptr) {
      auto buckets = collect(store, *metric, params.dimensions("Dimensions"), start, end, *period);
      if (!buckets) return buckets.error();
      for (const auto& [bucket, stat] : *buckets) {
        if (stat.count == 0) continue;
        out.open("member").element("Timestamp", iso(bucket));
        for (const auto& statistic_name : statistics) {
          out.element(statistic_name,
                      number(statistic(stat, statistic_name, metric->scale).value_or(0)));
        }
        if (!extended.empty()) {
          out.open("ExtendedStatistics");
          for (const auto& percentile : extended) {
            if (const auto value = statistic(stat, percentile, metric->scale)) {
              out.open("entry").element("key", percentile).element("value", number(*value)).close();
            }
          }
          out.close();
        }
        out.element("Unit", metric->unit).close();
      }
    } else if (!ns->starts_with("AWS/")) {
      auto custom =
          collect_custom(store, *ns, *name, params.dimensions("Dimensions"), start, end, *period);
      if (!custom) return custom.error();
      for (const auto& [bucket, sample] : custom->periods) {
        if (sample.count <= 0) continue;
        out.open("member").element("Timestamp", iso(bucket));
        for (const auto& statistic_name : statistics) {
          out.element(statistic_name, number(statistic(sample, statistic_name)));
        }
        out.element("Unit", custom->unit).close();
      }
    }
    out.close();
    return out.finish();
  }

  // A published metric's samples: the series the dimensions name exactly.
  struct CustomPeriods {
    std::map<std::int64_t, Sample> periods;
    std::string unit = "None";
  };
  Result<CustomPeriods> collect_custom(storage::Store& store, const std::string& ns,
                                       const std::string& name,
                                       std::vector<std::pair<std::string, std::string>> dimensions,
                                       std::int64_t start, std::int64_t end, std::int64_t period) {
    const std::int64_t first = start - ((start % 60) + 60) % 60;
    if ((end - first) / period > kMaxDatapoints) {
      return invalid_value(
          fmt::format("You have requested up to {} datapoints, which exceeds the limit of {}.",
                      (end - first) / period, kMaxDatapoints));
    }
    std::sort(dimensions.begin(), dimensions.end());
    CustomPeriods out;
    auto periods = custom_->collect(store, Series{ns, name, std::move(dimensions)}, first, end,
                                    period, &out.unit);
    if (!periods) return periods.error();
    out.periods = std::move(*periods);
    return out;
  }

  // One of GetMetricData's queries: a metric's statistic or an expression.
  struct DataQuery {
    std::string id;
    std::string prefix;  // "MetricDataQueries.member.N"
    std::optional<std::string> label;
    bool return_data = true;
    std::optional<MathExpression> math;
    // A MetricStat's:
    std::string ns;
    std::string name;
    std::string stat;
    const MetricDef* metric = nullptr;
    std::int64_t period = 60;
  };

  Result<DataQuery> parse_data_query(const Params& params, const std::string& query,
                                     std::string id) {
    DataQuery parsed;
    parsed.id = std::move(id);
    parsed.prefix = query;
    parsed.label = params.get(query + ".Label");
    parsed.return_data = params.get(query + ".ReturnData").value_or("true") != "false";
    if (parsed.id.empty() || !std::islower(static_cast<unsigned char>(parsed.id[0])) ||
        !std::all_of(parsed.id.begin(), parsed.id.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        })) {
      return AwsError("ValidationError",
                      fmt::format("Invalid metric data query id {}: an id starts with a lowercase "
                                  "letter and holds only letters, digits and underscores.",
                                  parsed.id),
                      400);
    }
    if (auto expression = params.get(query + ".Expression")) {
      auto math = MathExpression::parse(*expression);
      if (!math) {
        return AwsError(
            "ValidationError",
            fmt::format("Error in expression {}: {}", parsed.id, math.error().message()), 400);
      }
      parsed.math = std::move(*math);
      if (auto period = params.get(query + ".Period")) {
        auto valid = period_param(period, query + ".Period");
        if (!valid) return valid.error();
        parsed.period = *valid;
      }
      return parsed;
    }
    const std::string stat_prefix = query + ".MetricStat";
    auto ns = params.get(stat_prefix + ".Metric.Namespace");
    auto name = params.get(stat_prefix + ".Metric.MetricName");
    auto stat = params.get(stat_prefix + ".Stat");
    if (!ns || !name || !stat) return missing(stat_prefix);
    const bool percentile = percentile_of(*stat).has_value();
    if (!is_statistic(*stat) && !percentile) {
      return invalid_value(fmt::format(
          "The value {} for parameter {}.Stat is not supported by Nimbus (Average, Sum, "
          "SampleCount, Maximum, Minimum, and percentiles p0 to p100).",
          *stat, stat_prefix));
    }
    parsed.metric = find_metric(*ns, *name);
    if (percentile && parsed.metric == nullptr && !ns->starts_with("AWS/")) {
      return custom_percentiles_refused(stat_prefix + ".Stat");
    }
    auto period = period_param(params.get(stat_prefix + ".Period"), stat_prefix + ".Period");
    if (!period) return period.error();
    parsed.ns = std::move(*ns);
    parsed.name = std::move(*name);
    parsed.stat = std::move(*stat);
    parsed.period = *period;
    return parsed;
  }

  // A MetricStat query's datapoints, in time order.
  Result<TimeSeries> metric_series(storage::Store& store, const Params& params,
                                   const DataQuery& query, std::int64_t start, std::int64_t end) {
    TimeSeries series;
    series.label = query.label.value_or(query.name);
    const auto dimensions = params.dimensions(query.prefix + ".MetricStat.Metric.Dimensions");
    if (query.metric != nullptr) {
      auto buckets = collect(store, *query.metric, dimensions, start, end, query.period);
      if (!buckets) return buckets.error();
      for (const auto& [bucket, samples] : *buckets) {
        if (samples.count == 0) continue;
        if (const auto value = statistic(samples, query.stat, query.metric->scale)) {
          series.points.emplace_back(bucket, *value);
        }
      }
    } else if (!query.ns.starts_with("AWS/")) {
      auto custom =
          collect_custom(store, query.ns, query.name, dimensions, start, end, query.period);
      if (!custom) return custom.error();
      for (const auto& [bucket, sample] : custom->periods) {
        if (sample.count > 0) series.points.emplace_back(bucket, statistic(sample, query.stat));
      }
    }
    return series;
  }

  Result<std::string> get_metric_data(storage::Store& store, const Params& params) {
    auto range = time_range(params);
    if (!range) return range.error();
    // Named, not a structured binding: captured by the resolver below.
    const std::int64_t start = range->first;
    const std::int64_t end = range->second;
    const bool ascending = params.get("ScanBy").value_or("") == "TimestampAscending";
    std::vector<DataQuery> queries;
    std::map<std::string, std::size_t, std::less<>> by_id;
    for (int i = 1;; ++i) {
      const std::string query = fmt::format("MetricDataQueries.member.{}", i);
      auto id = params.get(query + ".Id");
      if (!id) {
        if (i == 1) return missing("MetricDataQueries");
        break;
      }
      if (i > 500) {
        return invalid_value(
            "The collection MetricDataQueries must not have a size greater "
            "than 500.");
      }
      auto parsed = parse_data_query(params, query, std::move(*id));
      if (!parsed) return parsed.error();
      if (!by_id.emplace(parsed->id, queries.size()).second) {
        return AwsError("ValidationError",
                        fmt::format("The metric data query id {} is used twice.", parsed->id), 400);
      }
      queries.push_back(std::move(*parsed));
    }

    // Expressions read other queries' results: each is computed once, when
    // first needed; a cycle is an error.
    MathContext context;
    std::int64_t grid_period = 0;
    for (const auto& query : queries) {
      if (query.math) continue;
      context.metric_queries.emplace_back(query.id, query.label.value_or(query.name));
      grid_period = grid_period == 0 ? query.period : std::min(grid_period, query.period);
    }
    if (grid_period == 0) grid_period = queries.front().period;
    const std::int64_t first = start - ((start % 60) + 60) % 60;
    for (std::int64_t t = first; t < end && context.grid.size() < kMaxDatapoints;
         t += grid_period) {
      context.grid.push_back(t);
    }
    std::map<std::string, std::vector<TimeSeries>, std::less<>> results;
    std::set<std::string, std::less<>> computing;
    std::function<Result<std::vector<TimeSeries>>(std::string_view)> result_of =
        [&](std::string_view id) -> Result<std::vector<TimeSeries>> {
      if (auto done = results.find(id); done != results.end()) return done->second;
      const auto found = by_id.find(id);
      if (found == by_id.end()) {
        return AwsError("ValidationError",
                        fmt::format("The expression refers to {}, which is no query's id.", id),
                        400);
      }
      const DataQuery& query = queries[found->second];
      if (!computing.insert(query.id).second) {
        return AwsError("ValidationError",
                        fmt::format("Circular dependency between queries at {}.", query.id), 400);
      }
      std::vector<TimeSeries> computed;
      if (query.math) {
        auto evaluated = query.math->evaluate(context);
        if (!evaluated) {
          return AwsError(
              "ValidationError",
              fmt::format("Error in expression {}: {}", query.id, evaluated.error().message()),
              400);
        }
        computed = std::move(*evaluated);
        if (computed.size() == 1) computed[0].label = query.label.value_or(query.id);
      } else {
        auto series = metric_series(store, params, query, start, end);
        if (!series) return series.error();
        computed.push_back(std::move(*series));
      }
      computing.erase(query.id);
      return results.emplace(query.id, std::move(computed)).first->second;
    };
    context.series = result_of;

    aws::XmlWriter out;
    out.open("MetricDataResults");
    for (const auto& query : queries) {
      if (!query.return_data) continue;
      auto computed = result_of(query.id);
      if (!computed) return computed.error();
      for (auto series : *computed) {
        if (!ascending) std::reverse(series.points.begin(), series.points.end());
        out.open("member").element("Id", query.id).element("Label", series.label);
        out.open("Timestamps");
        for (const auto& point : series.points) out.element("member", iso(point.first));
        out.close().open("Values");
        for (const auto& point : series.points) out.element("member", number(point.second));
        out.close().element("StatusCode", "Complete").close();
      }
    }
    out.close();
    return out.finish();
  }

  Result<std::string> list_metrics(storage::Store& store, const Params& params) {
    const auto ns = params.get("Namespace");
    const auto name = params.get("MetricName");
    const auto filters = params.dimensions("Dimensions");
    const auto now = now_seconds();
    // What was published in the retention window: resources per service,
    // and which APIs are REST APIs. The hourly counters say it with 60
    // times fewer keys than the minute aggregates.
    // service -> resource -> the meters it has counters of
    std::map<std::string, std::map<std::string, std::set<std::string>>> resources;
    std::set<std::string> rest_apis;
    auto hours =
        ledger::Journal::read_hourly(store, now - ledger::Journal::kMinutelyRetentionS, now + 3600);
    if (!hours) return hours.error();
    for (const auto& hour : *hours) {
      resources[hour.service][hour.resource].insert(hour.meter);
      if (hour.meter == ledger::meter::kRestApiRequests) rest_apis.insert(hour.resource);
    }
    aws::XmlWriter out;
    out.open("Metrics");
    auto member = [&out](const MetricDef& metric,
                         const std::vector<std::pair<std::string_view, std::string_view>>& dims) {
      out.open("member")
          .element("Namespace", metric.ns)
          .element("MetricName", metric.name)
          .open("Dimensions");
      for (const auto& [dimension_name, value] : dims) {
        out.open("member").element("Name", dimension_name).element("Value", value).close();
      }
      out.close().close();
    };
    for (const auto& metric : kMetrics) {
      if (ns && *ns != metric.ns) continue;
      if (name && *name != metric.name) continue;
      const auto& published = resources[std::string(metric.service)];
      // Lambda's metrics are also published for the whole account, without dimensions.
      if (metric.service == "lambda" && !metric.dimension.empty() && !published.empty() &&
          filters.empty()) {
        member(metric, {});
      }
      if (metric.dimension.empty()) {
        const bool counted = std::any_of(published.begin(), published.end(), [&](const auto& r) {
          return r.second.contains(std::string(metric.listed_by));
        });
        if (counted && filters.empty()) member(metric, {});
        continue;
      }
      if (metric.service == "apigateway") {
        list_api_metrics(metric, published, rest_apis, filters, member);
        continue;
      }
      if (metric.per_operation) {
        for (const auto& published_resource : published) {
          // Named, not a structured binding: captured by the lambda below.
          const std::string& resource = published_resource.first;
          for (const auto& meter : published_resource.second) {
            if (!meter.starts_with(metric.listed_by)) continue;
            const std::string_view operation =
                std::string_view(meter).substr(metric.listed_by.size());
            const bool matches = std::all_of(filters.begin(), filters.end(), [&](const auto& f) {
              const std::string_view value =
                  f.first == metric.dimension
                      ? std::string_view(resource)
                      : (f.first == kOperationDimension ? operation : std::string_view());
              return (f.first == metric.dimension || f.first == kOperationDimension) &&
                     (f.second.empty() || f.second == value);
            });
            if (matches) {
              member(metric, {{kOperationDimension, operation},
                              {metric.dimension, std::string_view(resource)}});
            }
          }
        }
        continue;
      }
      // Each filter (a name, and a value unless empty) names one of the
      // set's dimensions.
      auto offer = [&](const std::vector<std::pair<std::string_view, std::string_view>>& dims) {
        for (const auto& [filter_name, filter_value] : filters) {
          const auto it = std::find_if(dims.begin(), dims.end(),
                                       [&](const auto& d) { return d.first == filter_name; });
          if (it == dims.end() || (!filter_value.empty() && filter_value != it->second)) return;
        }
        member(metric, dims);
      };
      for (const auto& [resource, meters] : published) {
        if (resource.empty()) continue;  // the account's own records
        if (!metric.listed_by.empty() && !meters.contains(std::string(metric.listed_by))) continue;
        offer({{metric.dimension, std::string_view(resource)}});
        if (published_by_resource(metric)) list_function_resources(resource, meters, offer);
      }
    }
    // Published with PutMetricData in the last two weeks, as ListMetrics lists.
    auto series = custom_->list(store, now - kTwoWeeksS);
    if (!series) return series.error();
    for (const auto& published : *series) {
      const Series& metric = published.series;
      if (ns && *ns != metric.ns) continue;
      if (name && *name != metric.name) continue;
      bool matches = true;
      for (const auto& filter : filters) {
        const auto it = std::find_if(metric.dimensions.begin(), metric.dimensions.end(),
                                     [&](const auto& d) { return d.first == filter.first; });
        matches = matches && it != metric.dimensions.end() &&
                  (filter.second.empty() || filter.second == it->second);
      }
      if (!matches) continue;
      out.open("member")
          .element("Namespace", metric.ns)
          .element("MetricName", metric.name)
          .open("Dimensions");
      for (const auto& [dimension_name, dimension_value] : metric.dimensions) {
        out.open("member")
            .element("Name", dimension_name)
            .element("Value", dimension_value)
            .close();
      }
      out.close().close();
    }
    out.close();
    return out.finish();
  }

  // ListMetrics' {FunctionName, Resource} and {FunctionName, Resource,
  // ExecutedVersion} sets of one function: the qualifiers (and, for
  // aliases, versions run) its invocations' or throttles' counters name.
  template <class Offer>
  static void list_function_resources(const std::string& function,
                                      const std::set<std::string>& meters, Offer& offer) {
    std::set<std::pair<std::string_view, std::optional<std::string_view>>> sets;
    for (const std::string_view counted :
         {ledger::meter::kLambdaRequests, ledger::meter::kLambdaThrottles}) {
      const std::string prefix = std::string(counted) + ledger::meter::kLambdaQualifierSeparator;
      for (auto it = meters.lower_bound(prefix); it != meters.end() && it->starts_with(prefix);
           ++it) {
        // "<qualifier>" or "<alias>/<version>"
        const std::string_view after = std::string_view(*it).substr(prefix.size());
        const auto slash = after.find(ledger::meter::kLambdaQualifierSeparator);
        if (slash == std::string_view::npos) {
          sets.emplace(after, std::nullopt);
        } else {
          sets.emplace(after.substr(0, slash), after.substr(slash + 1));
        }
      }
    }
    for (const auto& [qualifier, version] : sets) {
      const std::string resource =
          qualifier.empty() ? function : fmt::format("{}:{}", function, qualifier);
      if (version) {
        offer({{"FunctionName", function}, {"Resource", resource}, {"ExecutedVersion", *version}});
      } else {
        offer({{"FunctionName", function}, {"Resource", resource}});
      }
    }
  }

  // ListMetrics' members for an API Gateway metric: each API's dimension
  // sets (api_dimensions) that `filters` (name, and value if not empty)
  // all match, from the meters its hourly counters name.
  template <class Member>
  static void list_api_metrics(const MetricDef& metric,
                               const std::map<std::string, std::set<std::string>>& published,
                               const std::set<std::string>& rest_apis,
                               const std::vector<std::pair<std::string, std::string>>& filters,
                               Member& member) {
    const std::string stage_prefix =
        staged(ledger::meter::kApiGatewayRequests, "");  // "apigateway.requests/"
    for (const auto& [resource, meters] : published) {
      // APIs that served requests (usage plans' quota counters are
      // apigateway's too).
      if (!meters.contains(std::string(ledger::meter::kApiGatewayRequests))) continue;
      const bool is_rest = rest_apis.contains(resource);
      if ((metric.api == MetricDef::Api::kHttp && is_rest) ||
          (metric.api == MetricDef::Api::kRest && !is_rest)) {
        continue;
      }
      std::vector<std::string_view> stages;
      std::vector<std::pair<std::string_view, std::string_view>> routes;  // stage, route key
      std::vector<std::string_view> apis;
      for (const auto& meter : meters) {
        if (meter.starts_with(stage_prefix)) {
          // "<stage>" or, with detailed metrics, "<stage>/<route key>".
          const std::string_view after = std::string_view(meter).substr(stage_prefix.size());
          const auto slash = after.find(ledger::meter::kApiGatewayStageSeparator);
          if (slash == std::string_view::npos) {
            stages.push_back(after);
          } else {
            routes.emplace_back(after.substr(0, slash), after.substr(slash + 1));
          }
        } else if (is_rest && meter.starts_with(ledger::meter::kApiGatewayApiName)) {
          apis.push_back(std::string_view(meter).substr(ledger::meter::kApiGatewayApiName.size()));
        }
      }
      if (!is_rest) apis.push_back(resource);
      const std::string_view api_dimension = is_rest ? "ApiName" : "ApiId";
      auto offer = [&](std::string_view api, std::optional<std::string_view> stage,
                       std::optional<std::string_view> route) {
        // A REST API's detailed metrics are kept as "<METHOD> <resource path>".
        std::optional<std::string_view> method, resource;
        if (route && is_rest) {
          const auto space = route->find(' ');
          if (space == std::string_view::npos) return;
          method = route->substr(0, space);
          resource = route->substr(space + 1);
        }
        for (const auto& [filter_name, filter_value] : filters) {
          std::optional<std::string_view> value;
          if (filter_name == api_dimension) value = api;
          if (filter_name == "Stage") value = stage;
          if (filter_name == "Route" && !is_rest) value = route;
          if (filter_name == "Method") value = method;
          if (filter_name == "Resource") value = resource;
          if (!value || (!filter_value.empty() && filter_value != *value)) return;
        }
        if (method) {
          member(metric, {{api_dimension, api},
                          {"Method", *method},
                          {"Resource", *resource},
                          {"Stage", *stage}});
        } else if (route) {
          member(metric, {{api_dimension, api}, {"Route", *route}, {"Stage", *stage}});
        } else if (stage) {
          member(metric, {{api_dimension, api}, {"Stage", *stage}});
        } else {
          member(metric, {{api_dimension, api}});
        }
      };
      for (const auto api : apis) {
        offer(api, std::nullopt, std::nullopt);
        for (const auto stage : stages) offer(api, stage, std::nullopt);
        for (const auto& [stage, route] : routes) offer(api, stage, route);
      }
    }
  }

  // Embedded metric format: datums from functions' log lines, queued on
  // the logging thread and stored once a second by this service's thread.
  void observe(std::string_view group, std::string_view message) {
    if (!group.starts_with("/aws/lambda/")) return;
    auto found = parse_embedded_metrics(message);
    if (found.empty()) return;
    std::lock_guard lock(embedded_mutex_);
    embedded_.insert(embedded_.end(), std::make_move_iterator(found.begin()),
                     std::make_move_iterator(found.end()));
  }

  void store_embedded() {
    std::vector<Datum> datums;
    {
      std::lock_guard lock(embedded_mutex_);
      datums.swap(embedded_);
    }
    if (datums.empty()) return;
    const auto now = now_seconds();
    // Outside the window PutMetricData refuses: dropped.
    std::erase_if(datums,
                  [now](const Datum& datum) { return !within_datum_window(datum.time_s, now); });
    if (auto stored = custom_->put(store_.store(), datums, now); !stored) {
      spdlog::warn("cloudwatch: cannot store {} embedded metric values: {}", datums.size(),
                   stored.error().message());
    }
  }

  void run_embedded() {
    std::unique_lock lock(embedded_mutex_);
    while (!stopping_) {
      embedded_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      lock.unlock();
      store_embedded();
      lock.lock();
    }
  }

 public:
  void start_reading_logs() {
    embedded_thread_ = std::thread([this] { run_embedded(); });
    journal_.set_log_observer(
        [this](std::string_view group, std::string_view message) { observe(group, message); });
  }

  void stop() override {
    {
      std::lock_guard lock(embedded_mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    journal_.set_log_observer(nullptr);
    embedded_wake_.notify_all();
    if (embedded_thread_.joinable()) embedded_thread_.join();
    store_embedded();
  }

  ~CloudWatchServiceImpl() override { stop(); }

 private:
  storage::AsyncStore& store_;
  ledger::Journal& journal_;
  std::unique_ptr<CustomMetrics> custom_;
  aws::ServiceDescriptor descriptor_;

  std::mutex embedded_mutex_;
  std::condition_variable embedded_wake_;
  bool stopping_ = false;
  std::vector<Datum> embedded_;
  std::thread embedded_thread_;
};

}  // namespace

Result<std::unique_ptr<CloudWatchService>> CloudWatchService::start(storage::AsyncStore& store,
                                                                    ledger::Journal& journal) {
  auto custom = CustomMetrics::open(store.store());
  if (!custom) return custom.error();
  auto service = std::make_unique<CloudWatchServiceImpl>(store, journal, std::move(*custom));
  service->start_reading_logs();
  return std::unique_ptr<CloudWatchService>(std::move(service));
}

}  // namespace nimbus::services::cloudwatch
