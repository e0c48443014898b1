#include "nimbus/services/lambda/internal/invocation_stream.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace nimbus::services::lambda::internal {
namespace {

TEST(InvocationStream, HandsOverEachByteOnceAndTheResultLast) {
  InvocationStream stream;
  auto state = stream.state();
  EXPECT_FALSE(state.started);
  EXPECT_FALSE(state.finished);

  stream.stream_started("text/plain");
  stream.stream_bytes("ab");
  stream.stream_bytes("cd");
  state = stream.state();
  EXPECT_TRUE(state.started);
  EXPECT_EQ(state.content_type, "text/plain");
  auto taken = stream.take();
  EXPECT_EQ(taken.bytes, "abcd");
  EXPECT_EQ(taken.result, nullptr);
  EXPECT_EQ(stream.take().bytes, "");

  engine::InvokeResult result;
  result.payload = "abcdef";
  stream.stream_bytes("ef");
  stream.finish(result);
  stream.stream_bytes("ignored: after the end");
  taken = stream.take();
  EXPECT_EQ(taken.bytes, "ef");
  ASSERT_NE(taken.result, nullptr);
  ASSERT_TRUE(*taken.result);
  EXPECT_EQ((*taken.result)->payload, "abcdef");
  EXPECT_TRUE(stream.state().finished);
}

TEST(InvocationStream, WakesAWaiterOnceForTheFirstChangeAfterItsVersion) {
  InvocationStream stream;
  const auto before = stream.state().version;
  stream.stream_started("text/plain");
  // Already changed since `before`: woken at once.
  int woken = 0;
  stream.on_change(before, [&] { ++woken; });
  EXPECT_EQ(woken, 1);

  // Not yet changed since now: woken by the next change, from its thread, once.
  const auto now = stream.state().version;
  std::atomic<int> later{0};
  stream.on_change(now, [&] { ++later; });
  EXPECT_EQ(later.load(), 0);
  std::thread writer([&] { stream.stream_bytes("x"); });
  writer.join();
  EXPECT_EQ(later.load(), 1);
  stream.stream_bytes("y");
  EXPECT_EQ(later.load(), 1);
}

}  // namespace
}  // namespace nimbus::services::lambda::internal
