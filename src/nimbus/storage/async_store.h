#pragma once

// The store for coroutines: every call runs on the storage threads and
// resumes the caller on its own executor, so no I/O thread ever blocks on
// disk. Admission is bounded: past `max_in_flight` queued calls, a call is
// refused at once with ThrottlingException rather than queued without end.

#include <atomic>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "nimbus/storage/memory_read_store.h"
#include "nimbus/storage/store.h"

namespace nimbus::storage {

struct AsyncStoreOptions {
  std::size_t threads = 4;  // disk waits, not CPU: more than cores is fine
  std::size_t max_in_flight = 4096;
};

// GCC 12 destroys a non-trivial temporary in a co_await full-expression
// twice: pass named values to these calls ("auto key = ...; co_await
// async.get(table, std::move(key));"), never temporaries.
class AsyncStore {
 public:
  AsyncStore(Store& store, AsyncStoreOptions options);
  ~AsyncStore();  // stop()
  AsyncStore(const AsyncStore&) = delete;
  AsyncStore& operator=(const AsyncStore&) = delete;

  Store& store() { return store_; }
  std::size_t in_flight() const { return in_flight_.load(); }
  std::uint64_t refused() const { return refused_.load(); }

  // Runs fn(Store&) on a storage thread; fn returns a Result<...>.
  template <class Fn>
  boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> run(Fn fn);

  // For read-only work that is usually small and cached: runs fn at once on
  // the calling thread against a MemoryReadStore (memory only, at most
  // `budget_bytes` read, bounded scans, no writes), and again on a storage
  // thread if that view refused something. So fn must be read-only and safe
  // to run twice, and must pass kWouldBlockCode errors through.
  template <class Fn>
  boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> read(Fn fn,
                                                                 std::size_t budget_bytes = 65536);
  // For a write that is usually of one small, cached item: as read(), but
  // the view also applies writes that need no wait for the disk
  // (Store::write_without_waiting), so the write is acknowledged without the
  // round trip to a storage thread; on the storage thread otherwise. So
  // every refusal fn can meet must come before its first write takes effect
  // (a single write as its last fallible step), and fn must take its own
  // locks only by trying them where store.refuses_waits().
  template <class Fn>
  boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> update(
      Fn fn, std::size_t budget_bytes = 65536);
  std::uint64_t memory_reads() const { return memory_reads_.load(); }
  std::uint64_t memory_read_fallbacks() const { return memory_read_fallbacks_.load(); }

  boost::asio::awaitable<Result<std::optional<std::string>>> get(Keyspace keyspace,
                                                                 std::string key);
  boost::asio::awaitable<Result<void>> put(Keyspace keyspace, std::string key, std::string value);
  boost::asio::awaitable<Result<void>> write(WriteBatch batch);
  boost::asio::awaitable<Result<ScanPage>> scan(Keyspace keyspace, ScanOptions options);

  // Waits for queued calls to finish and joins the threads. Idempotent.
  void stop();

 private:
  static AwsError overloaded();
  template <class Fn>
  boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> in_place_or_run(
      Fn fn, std::size_t budget_bytes, MemoryReadStore::Writes writes);

  Store& store_;
  AsyncStoreOptions options_;
  boost::asio::thread_pool pool_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> memory_reads_{0};
  std::atomic<std::uint64_t> memory_read_fallbacks_{0};
};

template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> AsyncStore::read(
    Fn fn, std::size_t budget_bytes) {
  return in_place_or_run(std::move(fn), budget_bytes, MemoryReadStore::Writes::kRefused);
}

template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> AsyncStore::update(
    Fn fn, std::size_t budget_bytes) {
  return in_place_or_run(std::move(fn), budget_bytes, MemoryReadStore::Writes::kWithoutWaiting);
}

template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> AsyncStore::in_place_or_run(
    Fn fn, std::size_t budget_bytes, MemoryReadStore::Writes writes) {
  using R = std::invoke_result_t<Fn&, Store&>;
  {
    MemoryReadStore memory(store_, budget_bytes, writes);
    R result = fn(memory);
    if (result || !is_would_block(result.error())) {
      memory_reads_.fetch_add(1, std::memory_order_relaxed);
      co_return result;
    }
  }
  memory_read_fallbacks_.fetch_add(1, std::memory_order_relaxed);
  co_return co_await run(std::move(fn));
}

template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&, Store&>> AsyncStore::run(Fn fn) {
  using R = std::invoke_result_t<Fn&, Store&>;
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1);
    refused_.fetch_add(1);
    co_return R(overloaded());
  }
  auto initiation = [this, fn = std::move(fn)](auto handler) mutable {
    auto resume_on = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
    boost::asio::post(pool_, [this, fn = std::move(fn), handler = std::move(handler),
                              resume_on = std::move(resume_on)]() mutable {
      R result = fn(store_);
      in_flight_.fetch_sub(1);
      auto executor = resume_on.get_executor();
      boost::asio::post(executor,
                        [handler = std::move(handler), result = std::move(result)]() mutable {
                          std::move(handler)(std::move(result));
                        });
    });
  };
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
      std::move(initiation), boost::asio::use_awaitable);
}

}  // namespace nimbus::storage
