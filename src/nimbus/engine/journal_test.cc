#include "nimbus/engine/journal.h"

#include <gtest/gtest.h>

#include "nimbus/storage/test_store.h"

namespace nimbus::engine {
namespace {

TEST(Journal, LogEventsReadBackInOrderPerStream) {
  storage::TempDir dir;
  auto store = storage::open_store(dir.path());
  auto journal = Journal::open(*store);
  ASSERT_TRUE(journal);
  (*journal)->create_stream("/aws/lambda/f", "2026/11/26/[$LATEST]a", 1000);
  (*journal)->append_logs({{"/aws/lambda/f", "2026/11/26/[$LATEST]a", 1000, "one"},
                           {"/aws/lambda/f", "2026/11/26/[$LATEST]a", 1000, "two"},
                           {"/aws/lambda/f", "2026/11/26/[$LATEST]b", 999, "other stream"},
                           {"/aws/lambda/g", "2026/11/26/[$LATEST]a", 5, "other group"}});
  (*journal)->flush();
  auto events = Journal::read_logs(*store, "/aws/lambda/f", "2026/11/26/[$LATEST]a");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].message, "one");
  EXPECT_EQ((*events)[1].message, "two");
  EXPECT_EQ((*events)[0].timestamp_ms, 1000);
  auto all = Journal::read_logs(*store, "/aws/lambda/f");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
}

TEST(Journal, UsageRecordsSurviveReopen) {
  storage::TempDir dir;
  {
    auto store = storage::open_store(dir.path());
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    UsageRecord record;
    record.function = "f";
    record.version = "$LATEST";
    record.request_id = "r1";
    record.start_time_us = 1'700'000'000'000'000;
    record.duration_ms = 1.25;
    record.billed_ms = 2;
    record.memory_mb = 512;
    record.cold_start = true;
    record.init_ms = 30.5;
    record.outcome = InvocationOutcome::kTimeout;
    record.bytes_in = 10;
    record.bytes_out = 20;
    (*journal)->append_usage(record);
  }  // the destructor flushes
  auto store = storage::open_store(dir.path());
  auto records = Journal::read_usage(*store);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  const auto& r = (*records)[0];
  EXPECT_EQ(r.request_id, "r1");
  EXPECT_EQ(r.start_time_us, 1'700'000'000'000'000);
  EXPECT_DOUBLE_EQ(r.duration_ms, 1.25);
  EXPECT_EQ(r.billed_ms, 2u);
  EXPECT_EQ(r.memory_mb, 512u);
  EXPECT_TRUE(r.cold_start);
  EXPECT_EQ(r.outcome, InvocationOutcome::kTimeout);
  EXPECT_EQ(r.bytes_out, 20u);
}

}  // namespace
}  // namespace nimbus::engine
