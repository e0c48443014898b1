#include "nimbus/storage/async_store.h"

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "nimbus/storage/test_store.h"

namespace nimbus::storage {
namespace {

namespace asio = boost::asio;

TEST(AsyncStoreTest, RunsOnStorageThreadsAndResumesOnTheCallersThread) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  AsyncStore async(*store, {2, 64});
  const auto table = store->create_keyspace("t").value();

  asio::io_context io;
  const auto io_thread = std::this_thread::get_id();
  auto done = asio::co_spawn(
      io,
      [](AsyncStore& async, Keyspace table, std::thread::id io_thread) -> asio::awaitable<bool> {
        // Named arguments: see the GCC 12 note in async_store.h.
        std::string key = "k", value = "v";
        auto put = co_await async.put(table, std::move(key), std::move(value));
        EXPECT_TRUE(put);
        EXPECT_EQ(std::this_thread::get_id(), io_thread);
        std::thread::id ran_on;
        auto read = [&ran_on, table](Store& store) {
          ran_on = std::this_thread::get_id();
          return store.get(table, "k");
        };
        auto got = co_await async.run(std::move(read));
        EXPECT_NE(ran_on, io_thread) << "storage work must not run on the I/O thread";
        EXPECT_EQ(std::this_thread::get_id(), io_thread);
        EXPECT_EQ(got.value(), "v");
        WriteBatch batch;
        batch.put(table, "a", "1").put(table, "b", "2");
        auto written = co_await async.write(std::move(batch));
        EXPECT_TRUE(written);
        ScanOptions everything;
        auto page = co_await async.scan(table, std::move(everything));
        EXPECT_EQ(page.value().items.size(), 3u);
        co_return true;
      }(async, table, io_thread),
      asio::use_future);
  io.run();
  EXPECT_TRUE(done.get());
}

TEST(AsyncStoreTest, ReadsFromMemoryInPlaceAndFallsBackToStorageThreads) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  AsyncStore async(*store, {2, 64});
  const auto table = store->create_keyspace("t").value();
  ASSERT_TRUE(store->put(table, "small", "v"));
  ASSERT_TRUE(store->put(table, "large", std::string(2000, 'x')));

  asio::io_context io;
  const auto io_thread = std::this_thread::get_id();
  auto done = asio::co_spawn(
      io,
      [](AsyncStore& async, Keyspace table, std::thread::id io_thread) -> asio::awaitable<bool> {
        std::vector<std::thread::id> ran_on;
        auto small = [&ran_on, table](Store& store) {
          ran_on.push_back(std::this_thread::get_id());
          return store.get(table, "small");
        };
        auto got = co_await async.read(std::move(small));
        EXPECT_EQ(got.value(), "v");
        EXPECT_EQ(ran_on, std::vector<std::thread::id>{io_thread}) << "cached: answered in place";
        // Past the byte budget: tried in place, then run on a storage thread.
        ran_on.clear();
        auto large = [&ran_on, table](Store& store) {
          ran_on.push_back(std::this_thread::get_id());
          return store.get(table, "large");
        };
        got = co_await async.read(std::move(large), 1000);
        EXPECT_EQ(got.value()->size(), 2000u);
        EXPECT_EQ(ran_on.size(), 2u);
        EXPECT_NE(ran_on.back(), io_thread);
        // Writes are never made in place.
        ran_on.clear();
        auto writes = [&ran_on, table](Store& store) {
          ran_on.push_back(std::this_thread::get_id());
          return store.put(table, "w", "1");
        };
        auto written = co_await async.read(std::move(writes));
        EXPECT_TRUE(written);
        EXPECT_EQ(ran_on.size(), 2u);
        EXPECT_EQ(std::this_thread::get_id(), io_thread);
        EXPECT_EQ(async.memory_reads(), 1u);
        EXPECT_EQ(async.memory_read_fallbacks(), 2u);
        co_return true;
      }(async, table, io_thread),
      asio::use_future);
  io.run();
  EXPECT_TRUE(done.get());
}

