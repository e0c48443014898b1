#include "nimbus/core/logging.h"

#include <memory>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace nimbus {
namespace {

// One JSON object per line: {"time":...,"level":...,"thread":...,"msg":...}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto time = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    const auto millis = time.time_since_epoch().count() % 1000;
    const auto level = spdlog::level::to_string_view(msg.level);
    boost::json::object line;
    line["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                               fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)), millis);
    line["level"] = std::string_view(level.data(), level.size());
    line["thread"] = msg.thread_id;
    line["msg"] = std::string_view(msg.payload.data(), msg.payload.size());
    const std::string text = boost::json::serialize(line);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return AwsError::validation(fmt::format("unknown log format '{}' (text or json)", name));
}

Result<void> configure_logging(LogFormat format, std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return AwsError::validation(
        fmt::format("unknown log level '{}' (trace, debug, info, warn, error, off)", level));
  }
  // Logs go to stderr; stdout carries only the start-up line tools parse.
  auto logger =
      std::make_shared<spdlog::logger>("nimbus", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return ok();
}

}  // namespace nimbus
