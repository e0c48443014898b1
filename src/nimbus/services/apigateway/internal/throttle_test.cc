#include "nimbus/services/apigateway/internal/throttle.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

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

TEST(ThrottleTest, SettingsOverlayTheLimitsTheyName) {
  const BucketLimits defaults{100, 50};
  std::optional<BucketLimits> limits;
  // Nothing named: no limits at all.
  const auto empty = boost::json::parse(R"({"other":1})");
  overlay_limits(&empty, "rateLimit", "burstLimit", defaults, limits);
  overlay_limits(nullptr, "rateLimit", "burstLimit", defaults, limits);
  EXPECT_FALSE(limits);
  // A rate alone keeps the default burst; a later burst overrides it.
  const auto rate = boost::json::parse(R"({"rateLimit":2.5})");
  overlay_limits(&rate, "rateLimit", "burstLimit", defaults, limits);
  ASSERT_TRUE(limits);
  EXPECT_EQ(limits->rate, 2.5);
  EXPECT_EQ(limits->burst, 50);
  const auto burst = boost::json::parse(R"({"burstLimit":3,"rateLimit":"fast"})");
  overlay_limits(&burst, "rateLimit", "burstLimit", defaults, limits);
  EXPECT_EQ(limits->rate, 2.5);
  EXPECT_EQ(limits->burst, 3);
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
