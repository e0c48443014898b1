#include "nimbus/aws/event_stream.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

TEST(EventStreamTest, EncodesAMessageWithValidPreludeAndMessageCrcs) {
  // The AWS event stream specification's example: no headers, payload "{'foo':'bar'}".
  const std::string message = encode_event_message({}, "{'foo':'bar'}");
  ASSERT_EQ(message.size(), 29u);
  EXPECT_EQ(message.substr(0, 12),
            std::string("\x00\x00\x00\x1d\x00\x00\x00\x00\xfd\x52\x8c\x5a", 12));
  EXPECT_EQ(message.substr(25), std::string("\xc3\x65\x39\x36", 4));
}

TEST(EventStreamTest, RoundTripsEvents) {
  const std::string stream = encode_event("PayloadChunk", "application/octet-stream", "hello ") +
                             encode_event("PayloadChunk", "application/octet-stream", "world") +
                             encode_event("InvokeComplete", "application/json", "{}");
  const auto messages = decode_event_messages(stream);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].payload, "hello ");
  EXPECT_EQ(messages[1].payload, "world");
  EXPECT_EQ(messages[2].headers[0],
            (std::pair<std::string, std::string>{":event-type", "InvokeComplete"}));
  std::string corrupt = stream;
  corrupt[20] ^= 1;
  EXPECT_TRUE(decode_event_messages(corrupt).empty());
}

}  // namespace
}  // namespace nimbus::aws
