#pragma once

// CloudWatch metric math: the `Expression` of a GetMetricData query, over
// the time series its other queries return. A subset of CloudWatch's
// language (docs/compatibility/cloudwatch.md): numbers, query ids,
// + - * / ^, parentheses, [a, b] lists, and the functions METRICS, SUM,
// AVG, MIN, MAX, ABS, DIFF, DIFF_TIME, RATE and FILL. Outside input:
// parsed with a depth limit.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::services::cloudwatch {

// (period start, value), in time order.
struct TimeSeries {
  std::string label;
  std::vector<std::pair<std::int64_t, double>> points;
};

struct MathContext {
  // The series of the query with this id (a metric's, or another
  // expression's); ValidationError for an unknown id or a cycle.
  std::function<Result<std::vector<TimeSeries>>(std::string_view id)> series;
  // What METRICS() returns: the ids of the queries that read a metric
  // (MetricStat), in request order, with their labels.
  std::vector<std::pair<std::string, std::string>> metric_queries;
  // Every period start of the query's range, for FILL.
  std::vector<std::int64_t> grid;
};

class MathExpression {
 public:
  // ValidationError naming what is wrong.
  static Result<MathExpression> parse(std::string_view text);
  // One series, or several (METRICS(), a list); a result that is a plain
  // number, or mixes lists, is a ValidationError.
  Result<std::vector<TimeSeries>> evaluate(const MathContext& context) const;

  struct Node;

 private:
  explicit MathExpression(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

}  // namespace nimbus::services::cloudwatch
