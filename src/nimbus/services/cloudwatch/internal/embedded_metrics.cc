#include "nimbus/services/cloudwatch/internal/embedded_metrics.h"

#include <algorithm>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace nimbus::services::cloudwatch {
namespace {

namespace json = boost::json;

// The specification's limits.
constexpr std::size_t kMaxDimensions = 30;
constexpr std::size_t kMaxMetrics = 100;
constexpr std::size_t kMaxValues = 100;

const json::string* string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value == nullptr ? nullptr : value->if_string();
}

std::optional<double> number(const json::value& value) {
  if (!value.is_number()) return std::nullopt;
  const double number = value.to_number<double>();
  if (!std::isfinite(number)) return std::nullopt;
  return number;
}

// Where the JSON document starts: the whole message, or after the Node.js
// runtime's tab-separated prefix.
std::string_view document_of(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  if (message.starts_with('{')) return message;
  const auto tab = message.rfind('\t');
  if (tab == std::string_view::npos) return {};
  message.remove_prefix(tab + 1);
  return message.starts_with('{') ? message : std::string_view();
}

// One directive's datums, or none if it is not valid.
bool add_directive(const json::object& root, const json::object& directive, std::int64_t time_s,
                   std::vector<Datum>& out) {
  const auto* ns = string_at(directive, "Namespace");
  if (ns == nullptr || ns->empty() || ns->size() > 255 || ns->starts_with("AWS/")) return false;
  const auto* dimension_sets = directive.if_contains("Dimensions");
  const auto* metrics = directive.if_contains("Metrics");
  if (dimension_sets == nullptr || !dimension_sets->is_array() || metrics == nullptr ||
      !metrics->is_array() || metrics->get_array().size() > kMaxMetrics) {
    return false;
  }
  // Each dimension set names root members holding strings.
  std::vector<std::vector<std::pair<std::string, std::string>>> sets;
  for (const auto& set : dimension_sets->get_array()) {
    if (!set.is_array() || set.get_array().size() > kMaxDimensions) return false;
    std::vector<std::pair<std::string, std::string>> dimensions;
    for (const auto& key : set.get_array()) {
      if (!key.is_string()) return false;
      const auto* value = string_at(root, key.get_string());
      if (value == nullptr || value->empty() || value->size() > 1024) return false;
      dimensions.emplace_back(std::string(key.get_string()), std::string(*value));
    }
    std::sort(dimensions.begin(), dimensions.end());
    if (std::adjacent_find(dimensions.begin(), dimensions.end(), [](const auto& a, const auto& b) {
          return a.first == b.first;
        }) != dimensions.end()) {
      return false;
    }
    sets.push_back(std::move(dimensions));
  }
  std::vector<Datum> datums;
  for (const auto& definition : metrics->get_array()) {
    const auto* metric = definition.if_object();
    if (metric == nullptr) return false;
    const auto* name = string_at(*metric, "Name");
    if (name == nullptr || name->empty() || name->size() > 1024) return false;
    std::string unit = "None";
    if (const auto* declared = metric->if_contains("Unit")) {
      if (!declared->is_string() || !is_standard_unit(declared->get_string())) {
        return false;
      }
      unit = declared->get_string();
    }
    const auto* member = root.if_contains(*name);
    if (member == nullptr) continue;  // a metric without a value is skipped
    Sample sample;
    if (const auto* values = member->if_array()) {
      if (values->empty() || values->size() > kMaxValues) return false;
      for (const auto& value : *values) {
        auto parsed = number(value);
        if (!parsed) return false;
        sample.merge(Sample{1, *parsed, *parsed, *parsed});
      }
    } else {
      auto parsed = number(*member);
      if (!parsed) return false;
      sample = Sample{1, *parsed, *parsed, *parsed};
    }
    for (const auto& dimensions : sets) {
      Datum datum;
      datum.series = Series{std::string(*ns), std::string(*name), dimensions};
      datum.time_s = time_s;
      datum.unit = unit;
      datum.sample = sample;
      datums.push_back(std::move(datum));
    }
  }
  out.insert(out.end(), std::make_move_iterator(datums.begin()),
             std::make_move_iterator(datums.end()));
  return true;
}

}  // namespace

std::vector<Datum> parse_embedded_metrics(std::string_view message) {
  // Cheap refusal first: most log lines are not EMF.
  if (message.find("\"_aws\"") == std::string_view::npos) return {};
  const std::string_view document = document_of(message);
  if (document.empty()) return {};
  boost::system::error_code error;
  const json::value parsed = json::parse(document, error);
  if (error || !parsed.is_object()) return {};
  const auto& root = parsed.get_object();
  const auto* aws = root.if_contains("_aws");
  if (aws == nullptr || !aws->is_object()) return {};
  const auto* timestamp = aws->get_object().if_contains("Timestamp");
  const auto* directives = aws->get_object().if_contains("CloudWatchMetrics");
  if (timestamp == nullptr || directives == nullptr || !directives->is_array()) return {};
  const auto time_ms = number(*timestamp);
  if (!time_ms || *time_ms < 0 || *time_ms > 1e16) return {};
  const auto time_s = static_cast<std::int64_t>(*time_ms / 1000);
  std::vector<Datum> out;
  for (const auto& directive : directives->get_array()) {
    if (!directive.is_object() || !add_directive(root, directive.get_object(), time_s, out)) {
      return {};
    }
  }
  return out;
}

}  // namespace nimbus::services::cloudwatch
