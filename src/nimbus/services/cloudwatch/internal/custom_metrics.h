#pragma once

// Metrics users publish with PutMetricData, kept as CloudWatch keeps
// 1-minute data: per series (namespace, metric name, dimension set) and
// minute, the count, sum, minimum and maximum of the values, for 15 days.
// Byte formats: docs/formats/cloudwatch.md.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/storage/store.h"

namespace nimbus::services::cloudwatch {

// Samples merged: what every statistic but percentiles is made from.
struct Sample {
  double count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  void merge(const Sample& other);
};

struct Series {
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;  // sorted by name
};

struct Datum {
  Series series;
  std::int64_t time_s = 0;
  std::string unit = "None";
  Sample sample;
};

// One of CloudWatch's StandardUnit values ("Count", "Milliseconds", ...).
bool is_standard_unit(std::string_view unit);

struct PublishedSeries {
  Series series;
  std::string unit;
  std::int64_t last_s = 0;  // when a datum last arrived
};

class CustomMetrics {
 public:
  static constexpr std::string_view kSeriesKeyspace = "cloudwatch.series";
  static constexpr std::string_view kMinutesKeyspace = "cloudwatch.minutes";
  static constexpr std::int64_t kRetentionS = 15 * 86'400;

  static Result<std::unique_ptr<CustomMetrics>> open(storage::Store& store);

  // Adds the data to their minutes, all or nothing. Blocks on the store.
  Result<void> put(storage::Store& store, const std::vector<Datum>& data, std::int64_t now_s);
  // The series' samples from `first` (a minute) to `end`, merged into
  // periods of `period` seconds from `first`; and the series' unit.
  Result<std::map<std::int64_t, Sample>> collect(storage::Store& store, const Series& series,
                                                 std::int64_t first, std::int64_t end,
                                                 std::int64_t period, std::string* unit);
  // Every series published since `since_s`.
  Result<std::vector<PublishedSeries>> list(storage::Store& store, std::int64_t since_s);

 private:
  CustomMetrics(storage::Keyspace series, storage::Keyspace minutes)
      : series_(std::move(series)), minutes_(std::move(minutes)) {}
  Result<void> sweep(storage::Store& store, std::int64_t now_s);

  storage::Keyspace series_;
  storage::Keyspace minutes_;
  std::mutex writing_;  // minutes are read, merged and written back
  std::int64_t swept_s_ = 0;
};

}  // namespace nimbus::services::cloudwatch
