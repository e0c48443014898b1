#include "nimbus/services/cloudwatch/internal/custom_metrics.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "nimbus/storage/key_encoding.h"

namespace nimbus::services::cloudwatch {
namespace {

// Series key: the namespace, name and each dimension's name and value as
// key-encoded strings. Minute key: the series key, a 0 byte (below every
// string tag, so no longer series' keys fall among them), the minute's
// start as big-endian seconds.
std::string series_key(const Series& series) {
  storage::KeyEncoder key;
  key.string(series.ns).string(series.name);
  for (const auto& [name, value] : series.dimensions) key.string(name).string(value);
  return key.take();
}

std::string minute_prefix(const std::string& series) { return series + std::string(1, '\0'); }

std::string minute_key(const std::string& series, std::int64_t minute_s) {
  std::string key = minute_prefix(series);
  const auto value = static_cast<std::uint64_t>(minute_s);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(value >> shift));
  return key;
}

std::int64_t minute_of_key(std::string_view key) {
  std::uint64_t value = 0;
  for (const char c : key.substr(key.size() - 8)) {
    value = (value << 8) | static_cast<unsigned char>(c);
  }
  return static_cast<std::int64_t>(value);
}

// A minute's value: count, sum, minimum, maximum as IEEE doubles.
std::string encode_sample(const Sample& sample) {
  std::string out(32, '\0');
  const double fields[] = {sample.count, sample.sum, sample.min, sample.max};
  std::memcpy(out.data(), fields, sizeof(fields));
  return out;
}

std::optional<Sample> decode_sample(std::string_view bytes) {
  if (bytes.size() != 32) return std::nullopt;
  double fields[4];
  std::memcpy(fields, bytes.data(), sizeof(fields));
  return Sample{fields[0], fields[1], fields[2], fields[3]};
}

// A series' value: its unit, a 0 byte, when it was last published (decimal seconds).
std::string encode_series_value(const std::string& unit, std::int64_t last_s) {
  return unit + std::string(1, '\0') + std::to_string(last_s);
}

std::optional<std::pair<std::string, std::int64_t>> decode_series_value(std::string_view bytes) {
  const auto zero = bytes.find('\0');
  if (zero == std::string_view::npos) return std::nullopt;
  std::int64_t last = 0;
  for (const char c : bytes.substr(zero + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    last = last * 10 + (c - '0');
  }
  return std::pair{std::string(bytes.substr(0, zero)), last};
}

std::optional<Series> decode_series(std::string_view key) {
  auto components = storage::decode_key(key);
  if (!components || components->size() < 2 || components->size() % 2 != 0) return std::nullopt;
  Series series;
  series.ns = (*components)[0].bytes;
  series.name = (*components)[1].bytes;
  for (std::size_t i = 2; i < components->size(); i += 2) {
    series.dimensions.emplace_back((*components)[i].bytes, (*components)[i + 1].bytes);
  }
  return series;
}

}  // namespace

bool is_standard_unit(std::string_view unit) {
  static constexpr std::string_view kUnits[] = {"Seconds",
                                                "Microseconds",
                                                "Milliseconds",
                                                "Bytes",
                                                "Kilobytes",
                                                "Megabytes",
                                                "Gigabytes",
                                                "Terabytes",
                                                "Bits",
                                                "Kilobits",
                                                "Megabits",
                                                "Gigabits",
                                                "Terabits",
                                                "Percent",
                                                "Count",
                                                "Bytes/Second",
                                                "Kilobytes/Second",
                                                "Megabytes/Second",
                                                "Gigabytes/Second",
                                                "Terabytes/Second",
                                                "Bits/Second",
                                                "Kilobits/Second",
                                                "Megabits/Second",
                                                "Gigabits/Second",
                                                "Terabits/Second",
                                                "Count/Second",
                                                "None"};
  return std::find(std::begin(kUnits), std::end(kUnits), unit) != std::end(kUnits);
}

void Sample::merge(const Sample& other) {
  if (other.count <= 0) return;
  if (count <= 0) {
    *this = other;
    return;
  }
  count += other.count;
  sum += other.sum;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
}

Result<std::unique_ptr<CustomMetrics>> CustomMetrics::open(storage::Store& store) {
  auto series = store.open_or_create_keyspace(kSeriesKeyspace);
  if (!series) return series.error();
  auto minutes = store.open_or_create_keyspace(kMinutesKeyspace);
  if (!minutes) return minutes.error();
  return std::unique_ptr<CustomMetrics>(new CustomMetrics(*series, *minutes));
}

Result<void> CustomMetrics::put(storage::Store& store, const std::vector<Datum>& data,
                                std::int64_t now_s) {
  std::lock_guard lock(writing_);
  // Merged in memory first: a request may name one minute many times.
  std::map<std::string, Sample> minutes;
  std::map<std::string, std::string> units;  // by series key
  for (const auto& datum : data) {
    const std::string series = series_key(datum.series);
    const std::int64_t minute = datum.time_s - ((datum.time_s % 60) + 60) % 60;
    minutes[minute_key(series, minute)].merge(datum.sample);
    units[series] = datum.unit;
  }
  storage::WriteBatch batch;
  for (auto& [key, sample] : minutes) {
    auto stored = store.get(minutes_, key);
    if (!stored) return stored.error();
    if (*stored) {
      if (auto earlier = decode_sample(**stored)) {
        Sample merged = *earlier;
        merged.merge(sample);
        sample = merged;
      }
    }
    batch.put(minutes_, key, encode_sample(sample));
  }
  for (const auto& [series, unit] : units) {
    batch.put(series_, series, encode_series_value(unit, now_s));
  }
  if (auto written = store.write(batch); !written) return written.error();
  if (now_s - swept_s_ >= 3600) return sweep(store, now_s);
  return ok();
}

// Drops minutes past retention, and series with none left; at most hourly.
Result<void> CustomMetrics::sweep(storage::Store& store, std::int64_t now_s) {
  swept_s_ = now_s;
  const std::int64_t cutoff = now_s - kRetentionS;
  storage::ScanOptions options;
  options.limit = 1024;
  storage::WriteBatch batch;
  while (true) {
    auto page = store.scan(series_, options);
    if (!page) return page.error();
    for (const auto& entry : page->items) {
      storage::ScanOptions old = storage::ScanOptions::with_prefix(minute_prefix(entry.key));
      old.upper = storage::Bound{minute_key(entry.key, cutoff), false};
      old.limit = 4096;
      while (true) {
        auto minutes = store.scan(minutes_, old);
        if (!minutes) return minutes.error();
        for (const auto& minute : minutes->items) batch.del(minutes_, minute.key);
        if (!minutes->cursor) break;
        old.cursor = std::move(minutes->cursor);
      }
      const auto value = decode_series_value(entry.value);
      if (!value || value->second < cutoff) batch.del(series_, entry.key);
    }
    if (!page->cursor) break;
    options.cursor = std::move(page->cursor);
  }
  if (batch.empty()) return ok();
  return store.write(batch);
}

Result<std::map<std::int64_t, Sample>> CustomMetrics::collect(storage::Store& store,
                                                              const Series& series,
                                                              std::int64_t first, std::int64_t end,
                                                              std::int64_t period,
                                                              std::string* unit) {
  std::map<std::int64_t, Sample> periods;
  const std::string key = series_key(series);
  auto described = store.get(series_, key);
  if (!described) return described.error();
  if (!*described) return periods;
  if (auto value = decode_series_value(**described)) *unit = value->first;
  storage::ScanOptions options = storage::ScanOptions::with_prefix(minute_prefix(key));
  options.lower = storage::Bound{minute_key(key, first), true};
  options.upper = storage::Bound{minute_key(key, end), false};
  options.limit = 4096;
  while (true) {
    auto page = store.scan(minutes_, options);
    if (!page) return page.error();
    for (const auto& entry : page->items) {
      const auto sample = decode_sample(entry.value);
      if (!sample) continue;
      const std::int64_t minute = minute_of_key(entry.key);
      periods[first + (minute - first) / period * period].merge(*sample);
    }
    if (!page->cursor) break;
    options.cursor = std::move(page->cursor);
  }
  return periods;
}

Result<std::vector<PublishedSeries>> CustomMetrics::list(storage::Store& store,
                                                         std::int64_t since_s) {
  std::vector<PublishedSeries> out;
  storage::ScanOptions options;
  options.limit = 1024;
  while (true) {
    auto page = store.scan(series_, options);
    if (!page) return page.error();
    for (const auto& entry : page->items) {
      auto series = decode_series(entry.key);
      auto value = decode_series_value(entry.value);
      if (!series || !value || value->second < since_s) continue;
      out.push_back(PublishedSeries{std::move(*series), value->first, value->second});
    }
    if (!page->cursor) break;
    options.cursor = std::move(page->cursor);
  }
  return out;
}

}  // namespace nimbus::services::cloudwatch
