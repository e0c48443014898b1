#include "nimbus/services/cloudwatch/internal/embedded_metrics.h"

#include <gtest/gtest.h>

namespace nimbus::services::cloudwatch {
namespace {

// The example of CloudWatch's specification, with two dimension sets.
constexpr std::string_view kDocument = R"({
  "_aws": {
    "Timestamp": 1574109732004,
    "CloudWatchMetrics": [{
      "Namespace": "lambda-function-metrics",
      "Dimensions": [["functionVersion"], ["functionVersion", "stage"]],
      "Metrics": [{"Name": "time", "Unit": "Milliseconds"}, {"Name": "sizes"}]
    }]
  },
  "functionVersion": "$LATEST",
  "stage": "prod",
  "time": 100,
  "sizes": [3, 1, 2],
  "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"
})";

TEST(EmbeddedMetrics, ReadsEachMetricForEachDimensionSet) {
  const auto datums = parse_embedded_metrics(kDocument);
  ASSERT_EQ(datums.size(), 4u);
  const Datum& time = datums[0];
  EXPECT_EQ(time.series.ns, "lambda-function-metrics");
  EXPECT_EQ(time.series.name, "time");
  EXPECT_EQ(time.series.dimensions,
            (std::vector<std::pair<std::string, std::string>>{{"functionVersion", "$LATEST"}}));
  EXPECT_EQ(time.time_s, 1574109732);
  EXPECT_EQ(time.unit, "Milliseconds");
  EXPECT_EQ(time.sample.count, 1);
  EXPECT_EQ(time.sample.sum, 100);
  EXPECT_EQ(datums[1].series.dimensions.size(), 2u);  // the second set, sorted by name
  EXPECT_EQ(datums[1].series.dimensions[1], (std::pair<std::string, std::string>{"stage", "prod"}));
  const Datum& sizes = datums[2];
  EXPECT_EQ(sizes.series.name, "sizes");
  EXPECT_EQ(sizes.unit, "None");
  EXPECT_EQ(sizes.sample.count, 3);
  EXPECT_EQ(sizes.sample.sum, 6);
  EXPECT_EQ(sizes.sample.min, 1);
  EXPECT_EQ(sizes.sample.max, 3);
}

TEST(EmbeddedMetrics, FindsTheDocumentAfterTheNodeRuntimePrefix) {
  const std::string line =
      "2026-11-27T10:00:00.000Z\t6bc28136-xmpl-4365-b021-0ce6b2e64ab0\tINFO\t" +
      std::string(kDocument) + "\n";
  EXPECT_EQ(parse_embedded_metrics(line).size(), 4u);
}

TEST(EmbeddedMetrics, IgnoresWhatIsNotAValidDocument) {
  EXPECT_TRUE(parse_embedded_metrics("plain text").empty());
  EXPECT_TRUE(parse_embedded_metrics(R"({"_aws": "not an object"})").empty());
  EXPECT_TRUE(parse_embedded_metrics(R"({"_aws": {"CloudWatchMetrics": []}, "x": 1})").empty());
  // A dimension that is not a string member, an unknown unit, a namespace of
  // AWS's, a value that is not a number: the whole document is ignored.
  const auto with = [](std::string_view from, std::string_view to) {
    std::string text(kDocument);
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  EXPECT_TRUE(parse_embedded_metrics(with(R"("stage": "prod")", R"("stage": 7)")).empty());
  EXPECT_TRUE(parse_embedded_metrics(with("Milliseconds", "Fortnights")).empty());
  EXPECT_TRUE(parse_embedded_metrics(with("lambda-function-metrics", "AWS/Lambda")).empty());
  EXPECT_TRUE(parse_embedded_metrics(with(R"("time": 100)", R"("time": "100")")).empty());
  EXPECT_TRUE(parse_embedded_metrics(with(R"("sizes": [3, 1, 2])", R"("sizes": [])")).empty());
  // A metric without a value is skipped, the rest kept.
  EXPECT_EQ(parse_embedded_metrics(with(R"("time": 100,)", "")).size(), 2u);
}

}  // namespace
}  // namespace nimbus::services::cloudwatch
