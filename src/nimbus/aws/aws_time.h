#pragma once

// The time formats AWS puts on the wire.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nimbus::aws {

using WallTime = std::chrono::system_clock::time_point;

// SigV4's basic ISO 8601 form: "20150830T123600Z".
std::string format_amz_date(WallTime time);
std::optional<WallTime> parse_amz_date(std::string_view text);

// RFC 7231 IMF-fixdate: "Sun, 30 Aug 2015 12:36:00 GMT".
std::string format_http_date(WallTime time);
std::optional<WallTime> parse_http_date(std::string_view text);

// Extended ISO 8601 with milliseconds: "2015-08-30T12:36:00.000Z".
std::string format_iso8601(WallTime time);
// What clients send for timestamps in awsQuery: "2015-08-30T12:36:00Z",
// with optional fractional seconds and a "+hh:mm" offset instead of "Z",
// or Unix seconds ("1440938160", "1440938160.5").
std::optional<WallTime> parse_iso8601(std::string_view text);

}  // namespace nimbus::aws
