#include "nimbus/services/apigateway/internal/throttle.h"

#include <algorithm>

#include <boost/json/value.hpp>

namespace nimbus::services::apigateway::internal {

void overlay_limits(const boost::json::value* settings, std::string_view rate_name,
                    std::string_view burst_name, const BucketLimits& defaults,
                    std::optional<BucketLimits>& limits) {
  if (settings == nullptr || !settings->is_object()) return;
  const auto* rate = settings->as_object().if_contains(rate_name);
  const auto* burst = settings->as_object().if_contains(burst_name);
  const bool has_rate = rate != nullptr && rate->is_number();
  const bool has_burst = burst != nullptr && burst->is_number();
  if (!has_rate && !has_burst) return;
  if (!limits) limits = defaults;
  if (has_rate) limits->rate = rate->to_number<double>();
  if (has_burst) limits->burst = static_cast<std::int64_t>(burst->to_number<double>());
}

bool Throttle::take(const std::string& key, BucketLimits limits,
                    std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto [it, created] = buckets_.try_emplace(key);
  Bucket& bucket = it->second;
  if (created || bucket.limits.rate != limits.rate || bucket.limits.burst != limits.burst) {
    bucket.limits = limits;
    bucket.tokens = static_cast<double>(limits.burst);
    bucket.refilled = now;
  }
  const std::chrono::duration<double> elapsed = now - bucket.refilled;
  bucket.refilled = now;
  bucket.tokens = std::min(static_cast<double>(limits.burst),
                           bucket.tokens + std::max(0.0, elapsed.count()) * limits.rate);
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

}  // namespace nimbus::services::apigateway::internal
