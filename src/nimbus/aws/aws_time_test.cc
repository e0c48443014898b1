#include "nimbus/aws/aws_time.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

TEST(AwsTimeTest, AmzDateRoundTrips) {
  const auto time = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(time);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*time), 1440938160);
  EXPECT_EQ(format_amz_date(*time), "20150830T123600Z");
}

TEST(AwsTimeTest, RejectsMalformedAmzDates) {
  for (const auto* text :
       {"", "2015-08-30T12:36:00Z", "20150830T1236Z", "20150830T123600", "2015083XT123600Z"}) {
    EXPECT_FALSE(parse_amz_date(text)) << text;
  }
}

TEST(AwsTimeTest, ParsesTheIso8601FormsClientsSend) {
  const auto expected = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(expected);
  EXPECT_EQ(parse_iso8601("2015-08-30T12:36:00Z"), expected);
  EXPECT_EQ(parse_iso8601("2015-08-30T12:36:00.000Z"), expected);
  EXPECT_EQ(parse_iso8601("2015-08-30T14:36:00+02:00"), expected);
  EXPECT_EQ(parse_iso8601("2015-08-30T12:36:00"), expected);  // UTC when unsaid
  EXPECT_EQ(parse_iso8601("1440938160"), expected);
  EXPECT_EQ(*parse_iso8601("2015-08-30T12:36:00.25Z") - *expected, std::chrono::milliseconds(250));
  for (std::string_view bad : {"", "2015-08-30", "2015-13-30T12:36:00Z", "2015-08-30T12:36:00Q",
                               "2015-08-30T12:36:00.Z", "1.2.3"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

TEST(AwsTimeTest, HttpDateAndIso8601) {
  const auto time = parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT");
  ASSERT_TRUE(time);
  EXPECT_EQ(format_amz_date(*time), "20150830T123600Z");
  EXPECT_EQ(format_http_date(*time), "Sun, 30 Aug 2015 12:36:00 GMT");
  EXPECT_EQ(format_iso8601(*time + std::chrono::milliseconds(7)), "2015-08-30T12:36:00.007Z");
  EXPECT_FALSE(parse_http_date("yesterday"));
}

}  // namespace
}  // namespace nimbus::aws
