#include "nimbus/services/apigateway/internal/throttle.h"

#include <algorithm>

namespace nimbus::services::apigateway::internal {

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
