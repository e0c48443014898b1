#pragma once

// Live metrics from the usage records every service hands the journal:
// counters by meter and latency histograms, per service and resource, in
// memory since the server started, written in Prometheus' text format
// (docs/compatibility/metrics.md names each metric).

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nimbus::ledger {

struct Usage;

// Appends Prometheus text exposition: one family at a time, HELP and TYPE first.
class PrometheusWriter {
 public:
  // A family with one sample without labels.
  void single(std::string_view name, std::string_view type, std::string_view help, double value);
  // A family: HELP and TYPE; samples follow with sample().
  void family(std::string_view name, std::string_view type, std::string_view help);
  // labels: "name=\"value\",..." already escaped (see label()).
  void sample(std::string_view name, std::string_view labels, double value);
  static std::string label(std::string_view name, std::string_view value);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Metrics {
 public:
  // Upper bounds in seconds, as Prometheus' client libraries default to,
  // extended to Lambda's 15-minute limit.
  static constexpr std::array<double, 16> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 900};

  void record(const Usage& usage);
  void write(PrometheusWriter& out) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Series {
    using Counters = std::map<std::string, std::int64_t, std::less<>>;
    using Histograms = std::map<std::string, Histogram, std::less<>>;
    Counters counters;      // by meter
    Histograms histograms;  // by observation
    std::uint64_t records = 0;
    // Where the meter (observation) at each position of the last record
    // is: a service lists them in the same order every time, so recording
    // one compares a name per quantity instead of searching the map.
    // Iterators stay valid: nothing is erased, and moving a map keeps them.
    std::vector<Counters::iterator> counter_at;
    std::vector<Histograms::iterator> histogram_at;

    Series() = default;
    Series(Series&&) = default;
    Series(const Series&) = delete;  // the iterators would point into the original
  };
  // Orders (service, resource) keys and finds them by views: recording a
  // usage record builds no strings.
  struct ByServiceAndResource {
    using is_transparent = void;
    using View = std::pair<std::string_view, std::string_view>;
    static View view(const std::pair<std::string, std::string>& key) {
      return {key.first, key.second};
    }
    static View view(const View& key) { return key; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Series, ByServiceAndResource> series_;
};

}  // namespace nimbus::ledger
