#pragma once

// REST APIs' execution logs: what API Gateway writes of a request's way
// through a method when the stage's method settings set loggingLevel
// (ERROR or INFO) and, for request and response data, dataTraceEnabled.
// Lines read "(<request id>) <text>", in the group
// "API-Gateway-Execution-Logs_<api id>/<stage>".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

#include "nimbus/ledger/log_format.h"
#include "nimbus/net/http_message.h"

namespace nimbus::services::apigateway::internal {

class ExecutionLog {
 public:
  enum class Level { kError, kInfo };

  // From one method settings entry laid over another (for "*/*", then the
  // method's own): nullopt when the level is OFF or unset.
  struct Settings {
    std::optional<std::string> level;  // "OFF", "ERROR" or "INFO"
    bool data_trace = false;
  };
  static void overlay(const boost::json::value* method_settings, Settings& settings);
  static std::optional<ExecutionLog> start(const Settings& settings, std::string request_id);

  ExecutionLog(Level level, bool data_trace, std::string request_id);

  // What only INFO logs.
  void info(std::string_view text);
  // Request and response data: INFO with data trace.
  void data(std::string_view text);
  bool data_traced() const { return level_ == Level::kInfo && data_trace_; }
  // A failure: logged at either level, and the request counts as failed.
  void error(std::string_view text);
  bool failed() const { return failed_; }

  // The lines so far, each cut to kMaxLineBytes.
  std::vector<ledger::LogLine> take() { return std::move(lines_); }

  // API Gateway cuts log events at 1,024 bytes.
  static constexpr std::size_t kMaxLineBytes = 1024;

  // How the log prints a map: "{name=value, name=value}".
  static std::string map_text(const std::vector<std::pair<std::string, std::string>>& entries);
  static std::string headers_text(const net::HttpHeaders& headers);  // as map_text

  static std::string group(std::string_view api_id, std::string_view stage);

 private:
  void add(std::string_view text);

  Level level_;
  bool data_trace_;
  bool failed_ = false;
  std::string request_id_;
  std::vector<ledger::LogLine> lines_;
};

}  // namespace nimbus::services::apigateway::internal
