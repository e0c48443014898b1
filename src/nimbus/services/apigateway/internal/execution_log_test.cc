#include "nimbus/services/apigateway/internal/execution_log.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace nimbus::services::apigateway::internal {
namespace {

namespace json = boost::json;

std::vector<std::string> texts(ExecutionLog& log) {
  std::vector<std::string> out;
  for (auto& line : log.take()) out.push_back(std::move(line.message));
  return out;
}

TEST(ExecutionLog, InfoLogsEverythingButDataWithoutDataTrace) {
  ExecutionLog log(ExecutionLog::Level::kInfo, false, "r-1");
  log.info("Starting execution for request: r-1");
  log.data("Method request body before transformations: {}");
  log.error("Execution failed due to a timeout error");
  EXPECT_EQ(texts(log),
            (std::vector<std::string>{"(r-1) Starting execution for request: r-1",
                                      "(r-1) Execution failed due to a timeout error"}));
  EXPECT_TRUE(log.failed());
}

TEST(ExecutionLog, ErrorLogsOnlyFailures) {
  ExecutionLog log(ExecutionLog::Level::kError, true, "r-2");
  log.info("Starting execution for request: r-2");
  log.data("Method request body before transformations: {}");
  EXPECT_FALSE(log.failed());
  EXPECT_TRUE(texts(log).empty());
  log.error("Execution failed due to configuration error: Malformed Lambda proxy response");
  EXPECT_EQ(texts(log).size(), 1u);
}

TEST(ExecutionLog, DataTraceAddsRequestAndResponseData) {
  ExecutionLog log(ExecutionLog::Level::kInfo, true, "r-3");
  log.data("Method request path: " + ExecutionLog::map_text({{"id", "7"}, {"kind", "a b"}}));
  EXPECT_EQ(texts(log), (std::vector<std::string>{"(r-3) Method request path: {id=7, kind=a b}"}));
  EXPECT_EQ(ExecutionLog::map_text({}), "{}");
}

TEST(ExecutionLog, LinesAreCutAt1024BytesOnACharacterBoundary) {
  ExecutionLog log(ExecutionLog::Level::kInfo, true, "r-4");
  // "(r-4) " is 6 bytes; then 1,017 ASCII bytes and two-byte characters.
  std::string body(1017, 'x');
  for (int i = 0; i < 100; ++i) body += "\xc3\xa9";  // é
  log.data(body);
  const auto lines = texts(log);
  ASSERT_EQ(lines.size(), 1u);
  const std::string& line = lines[0];
  ASSERT_TRUE(line.ends_with(" [TRUNCATED]"));
  const std::string kept = line.substr(0, line.size() - std::string(" [TRUNCATED]").size());
  // 1,023 bytes: the character at bytes 1,023 and 1,024 would have been
  // cut in half, so it goes whole.
  EXPECT_EQ(kept.size(), 1023u);
  EXPECT_EQ(kept.back(), 'x');
  ExecutionLog aligned(ExecutionLog::Level::kInfo, true, "r-4");
  aligned.data(std::string(1016, 'x') + body.substr(1017));  // a character ends at 1,024
  const auto cut = texts(aligned)[0];
  EXPECT_TRUE(cut.starts_with(std::string("(r-4) ") + std::string(1016, 'x') + "\xc3\xa9")) << cut;
  EXPECT_EQ(cut.size(), 1024u + std::string(" [TRUNCATED]").size());
  ExecutionLog short_log(ExecutionLog::Level::kInfo, true, "r-5");
  short_log.data(std::string(1018, 'y'));  // exactly 1,024 with the prefix
  EXPECT_EQ(texts(short_log)[0].size(), 1024u);
}

TEST(ExecutionLog, SettingsOverlayAndOffLogsNothing) {
  ExecutionLog::Settings settings;
  const json::value all = json::parse(R"({"loggingLevel":"INFO","dataTraceEnabled":true})");
  const json::value own = json::parse(R"({"loggingLevel":"OFF"})");
  ExecutionLog::overlay(&all, settings);
  EXPECT_TRUE(ExecutionLog::start(settings, "r"));
  ExecutionLog::overlay(&own, settings);
  EXPECT_FALSE(ExecutionLog::start(settings, "r"));
  ExecutionLog::overlay(nullptr, settings);
  EXPECT_FALSE(ExecutionLog::start(ExecutionLog::Settings{}, "r"));
  EXPECT_EQ(ExecutionLog::group("abc123", "prod"), "API-Gateway-Execution-Logs_abc123/prod");
}

}  // namespace
}  // namespace nimbus::services::apigateway::internal
