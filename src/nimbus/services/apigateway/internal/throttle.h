#pragma once

// API Gateway's throttling: token buckets that refill at a steady rate up to
// a burst, one per account, per stage route and per route setting. Shared
// by every I/O thread; each take is a short critical section.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace nimbus::services::apigateway::internal {

struct BucketLimits {
  double rate = 0;         // tokens per second
  std::int64_t burst = 0;  // most tokens held
};

// Throttle settings laid over `limits`: a JSON object's numbers under
// `rate_name` and `burst_name` replace the rate and the burst, over
// `defaults` the first time either is named. Anything else names neither.
// (Stage route settings, REST method settings and usage plans all say it
// this way, under their own names.)
void overlay_limits(const boost::json::value* settings, std::string_view rate_name,
                    std::string_view burst_name, const BucketLimits& defaults,
                    std::optional<BucketLimits>& limits);

class Throttle {
 public:
  // Takes one token from the bucket named `key`, created full with `limits`
  // (a changed limit reshapes the bucket). False when it is empty.
  bool take(const std::string& key, BucketLimits limits, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    BucketLimits limits;
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  std::mutex mutex_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace nimbus::services::apigateway::internal
