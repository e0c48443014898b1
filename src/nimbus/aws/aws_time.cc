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

std::optional<WallTime> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
    if (at + count > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos) {
    const auto dot = text.find('.');
    // 11 digits of seconds reach the year 5138; more would overflow below.
    if ((dot == std::string_view::npos ? text.size() : dot) > 11) return std::nullopt;
    std::int64_t seconds = 0;
    for (char c : text.substr(0, dot)) seconds = seconds * 10 + (c - '0');
    std::int64_t micros = 0;
    if (dot != std::string_view::npos) {
      auto fraction = text.substr(dot + 1);
      if (fraction.find('.') != std::string_view::npos) return std::nullopt;
      for (std::size_t i = 0; i < 6; ++i) {
        micros = micros * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
      }
    }
    return WallTime(duration_cast<system_clock::duration>(seconds * 1s + micros * 1us));
  }
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
             minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                            std::chrono::day(*day)};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (at < text.size() && text[at] == '.') {
    std::size_t count = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++count) {
      if (count < 6) micros = micros * 10 + (text[at] - '0');
    }
    if (count == 0) return std::nullopt;
    for (; count < 6; ++count) micros *= 10;
  }
  std::int64_t offset_s = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const auto hours = digits(at + 1, 2);
    const auto minutes = digits(at + 4, 2);
    if (!hours || !minutes || at + 3 >= text.size() || text[at + 3] != ':') return std::nullopt;
    offset_s = (*hours * 3600 + *minutes * 60) * (text[at] == '+' ? 1 : -1);
    at += 6;
  }
  if (at != text.size()) return std::nullopt;
  const auto seconds = sys_days(date).time_since_epoch() + hours(*hour) + minutes(*minute) +
                       std::chrono::seconds(*second) - std::chrono::seconds(offset_s);
  return WallTime(duration_cast<system_clock::duration>(seconds + microseconds(micros)));
}

}  // namespace nimbus::aws
