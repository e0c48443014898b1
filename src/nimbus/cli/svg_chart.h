#pragma once

// Line charts as standalone SVG files, for `nimbus cost --plot` and
// `nimbus stats --plot`: one or more panels sharing a time axis.

#include <cstdint>
#include <string>
#include <vector>

namespace nimbus::cli {

struct ChartSeries {
  std::string name;
  std::vector<double> values;  // one per time; NaN: no value
};

struct ChartPanel {
  std::string title;
  std::string unit;
  std::vector<ChartSeries> series;
};

struct Chart {
  std::string title;
  std::vector<std::int64_t> times;  // Unix seconds, ascending
  std::vector<ChartPanel> panels;
};

std::string render_svg(const Chart& chart);

}  // namespace nimbus::cli
