// CloudWatch metric math (outside input: a GetMetricData query's
// Expression), parsed and evaluated over two small series.

#include <cstdint>
#include <string_view>

#include "nimbus/services/cloudwatch/internal/metric_math.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nimbus::services::cloudwatch;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expression = MathExpression::parse(text);
  if (!expression) return 0;
  MathContext context;
  context.metric_queries = {{"m1", "first"}, {"m2", "second"}};
  context.grid = {0, 60, 120, 180};
  context.series = [](std::string_view id) -> nimbus::Result<std::vector<TimeSeries>> {
    if (id == "m1") return std::vector<TimeSeries>{{"first", {{0, 1.5}, {120, -2}}}};
    if (id == "m2") return std::vector<TimeSeries>{{"second", {{0, 0}, {60, 3}, {120, 4}}}};
    return nimbus::AwsError("ValidationError", "no such id", 400);
  };
  (void)expression->evaluate(context);
  return 0;
}