// Where the thread ran each try of an update, and what it read.
struct UpdateTry {
  std::vector<std::thread::id> ran_on;
  Result<void> result;
};

UpdateTry update_in(Durability durability, std::string key, std::size_t budget = 65536) {
  TempDir dir;
  auto store = open_store(dir.path(), durability);
  EXPECT_TRUE(store);
  AsyncStore async(*store, {2, 64});
  const auto table = store->create_keyspace("t").value();
  EXPECT_TRUE(store->put(table, "cached", "old"));
  EXPECT_TRUE(store->put(table, "large", std::string(2000, 'x')));

  asio::io_context io;
  UpdateTry out;
  auto done = asio::co_spawn(
      io,
      [](AsyncStore& async, Keyspace table, std::string key, std::size_t budget,
         UpdateTry& out) -> asio::awaitable<void> {
        // Read, then write what was read plus one: run twice, the refused
        // try must have written nothing.
        auto work = [&out, table, key](Store& store) -> Result<void> {
          out.ran_on.push_back(std::this_thread::get_id());
          auto old = store.get(table, key);
          if (!old) return old.error();
          return store.put(table, key, old->value_or("") + "+");
        };
        out.result = co_await async.update(std::move(work), budget);
      }(async, table, key, budget, out),
      asio::use_future);
  io.run();
  done.get();
  EXPECT_TRUE(out.result) << (out.result ? "" : out.result.error().message());
  auto stored = store->get(table, key);
  EXPECT_TRUE(stored);
  const std::string expected = key == "cached" ? "old+" : std::string(2000, 'x') + "+";
  EXPECT_EQ(stored->value_or("?"), expected);
  return out;
}

TEST(AsyncStoreTest, UpdatesOfCachedItemsAreWrittenInPlaceUnlessTheyWouldWait) {
  const auto io_thread = std::this_thread::get_id();
  // Cached, and acknowledged once in the log: read and written in place.
  auto cached = update_in(Durability::kProcessCrash, "cached");
  EXPECT_EQ(cached.ran_on, std::vector<std::thread::id>{io_thread});
  // The read past the budget is refused, so the whole update runs again on a
  // storage thread, and the value is written once.
  auto large = update_in(Durability::kProcessCrash, "large", 1000);
  ASSERT_EQ(large.ran_on.size(), 2u);
  EXPECT_EQ(large.ran_on.front(), io_thread);
  EXPECT_NE(large.ran_on.back(), io_thread);
  // A write that must be fsynced is never made in place.
  auto synced = update_in(Durability::kSync, "cached");
  ASSERT_EQ(synced.ran_on.size(), 2u);
  EXPECT_NE(synced.ran_on.back(), io_thread);
}

TEST(AsyncStoreTest, RefusesPastTheQueueLimitInsteadOfQueueing) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  AsyncStore async(*store, {1, 2});
  const auto table = store->create_keyspace("t").value();
  std::promise<void> release;
  auto released = release.get_future().share();

  asio::io_context io;
  std::vector<std::future<Result<std::optional<std::string>>>> results;
  for (int i = 0; i < 4; ++i) {
    results.push_back(asio::co_spawn(
        io,
        [](AsyncStore& async, Keyspace table, std::shared_future<void> released)
            -> asio::awaitable<Result<std::optional<std::string>>> {
          auto blocked = [table, released](Store& store) {
            released.wait();
            return store.get(table, "k");
          };
          co_return co_await async.run(std::move(blocked));
        }(async, table, released),
        asio::use_future));
  }
  std::thread runner([&io] { io.run(); });
  // Two are admitted; the other two are refused at once.
  for (int i = 0; i < 200 && async.refused() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(async.refused(), 2u);
  release.set_value();
  runner.join();
  int refused = 0;
  for (auto& result : results) {
    auto value = result.get();
    if (!value) {
      EXPECT_EQ(value.error().code(), "ThrottlingException");
      ++refused;
    }
  }
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(async.in_flight(), 0u);
}

}  // namespace
}  // namespace nimbus::storage
