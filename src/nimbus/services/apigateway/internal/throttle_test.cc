#include "nimbus/services/apigateway/internal/throttle.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway::internal {
namespace {

TEST(ThrottleTest, EmptiesAfterTheBurstAndRefillsAtTheRate) {
  Throttle throttle;
  const BucketLimits limits{2.0, 3};
  const auto start = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle.take("k", limits, start));
  EXPECT_FALSE(throttle.take("k", limits, start));
  // Half a second at 2/s is one token.
  EXPECT_TRUE(throttle.take("k", limits, start + std::chrono::milliseconds(500)));
  EXPECT_FALSE(throttle.take("k", limits, start + std::chrono::milliseconds(500)));
  // Never more than the burst, however long it waits.
  const auto later = start + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle.take("k", limits, later));
  EXPECT_FALSE(throttle.take("k", limits, later));
  EXPECT_TRUE(throttle.take("other", limits, later));
}

TEST(ThrottleTest, AZeroRateRefusesEverything) {
  Throttle throttle;
  EXPECT_FALSE(throttle.take("k", BucketLimits{0, 0}, std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
