#include "nimbus/cli/svg_chart.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "nimbus/aws/xml_writer.h"

namespace nimbus::cli {
namespace {

constexpr double kWidth = 900;
constexpr double kPanelHeight = 220;
constexpr double kLeft = 70;
constexpr double kRight = 160;  // room for the legend
constexpr double kTop = 40;
constexpr double kGap = 50;
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c",
                                    "#ff7f0e", "#9467bd", "#8c564b"};

std::string label(double value) {
  if (value == 0) return "0";
  if (std::abs(value) >= 1000 || std::abs(value) < 0.01) return fmt::format("{:.3g}", value);
  return fmt::format("{:.4g}", value);
}

// A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten.
double nice_ceiling(double value) {
  if (value <= 0) return 1;
  const double magnitude = std::pow(10, std::floor(std::log10(value)));
  for (double step : {1.0, 2.0, 5.0, 10.0}) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

std::string time_label(std::int64_t seconds, std::int64_t span) {
  const auto time = std::chrono::sys_seconds(std::chrono::seconds(seconds));
  return span > 2 * 86400 ? fmt::format("{:%m-%d}", time) : fmt::format("{:%H:%M}", time);
}

}  // namespace

std::string render_svg(const Chart& chart) {
  const double plot_width = kWidth - kLeft - kRight;
  const double height = kTop + static_cast<double>(chart.panels.size()) * (kPanelHeight + kGap);
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n",
      kWidth, height, kLeft, aws::xml_escape(chart.title));
  const std::size_t n = chart.times.size();
  const std::int64_t span = n > 1 ? chart.times.back() - chart.times.front() : 0;
  auto x_of = [&](std::size_t i) {
    if (n <= 1) return kLeft + plot_width / 2;
    return kLeft + plot_width * static_cast<double>(chart.times[i] - chart.times.front()) /
                       static_cast<double>(span);
  };
  for (std::size_t p = 0; p < chart.panels.size(); ++p) {
    const auto& panel = chart.panels[p];
    const double top = kTop + static_cast<double>(p) * (kPanelHeight + kGap) + 20;
    const double bottom = top + kPanelHeight - 20;
    double highest = 0;
    for (const auto& series : panel.series) {
      for (double v : series.values) {
        if (!std::isnan(v)) highest = std::max(highest, v);
      }
    }
    const double ceiling = nice_ceiling(highest);
    auto y_of = [&](double v) { return bottom - (bottom - top) * v / ceiling; };
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}{}</text>\n", kLeft, top - 8,
                       aws::xml_escape(panel.title),
                       panel.unit.empty() ? "" : " (" + aws::xml_escape(panel.unit) + ")");
    // Grid and axis labels: five steps up, up to eight times across.
    for (int step = 0; step <= 4; ++step) {
      const double value = ceiling * step / 4;
      const double y = y_of(value);
      out += fmt::format(
          "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
          "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\" fill=\"#555\">{5}</text>\n",
          kLeft, y, kLeft + plot_width, kLeft - 6, y + 4, label(value));
    }
    const std::size_t ticks = std::min<std::size_t>(n, 8);
    for (std::size_t t = 0; t < ticks; ++t) {
      const std::size_t i = ticks == 1 ? 0 : t * (n - 1) / (ticks - 1);
      out += fmt::format(
          "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n",
          x_of(i), bottom + 16, time_label(chart.times[i], span));
    }
    out +=
        fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n",
                    kLeft, bottom, kLeft + plot_width);
    for (std::size_t s = 0; s < panel.series.size(); ++s) {
      const auto& series = panel.series[s];
      const char* colour = kColours[s % std::size(kColours)];
      std::string points;
      for (std::size_t i = 0; i < n && i < series.values.size(); ++i) {
        if (std::isnan(series.values[i])) continue;
        points += fmt::format("{:.1f},{:.1f} ", x_of(i), y_of(series.values[i]));
        out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\" fill=\"{}\"/>", x_of(i),
                           y_of(series.values[i]), colour);
      }
      out += fmt::format(
          "\n<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n"
          "<rect x=\"{}\" y=\"{:.1f}\" width=\"12\" height=\"3\" fill=\"{}\"/>"
          "<text x=\"{}\" y=\"{:.1f}\">{}</text>\n",
          points, colour, kLeft + plot_width + 14, top + 10 + 18 * static_cast<double>(s) - 4,
          colour, kLeft + plot_width + 30, top + 10 + 18 * static_cast<double>(s),
          aws::xml_escape(series.name));
    }
  }
  out += "</svg>\n";
  return out;
}

}  // namespace nimbus::cli
