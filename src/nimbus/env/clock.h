#pragma once

// Time, injected. Production code reads time only through a Clock, so tests
// run on a ManualClock instead of sleeping. Both implementations are
// thread-safe.

#include <atomic>
#include <chrono>

namespace nimbus::env {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time: request signatures, timestamps that go on the wire.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time: durations, uptime, timeouts.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
};

// A clock that moves only when told to; both readings advance together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point start);
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  void advance(std::chrono::nanoseconds by);

 private:
  std::chrono::system_clock::time_point start_;
  std::atomic<std::int64_t> elapsed_ns_{0};
};

}  // namespace nimbus::env
