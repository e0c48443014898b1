#include "nimbus/env/clock.h"

#include <gtest/gtest.h>

namespace nimbus::env {
namespace {

using namespace std::chrono_literals;

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  const auto start = std::chrono::system_clock::time_point(1440938160s);
  ManualClock clock(start);
  EXPECT_EQ(clock.now(), start);
  const auto steady = clock.steady_now();
  clock.advance(90s);
  EXPECT_EQ(clock.now(), start + 90s);
  EXPECT_EQ(clock.steady_now() - steady, 90s);
}

TEST(SystemClockTest, SteadyClockIsMonotonic) {
  SystemClock clock;
  const auto a = clock.steady_now();
  const auto b = clock.steady_now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace nimbus::env
