#pragma once

// Asynchronous invocations (InvocationType=Event): accepted into a durable
// queue (keyspace "lambda.async") before 202 is returned, run by a worker
// loop on its own thread, retried on function errors with Lambda's back-off,
// dropped past their maximum age, and reported to destinations. An accepted
// invocation stays in the queue until it has finished, so one that was
// running when Nimbus was killed runs again after a restart (at least once,
// as on AWS). Record format: docs/formats/lambda.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "nimbus/core/result.h"
#include "nimbus/engine/engine.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::lambda::internal {

struct AsyncInvocation {
  std::string request_id;
  std::string function;   // name
  std::string qualifier;  // as invoked; empty for unqualified
  std::string payload;
  std::string client_context;
  std::uint32_t attempts = 0;    // runs that ended in an error so far
  std::int64_t enqueued_ms = 0;  // Unix epoch ms
  std::int64_t due_us = 0;       // Unix epoch us: not run before
};

// What PutFunctionEventInvokeConfig set for the invoked qualifier.
struct AsyncPolicy {
  std::uint32_t maximum_retry_attempts = 2;
  std::chrono::seconds maximum_event_age{21600};
  std::string on_success;  // destination function ARN, or empty
  std::string on_failure;
};

struct AsyncInvokerOptions {
  // Lambda waits a minute before the first retry and two before the second.
  std::chrono::milliseconds retry_delay{60'000};
  // Throttled or not runnable right now (the engine is at its limits).
  std::chrono::milliseconds throttle_delay{1'000};
  std::size_t max_running = 64;
};

class AsyncInvoker {
 public:
  using Invoke = std::function<boost::asio::awaitable<Result<engine::InvokeResult>>(
      const AsyncInvocation& invocation)>;
  using PolicyFor = std::function<std::optional<AsyncPolicy>(const AsyncInvocation& invocation)>;
  // The ARN an invocation record names ("...:function:name:$LATEST").
  using ArnFor = std::function<std::string(const AsyncInvocation&, const std::string& version)>;

  static constexpr std::string_view kKeyspace = "lambda.async";

  static Result<std::unique_ptr<AsyncInvoker>> open(storage::AsyncStore& store,
                                                    AsyncInvokerOptions options, Invoke invoke,
                                                    PolicyFor policy_for, ArnFor arn_for);
  ~AsyncInvoker();

  // Starts the worker thread; what the queue held at the last stop runs again.
  void start();

  // Durably queues the invocation; the 202 may be sent once this returns ok.
  boost::asio::awaitable<Result<void>> enqueue(AsyncInvocation invocation);

  // Stops dispatching; what is running finishes or stays queued. Call before
  // the engine stops.
  void stop_dispatching();
  // Joins the worker. Call after the engine stopped (which completes
  // whatever this invoker was waiting for).
  void stop();

  std::uint64_t queued() const;

 private:
  AsyncInvoker(storage::AsyncStore& store, storage::Keyspace keyspace, AsyncInvokerOptions options,
               Invoke invoke, PolicyFor policy_for, ArnFor arn_for);
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> dispatch(AsyncInvocation invocation, std::string key);
  boost::asio::awaitable<Result<void>> destination(const std::string& arn,
                                                   const AsyncInvocation& invocation,
                                                   const std::string& condition,
                                                   const engine::InvokeResult* result,
                                                   storage::WriteBatch& batch);
  void wake();

  storage::AsyncStore& store_;
  storage::Keyspace keyspace_;
  AsyncInvokerOptions options_;
  Invoke invoke_;
  PolicyFor policy_for_;
  ArnFor arn_for_;

  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  std::thread thread_;
  // Worker-loop state, touched only on io_'s thread.
  std::set<std::string> running_;  // keys being dispatched
  bool stopping_ = false;
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> queued_{0};
};

std::string async_key(std::int64_t due_us, std::string_view request_id);

}  // namespace nimbus::services::lambda::internal
