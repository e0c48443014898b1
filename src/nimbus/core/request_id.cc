#include "nimbus/core/request_id.h"

#include <array>
#include <cstdint>
#include <random>

namespace nimbus {
namespace {

// xoshiro256** — fast, and request ids need uniqueness, not secrecy.
class IdGenerator {
 public:
  IdGenerator() {
    std::random_device device;
    for (auto& word : state_) {
      word = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
};

}  // namespace

std::string new_request_id() {
  thread_local IdGenerator generator;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t hi = generator.next();
  std::uint64_t lo = generator.next();
  // Version 4, variant 10xx.
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::string id(36, '-');
  int bit = 60;
  std::uint64_t word = hi;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    id[i] = kDigits[(word >> bit) & 0xf];
    bit -= 4;
    if (bit < 0) {
      word = lo;
      bit = 60;
    }
  }
  return id;
}

}  // namespace nimbus
