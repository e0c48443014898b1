// CloudWatch Logs filter patterns (outside input: FilterLogEvents'
// filterPattern) and the messages they are matched against. Input layout:
// the pattern, a blank line, then the message.

#include <cstdint>
#include <string_view>

#include "nimbus/services/logs/internal/filter_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto blank = input.find("\n\n");
  auto pattern = nimbus::services::logs::FilterPattern::parse(input.substr(0, blank));
  if (!pattern) return 0;
  const auto message =
      blank == std::string_view::npos ? std::string_view() : input.substr(blank + 2);
  (void)pattern->matches(message);
  (void)pattern->matches_everything();
  return 0;
}
