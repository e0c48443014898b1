#include "nimbus/core/logging.h"

#include <gtest/gtest.h>

namespace nimbus {
namespace {

TEST(LoggingTest, ParsesFormats) {
  EXPECT_EQ(parse_log_format("text").value(), LogFormat::kText);
  EXPECT_EQ(parse_log_format("json").value(), LogFormat::kJson);
  EXPECT_FALSE(parse_log_format("xml"));
}

TEST(LoggingTest, RejectsUnknownLevel) {
  EXPECT_TRUE(configure_logging(LogFormat::kText, "debug"));
  EXPECT_TRUE(configure_logging(LogFormat::kJson, "off"));
  EXPECT_FALSE(configure_logging(LogFormat::kText, "loud"));
}

}  // namespace
}  // namespace nimbus
