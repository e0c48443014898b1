#include "nimbus/services/apigateway/internal/execution_log.h"

#include <chrono>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace nimbus::services::apigateway::internal {

namespace json = boost::json;

void ExecutionLog::overlay(const json::value* method_settings, Settings& settings) {
  if (method_settings == nullptr || !method_settings->is_object()) return;
  const auto& entry = method_settings->as_object();
  if (const auto* level = entry.if_contains("loggingLevel"); level && level->is_string()) {
    settings.level = std::string(level->as_string());
  }
  if (const auto* trace = entry.if_contains("dataTraceEnabled"); trace && trace->is_bool()) {
    settings.data_trace = trace->as_bool();
  }
}

std::optional<ExecutionLog> ExecutionLog::start(const Settings& settings, std::string request_id) {
  if (settings.level == "INFO") {
    return ExecutionLog(Level::kInfo, settings.data_trace, std::move(request_id));
  }
  if (settings.level == "ERROR") {
    return ExecutionLog(Level::kError, settings.data_trace, std::move(request_id));
  }
  return std::nullopt;
}

ExecutionLog::ExecutionLog(Level level, bool data_trace, std::string request_id)
    : level_(level), data_trace_(data_trace), request_id_(std::move(request_id)) {}

void ExecutionLog::info(std::string_view text) {
  if (level_ == Level::kInfo) add(text);
}

void ExecutionLog::data(std::string_view text) {
  if (data_traced()) add(text);
}

void ExecutionLog::error(std::string_view text) {
  failed_ = true;
  add(text);
}

void ExecutionLog::add(std::string_view text) {
  std::string line = fmt::format("({}) {}", request_id_, text);
  if (line.size() > kMaxLineBytes) {
    // Not inside a UTF-8 sequence: back up to the start of a character.
    std::size_t cut = kMaxLineBytes;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
    line += " [TRUNCATED]";
  }
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  lines_.push_back(ledger::LogLine{now_ms, std::move(line)});
}

std::string ExecutionLog::map_text(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = "{";
  for (const auto& [name, value] : entries) {
    if (out.size() > 1) out += ", ";
    out += name;
    out += '=';
    out += value;
  }
  out += '}';
  return out;
}

std::string ExecutionLog::headers_text(const net::HttpHeaders& headers) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [name, value] : headers) entries.emplace_back(name, value);
  return map_text(entries);
}

std::string ExecutionLog::group(std::string_view api_id, std::string_view stage) {
  return fmt::format("API-Gateway-Execution-Logs_{}/{}", api_id, stage);
}

}  // namespace nimbus::services::apigateway::internal
