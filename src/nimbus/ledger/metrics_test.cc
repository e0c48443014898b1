#include "nimbus/ledger/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"

namespace nimbus::ledger {
namespace {

Usage invocation(std::string function, double seconds, bool error) {
  Usage usage;
  usage.service = "lambda";
  usage.resource = std::move(function);
  usage.quantities = {{std::string(meter::kLambdaRequests), 1},
                      {std::string(meter::kLambdaErrors), error ? 1 : 0},
                      {std::string(meter::kLambdaComputeArm), 2'048'000}};
  usage.observations = {{std::string(observation::kLambdaDuration), seconds}};
  return usage;
}

TEST(Metrics, CountersAndHistogramsPerResource) {
  Metrics metrics;
  metrics.record(invocation("f", 0.003, false));
  metrics.record(invocation("f", 0.2, true));
  metrics.record(invocation("g\"quoted\"", 70, false));
  PrometheusWriter writer;
  metrics.write(writer);
  const std::string text = writer.take();
  EXPECT_NE(text.find("# TYPE nimbus_lambda_invocations_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_invocations_total{function=\"f\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_errors_total{function=\"f\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_gb_seconds_total{function=\"f\",architecture=\"arm64\"} 4\n"),
            std::string::npos);
  // Label values are escaped.
  EXPECT_NE(text.find("{function=\"g\\\"quoted\\\"\"} 1\n"), std::string::npos) << text;
  // Buckets are cumulative, end at +Inf with the count.
  EXPECT_NE(text.find("nimbus_lambda_duration_seconds_bucket{function=\"f\",le=\"0.0025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_duration_seconds_bucket{function=\"f\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_duration_seconds_bucket{function=\"f\",le=\"0.25\"} 2\n"),
            std::string::npos);
  EXPECT_NE(
      text.find(
          "nimbus_lambda_duration_seconds_bucket{function=\"g\\\"quoted\\\"\",le=\"60\"} 0\n"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          "nimbus_lambda_duration_seconds_bucket{function=\"g\\\"quoted\\\"\",le=\"+Inf\"} 1\n"),
      std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_duration_seconds_count{function=\"f\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_duration_seconds_sum{function=\"f\"} 0.203\n"),
            std::string::npos);
  // Each family's HELP and TYPE appear once.
  std::size_t first = text.find("# TYPE nimbus_lambda_gb_seconds_total");
  EXPECT_EQ(text.find("# TYPE nimbus_lambda_gb_seconds_total", first + 1), std::string::npos);
}

TEST(Metrics, RecordsCountTheirMetersWhateverOrderTheyListThemIn) {
  Metrics metrics;
  metrics.record(invocation("f", 0.003, true));
  // The same meters in another order, one fewer, then one more: each
  // amount still goes to its own meter.
  Usage reordered = invocation("f", 0.003, false);
  std::reverse(reordered.quantities.begin(), reordered.quantities.end());
  metrics.record(reordered);
  Usage fewer = invocation("f", 0.003, true);
  fewer.quantities.erase(fewer.quantities.begin());
  metrics.record(fewer);
  Usage more = invocation("f", 0.003, true);
  more.quantities.insert(more.quantities.begin(), {std::string(meter::kLambdaColdStarts), 1});
  metrics.record(more);
  PrometheusWriter writer;
  metrics.write(writer);
  const std::string text = writer.take();
  EXPECT_NE(text.find("nimbus_lambda_invocations_total{function=\"f\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("nimbus_lambda_errors_total{function=\"f\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_cold_starts_total{function=\"f\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_gb_seconds_total{function=\"f\",architecture=\"arm64\"} 8\n"),
            std::string::npos);
  EXPECT_NE(text.find("nimbus_lambda_duration_seconds_count{function=\"f\"} 4\n"),
            std::string::npos);
}

}  // namespace
}  // namespace nimbus::ledger
