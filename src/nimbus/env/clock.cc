#include "nimbus/env/clock.h"

namespace nimbus::env {

std::chrono::system_clock::time_point SystemClock::now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::steady_now() const {
  return std::chrono::steady_clock::now();
}

ManualClock::ManualClock(std::chrono::system_clock::time_point start) : start_(start) {}

std::chrono::system_clock::time_point ManualClock::now() const {
  return start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      std::chrono::nanoseconds(elapsed_ns_.load()));
}

std::chrono::steady_clock::time_point ManualClock::steady_now() const {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(elapsed_ns_.load()));
}

void ManualClock::advance(std::chrono::nanoseconds by) { elapsed_ns_ += by.count(); }

}  // namespace nimbus::env
