#include "nimbus/aws/aws_time.h"

#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace nimbus::aws {
namespace {

std::tm to_utc(WallTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

std::optional<WallTime> parse_with(std::string_view text, const char* format) {
  const std::string copy(text);
  std::tm tm{};
  const char* end = strptime(copy.c_str(), format, &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::time_t seconds = timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace

std::string format_amz_date(WallTime time) {
  return fmt::format("{:%Y%m%dT%H%M%SZ}", to_utc(time));
}

std::optional<WallTime> parse_amz_date(std::string_view text) {
  // strptime accepts short fields; SigV4 dates are exactly 16 characters.
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  return parse_with(text, "%Y%m%dT%H%M%SZ");
}

std::string format_http_date(WallTime time) {
  return fmt::format("{:%a, %d %b %Y %H:%M:%S GMT}", to_utc(time));
}

std::optional<WallTime> parse_http_date(std::string_view text) {
  return parse_with(text, "%a, %d %b %Y %H:%M:%S GMT");
}

std::string format_iso8601(WallTime time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", to_utc(time), millis);
}

}  // namespace nimbus::aws
