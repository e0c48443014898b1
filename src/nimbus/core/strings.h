#pragma once

// Small string functions that several components need with the same meaning.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nimbus {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char separator);
// The same parts, handed to `each` in turn without building a vector (for
// paths every request takes). std::views::split would do, but clang's fuzz
// builds cannot compile libstdc++ 12's ranges.
template <typename Each>
void for_each_part(std::string_view s, char separator, Each&& each) {
  for (;;) {
    const auto pos = s.find(separator);
    if (pos == std::string_view::npos) {
      each(s);
      return;
    }
    each(s.substr(0, pos));
    s.remove_prefix(pos + 1);
  }
}
bool starts_with_icase(std::string_view s, std::string_view prefix);

std::string hex_encode(std::span<const std::uint8_t> bytes);
std::string hex_encode(std::string_view bytes);

// Percent-decoding as in URLs and application/x-www-form-urlencoded bodies.
// With `plus_as_space` a '+' decodes to ' ' (form encoding). Returns nullopt
// for a malformed escape ("%G1", a trailing "%").
enum class PlusAsSpace { kNo, kYes };
std::optional<std::string> percent_decode(std::string_view s, PlusAsSpace plus = PlusAsSpace::kNo);

// Parses a whole decimal number; nullopt on anything else or overflow.
std::optional<std::uint64_t> parse_uint(std::string_view s);

}  // namespace nimbus
