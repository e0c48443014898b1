#include "nimbus/services/cloudwatch/internal/metric_math.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace nimbus::services::cloudwatch {
namespace {

using Points = std::vector<std::pair<std::int64_t, double>>;

class MetricMathTest : public ::testing::Test {
 protected:
  MetricMathTest() {
    series_["errors"] = {"Errors", {{0, 1}, {60, 0}, {180, 4}}};
    series_["calls"] = {"Invocations", {{0, 10}, {60, 20}, {120, 5}, {180, 8}}};
    context_.metric_queries = {{"errors", "Errors"}, {"calls", "Invocations"}};
    context_.grid = {0, 60, 120, 180};
    context_.series = [this](std::string_view id) -> Result<std::vector<TimeSeries>> {
      const auto it = series_.find(std::string(id));
      if (it == series_.end()) return AwsError("ValidationError", "unknown id", 400);
      return std::vector<TimeSeries>{it->second};
    };
  }

  Result<std::vector<TimeSeries>> run(std::string_view text) {
    auto expression = MathExpression::parse(text);
    if (!expression) return expression.error();
    return expression->evaluate(context_);
  }

  Points points(std::string_view text) {
    auto result = run(text);
    EXPECT_TRUE(result) << text << ": " << (result ? "" : result.error().message());
    if (!result || result->size() != 1) return {};
    return (*result)[0].points;
  }

  std::string error(std::string_view text) {
    auto result = run(text);
    EXPECT_FALSE(result) << text;
    if (result) return {};
    EXPECT_EQ(result.error().code(), "ValidationError");
    return result.error().message();
  }

  std::map<std::string, TimeSeries> series_;
  MathContext context_;
};

TEST_F(MetricMathTest, ArithmeticJoinsSeriesOnTheTimestampsBothHave) {
  // The error rate: 120 has no errors datapoint, so no rate there.
  EXPECT_EQ(points("100 * errors / calls"), (Points{{0, 10}, {60, 0}, {180, 50}}));
  EXPECT_EQ(points("calls - 2 * 3"), (Points{{0, 4}, {60, 14}, {120, -1}, {180, 2}}));
  EXPECT_EQ(points("-errors + 1"), (Points{{0, 0}, {60, 1}, {180, -3}}));
  EXPECT_EQ(points("2 ^ 3 ^ 0 * errors"),
            (Points{{0, 2}, {60, 0}, {180, 8}}));  // ^ is right-associative
  EXPECT_EQ(points("(calls + errors) / 2"), (Points{{0, 5.5}, {60, 10}, {180, 6}}));
  // Division by zero leaves no datapoint.
  EXPECT_EQ(points("calls / errors"), (Points{{0, 10}, {180, 2}}));
}

TEST_F(MetricMathTest, FillGivesEveryPeriodAValue) {
  EXPECT_EQ(points("FILL(errors, 0)"), (Points{{0, 1}, {60, 0}, {120, 0}, {180, 4}}));
  EXPECT_EQ(points("FILL(errors, REPEAT)"), (Points{{0, 1}, {60, 0}, {120, 0}, {180, 4}}));
  series_["errors"].points = {{60, 7}, {180, 4}};
  EXPECT_EQ(points("FILL(errors, REPEAT)"), (Points{{0, 7}, {60, 7}, {120, 7}, {180, 4}}));
  EXPECT_EQ(points("100 * FILL(errors, 0) / calls"),
            (Points{{0, 0}, {60, 35}, {120, 0}, {180, 50}}));
}

TEST_F(MetricMathTest, FunctionsOverListsAndSeries) {
  EXPECT_EQ(points("SUM(METRICS())"), (Points{{0, 11}, {60, 20}, {120, 5}, {180, 12}}));
  EXPECT_EQ(points("MAX([errors, calls])"), (Points{{0, 10}, {60, 20}, {120, 5}, {180, 8}}));
  EXPECT_EQ(points("MIN([errors, calls])"), (Points{{0, 1}, {60, 0}, {120, 5}, {180, 4}}));
  EXPECT_EQ(points("AVG([errors, calls])"), (Points{{0, 5.5}, {60, 10}, {120, 5}, {180, 6}}));
  // Of one series, a number: a share of the whole.
  EXPECT_EQ(points("calls * 43 / SUM(calls)"), (Points{{0, 10}, {60, 20}, {120, 5}, {180, 8}}));
  EXPECT_EQ(points("ABS(errors - 2)"), (Points{{0, 1}, {60, 2}, {180, 2}}));
  // METRICS() is every metric query's series, with its label; a filter
  // matches ids and labels.
  auto all = run("METRICS() * 2");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].label, "Errors");
  EXPECT_EQ((*all)[1].points[0], (std::pair<std::int64_t, double>{0, 20}));
  auto filtered = run("METRICS(\"Invoc\")");
  ASSERT_TRUE(filtered);
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].label, "Invocations");
}

TEST_F(MetricMathTest, ChangesAgainstThePreviousValue) {
  // calls: 10 at 0, 20 at 60, 5 at 120, 8 at 180; errors skip 120.
  EXPECT_EQ(points("DIFF(calls)"), (Points{{60, 10}, {120, -15}, {180, 3}}));
  EXPECT_EQ(points("DIFF_TIME(errors)"), (Points{{60, 60}, {180, 120}}));
  EXPECT_EQ(points("RATE(errors)"), (Points{{60, -1.0 / 60}, {180, 4.0 / 120}}));
  auto both = run("DIFF(METRICS())");
  ASSERT_TRUE(both);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[1].points.size(), 3u);
  EXPECT_EQ(error("RATE(3)"), "Metric math: RATE's argument must be a time series.");
}

TEST_F(MetricMathTest, MistakesAreValidationErrors) {
  EXPECT_EQ(error("errors +"), "Metric math: the expression ends too early.");
  EXPECT_EQ(error("errors $ 2"), "Metric math: unexpected '$' at position 8.");
  EXPECT_EQ(error("PERCENTILE(errors, 2)"),
            "Metric math: the function PERCENTILE is not supported by Nimbus.");
  EXPECT_EQ(error("1 + 2"), "Metric math: the expression gives a number, not a time series.");
  EXPECT_EQ(error("[errors, calls] + [calls]"),
            "Metric math: an operator cannot combine two lists of time series.");
  EXPECT_EQ(error("missing * 2"), "unknown id");
  EXPECT_EQ(error("FILL(errors)"), "Metric math: FILL takes a time series and a value.");
  EXPECT_EQ(error(""), "Metric math: the expression is empty.");
  EXPECT_EQ(error("1.2.3 * errors"), "Metric math: '1.2.3' is not a number.");
  EXPECT_EQ(error(std::string(200, '(') + "errors" + std::string(200, ')')),
            "Metric math: the expression is nested too deeply.");
  EXPECT_EQ(error(std::string(150, '-') + "errors"),
            "Metric math: the expression is nested too deeply.");
}

}  // namespace
}  // namespace nimbus::services::cloudwatch
