#include "nimbus/ledger/metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"

namespace nimbus::ledger {
namespace {

// How a service's resources are labelled.
std::string_view resource_label(std::string_view service) {
  if (service == "lambda") return "function";
  if (service == "apigateway") return "api";
  if (service == "dynamodb") return "table";
  return "resource";
}

// Counters: a meter's running sum as a Prometheus counter.
struct CounterName {
  std::string_view meter;
  std::string_view name;
  std::string_view help;
  double scale;                  // recorded unit -> exported unit
  std::string_view extra_label;  // "name=\"value\"" or empty
};

constexpr CounterName kCounters[] = {
    {meter::kLambdaRequests, "nimbus_lambda_invocations_total", "Function invocations.", 1, ""},
    {meter::kLambdaErrors, "nimbus_lambda_errors_total",
     "Invocations that failed: function errors, timeouts, crashes, init failures.", 1, ""},
    {meter::kLambdaColdStarts, "nimbus_lambda_cold_starts_total",
     "Invocations that started an instance.", 1, ""},
    {meter::kLambdaBilledMs, "nimbus_lambda_billed_duration_seconds_total",
     "Billed duration (rounded up to the millisecond).", 0.001, ""},
    {meter::kLambdaComputeX86, "nimbus_lambda_gb_seconds_total",
     "Billed duration times configured memory.", 1.0 / 1'024'000, "architecture=\"x86_64\""},
    {meter::kLambdaComputeArm, "nimbus_lambda_gb_seconds_total",
     "Billed duration times configured memory.", 1.0 / 1'024'000, "architecture=\"arm64\""},
    {meter::kApiGateway4xx, "nimbus_apigateway_4xx_total", "Requests answered 4xx.", 1, ""},
    {meter::kApiGateway5xx, "nimbus_apigateway_5xx_total", "Requests answered 5xx.", 1, ""},
    {meter::kApiGatewayBytes, "nimbus_apigateway_bytes_total", "Request and response body bytes.",
     1, ""},
    // Metered once a second, so these trail the requests by up to a second.
    {meter::kDynamoDbReadUnits, "nimbus_dynamodb_consumed_read_capacity_units_total",
     "Read capacity units consumed.", 0.5, ""},
    {meter::kDynamoDbWriteUnits, "nimbus_dynamodb_consumed_write_capacity_units_total",
     "Write capacity units consumed.", 1, ""},
};

struct HistogramName {
  std::string_view observation;
  std::string_view name;
  std::string_view help;
};

constexpr HistogramName kHistograms[] = {
    {observation::kLambdaDuration, "nimbus_lambda_duration_seconds",
     "Invocation duration, from the event's delivery to the answer."},
    {observation::kLambdaInitDuration, "nimbus_lambda_init_duration_seconds",
     "Instance init duration, on cold starts."},
    {observation::kApiGatewayLatency, "nimbus_apigateway_latency_seconds",
     "Time from a request's arrival to its response, integration included."},
    {observation::kApiGatewayIntegrationLatency, "nimbus_apigateway_integration_latency_seconds",
     "Time from relaying a request to its integration to the integration's answer."},
};

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);
}

}  // namespace

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusWriter::sample(std::string_view name, std::string_view labels, double value) {
  if (labels.empty()) {
    out_ += fmt::format("{} {}\n", name, number(value));
  } else {
    out_ += fmt::format("{}{{{}}} {}\n", name, labels, number(value));
  }
}

void PrometheusWriter::single(std::string_view name, std::string_view type, std::string_view help,
                              double value) {
  family(name, type, help);
  sample(name, "", value);
}

std::string PrometheusWriter::label(std::string_view name, std::string_view value) {
  std::string out = fmt::format("{}=\"", name);
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

namespace {

// The entry named `name`, looked for first where position `i` found it last.
template <class Map>
typename Map::iterator find_or_add(Map& map, std::vector<typename Map::iterator>& at, std::size_t i,
                                   std::string_view name) {
  if (i < at.size() && at[i]->first == name) return at[i];
  auto it = map.find(name);
  if (it == map.end()) it = map.emplace(std::string(name), typename Map::mapped_type{}).first;
  if (i >= at.size()) at.resize(i + 1, it);
  at[i] = it;
  return it;
}

}  // namespace

void Metrics::record(const Usage& usage) {
  std::lock_guard lock(mutex_);
  auto found = series_.find(ByServiceAndResource::View{usage.service, usage.resource});
  if (found == series_.end()) {
    found = series_.emplace(std::pair{usage.service, usage.resource}, Series{}).first;
  }
  auto& series = found->second;
  ++series.records;
  for (std::size_t i = 0; i < usage.quantities.size(); ++i) {
    const auto& [meter_name, amount] = usage.quantities[i];
    find_or_add(series.counters, series.counter_at, i, meter_name)->second += amount;
  }
  for (std::size_t i = 0; i < usage.observations.size(); ++i) {
    const auto& [name, seconds] = usage.observations[i];
    auto& histogram = find_or_add(series.histograms, series.histogram_at, i, name)->second;
    const auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
    if (bucket != kBuckets.end()) ++histogram.buckets[bucket - kBuckets.begin()];
    ++histogram.count;
    histogram.sum += seconds;
  }
}

void Metrics::write(PrometheusWriter& out) const {
  std::lock_guard lock(mutex_);
  // Requests per API, counted by record (HTTP APIs bill per 512 KB).
  out.family("nimbus_apigateway_requests_total", "counter", "Requests served by each API.");
  for (const auto& [key, series] : series_) {
    if (key.first != "apigateway") continue;
    std::string labels = PrometheusWriter::label("api", key.second);
    const bool rest = series.counters.contains(meter::kRestApiRequests);
    labels += "," + PrometheusWriter::label("type", rest ? "REST" : "HTTP");
    out.sample("nimbus_apigateway_requests_total", labels, static_cast<double>(series.records));
  }
  std::string_view previous;
  for (const auto& counter : kCounters) {
    if (counter.name != previous) out.family(counter.name, "counter", counter.help);
    previous = counter.name;
    for (const auto& [key, series] : series_) {
      auto it = series.counters.find(counter.meter);
      if (it == series.counters.end()) continue;
      std::string labels = PrometheusWriter::label(resource_label(key.first), key.second);
      if (!counter.extra_label.empty()) labels += "," + std::string(counter.extra_label);
      out.sample(counter.name, labels, static_cast<double>(it->second) * counter.scale);
    }
  }
  for (const auto& histogram_name : kHistograms) {
    out.family(histogram_name.name, "histogram", histogram_name.help);
    const std::string bucket_name = std::string(histogram_name.name) + "_bucket";
    for (const auto& [key, series] : series_) {
      auto it = series.histograms.find(histogram_name.observation);
      if (it == series.histograms.end()) continue;
      const auto& histogram = it->second;
      const std::string resource = PrometheusWriter::label(resource_label(key.first), key.second);
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += histogram.buckets[i];
        out.sample(bucket_name, resource + ",le=\"" + number(kBuckets[i]) + "\"",
                   static_cast<double>(cumulative));
      }
      out.sample(bucket_name, resource + ",le=\"+Inf\"", static_cast<double>(histogram.count));
      out.sample(std::string(histogram_name.name) + "_sum", resource, histogram.sum);
      out.sample(std::string(histogram_name.name) + "_count", resource,
                 static_cast<double>(histogram.count));
    }
  }
}

}  // namespace nimbus::ledger
