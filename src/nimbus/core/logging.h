#pragma once

// Logging setup. Components log through spdlog's default logger; this sets its
// format (human text or one JSON object per line) and level once, at start-up.

#include <string_view>

#include "nimbus/core/result.h"

namespace nimbus {

enum class LogFormat { kText, kJson };

Result<LogFormat> parse_log_format(std::string_view name);

// Valid levels: trace, debug, info, warn, error, off.
Result<void> configure_logging(LogFormat format, std::string_view level);

}  // namespace nimbus
