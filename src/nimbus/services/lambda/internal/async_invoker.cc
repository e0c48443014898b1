#include "nimbus/services/lambda/internal/async_invoker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/aws_time.h"
#include "nimbus/aws/encoding.h"
#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"

namespace nimbus::services::lambda::internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string encode(const AsyncInvocation& invocation) {
  json::object out;
  out["format"] = 1;
  out["request_id"] = invocation.request_id;
  out["function"] = invocation.function;
  out["qualifier"] = invocation.qualifier;
  out["payload"] = aws::base64_encode(invocation.payload);
  out["client_context"] = invocation.client_context;
  out["attempts"] = invocation.attempts;
  out["enqueued_ms"] = invocation.enqueued_ms;
  out["due_us"] = invocation.due_us;
  return json::serialize(out);
}

std::optional<AsyncInvocation> decode(std::string_view text) {
  boost::system::error_code error;
  const auto value = json::parse(text, error);
  if (error || !value.is_object()) return std::nullopt;
  try {
    const auto& object = value.as_object();
    AsyncInvocation invocation;
    invocation.request_id = std::string(object.at("request_id").as_string());
    invocation.function = std::string(object.at("function").as_string());
    invocation.qualifier = std::string(object.at("qualifier").as_string());
    auto payload = aws::base64_decode(object.at("payload").as_string());
    if (!payload) return std::nullopt;
    invocation.payload = std::move(*payload);
    invocation.client_context = std::string(object.at("client_context").as_string());
    invocation.attempts = object.at("attempts").to_number<std::uint32_t>();
    invocation.enqueued_ms = object.at("enqueued_ms").to_number<std::int64_t>();
    invocation.due_us = object.at("due_us").to_number<std::int64_t>();
    return invocation;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The payload as JSON if it is JSON, else as a string: how destinations see it.
json::value as_json(std::string_view payload) {
  boost::system::error_code error;
  auto value = json::parse(payload, error);
  if (error) return json::string(payload);
  return value;
}

}  // namespace

std::string async_key(std::int64_t due_us, std::string_view request_id) {
  std::string key(8, '\0');
  auto value = static_cast<std::uint64_t>(due_us);
  for (int i = 7; i >= 0; --i) {
    key[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  key.append(request_id);
  return key;
}

Result<std::unique_ptr<AsyncInvoker>> AsyncInvoker::open(storage::AsyncStore& store,
                                                         AsyncInvokerOptions options, Invoke invoke,
                                                         PolicyFor policy_for, ArnFor arn_for) {
  auto keyspace = store.store().open_or_create_keyspace(kKeyspace);
  if (!keyspace) return keyspace.error();
  std::unique_ptr<AsyncInvoker> invoker(new AsyncInvoker(
      store, *keyspace, options, std::move(invoke), std::move(policy_for), std::move(arn_for)));
  std::uint64_t count = 0;
  storage::ScanOptions scan;
  scan.limit = 4096;
  for (;;) {
    auto page = store.store().scan(*keyspace, scan);
    if (!page) return page.error();
    count += page->items.size();
    if (!page->cursor) break;
    scan.cursor = page->cursor;
  }
  invoker->queued_ = count;
  return invoker;
}

AsyncInvoker::AsyncInvoker(storage::AsyncStore& store, storage::Keyspace keyspace,
                           AsyncInvokerOptions options, Invoke invoke, PolicyFor policy_for,
                           ArnFor arn_for)
    : store_(store),
      keyspace_(std::move(keyspace)),
      options_(options),
      invoke_(std::move(invoke)),
      policy_for_(std::move(policy_for)),
      arn_for_(std::move(arn_for)),
      timer_(io_) {}

AsyncInvoker::~AsyncInvoker() { stop(); }

void AsyncInvoker::start() {
  asio::co_spawn(io_, run(), [](std::exception_ptr error) {
    if (error) spdlog::error("lambda: the async invocation loop failed");
  });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

std::uint64_t AsyncInvoker::queued() const { return queued_.load(); }

void AsyncInvoker::wake() {
  asio::post(io_, [this] { timer_.cancel(); });
}

void AsyncInvoker::stop_dispatching() {
  asio::post(io_, [this] {
    stopping_ = true;
    timer_.cancel();
  });
}

void AsyncInvoker::stop() {
  if (stopped_.exchange(true)) return;
  stop_dispatching();
  // Whatever still waits (an invocation the engine completed as it stopped)
  // finishes through its handlers; nothing new starts.
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<Result<void>> AsyncInvoker::enqueue(AsyncInvocation invocation) {
  if (invocation.enqueued_ms == 0) invocation.enqueued_ms = now_us() / 1000;
  if (invocation.due_us == 0) invocation.due_us = now_us();
  auto key = async_key(invocation.due_us, invocation.request_id);
  auto value = encode(invocation);
  auto keyspace = keyspace_;  // named: see AsyncStore on GCC 12 and co_await
  auto stored = co_await store_.put(std::move(keyspace), std::move(key), std::move(value));
  if (!stored) co_return stored.error();
  ++queued_;
  wake();
  co_return ok();
}

asio::awaitable<void> AsyncInvoker::run() {
  while (!stopping_) {
    storage::ScanOptions scan;
    scan.limit = 256;
    auto keyspace = keyspace_;
    auto page = co_await store_.scan(std::move(keyspace), std::move(scan));
    std::chrono::microseconds wait = std::chrono::seconds(1);
    if (!page) {
      spdlog::warn("lambda: cannot read the async queue: {}", page.error().message());
    } else {
      const auto now = now_us();
      for (auto& item : page->items) {
        if (running_.size() >= options_.max_running) break;
        if (running_.contains(item.key)) continue;
        auto invocation = decode(item.value);
        if (!invocation) {
          spdlog::error("lambda: dropping an unreadable async invocation");
          storage::WriteBatch drop;
          drop.del(keyspace_, item.key);
          co_await store_.write(std::move(drop));
          continue;
        }
        if (invocation->due_us > now) {
          wait = std::chrono::microseconds(invocation->due_us - now);
          break;
        }
        running_.insert(item.key);
        asio::co_spawn(io_, dispatch(std::move(*invocation), item.key),
                       [](std::exception_ptr error) {
                         if (error) spdlog::error("lambda: an async invocation failed to run");
                       });
      }
    }
    if (stopping_) break;
    timer_.expires_after(std::min<std::chrono::microseconds>(wait, std::chrono::seconds(10)));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> AsyncInvoker::dispatch(AsyncInvocation invocation, std::string key) {
  const auto policy = policy_for_(invocation);
  storage::WriteBatch batch;
  batch.del(keyspace_, key);
  std::string condition;
  std::optional<engine::InvokeResult> outcome;
  if (!policy) {
    // The function (or the qualifier) is gone: nothing left to run.
    spdlog::info("lambda: dropping async invocation {} of deleted {}", invocation.request_id,
                 invocation.function);
  } else if (now_us() / 1000 - invocation.enqueued_ms >
             std::chrono::duration_cast<std::chrono::milliseconds>(policy->maximum_event_age)
                 .count()) {
    condition = "EventAgeExceeded";
  } else {
    auto result = co_await invoke_(invocation);
    if (stopping_) {
      // The engine stopped under it: it stays queued and runs after a restart.
      running_.erase(key);
      co_return;
    }
    if (!result) {
      // Throttled or not runnable now: try again later, not counted as an attempt.
      const auto& error = result.error();
      if (error.code() == "ResourceNotFoundException") {
        spdlog::info("lambda: dropping async invocation {}: {}", invocation.request_id,
                     error.message());
      } else {
        invocation.due_us =
            now_us() +
            std::chrono::duration_cast<std::chrono::microseconds>(options_.throttle_delay).count();
        batch.put(keyspace_, async_key(invocation.due_us, invocation.request_id),
                  encode(invocation));
      }
    } else if (result->function_error.empty()) {
      condition = "Success";
      outcome = std::move(*result);
    } else {
      ++invocation.attempts;
      outcome = std::move(*result);
      if (invocation.attempts <= policy->maximum_retry_attempts) {
        invocation.due_us =
            now_us() + std::chrono::duration_cast<std::chrono::microseconds>(
                           options_.retry_delay * static_cast<int>(invocation.attempts))
                           .count();
        batch.put(keyspace_, async_key(invocation.due_us, invocation.request_id),
                  encode(invocation));
      } else {
        condition = "RetriesExhausted";
      }
    }
  }
  const bool finished = batch.writes().size() == 1;
  if (policy && !condition.empty()) {
    const std::string& arn = condition == "Success" ? policy->on_success : policy->on_failure;
    if (!arn.empty()) {
      auto sent =
          co_await destination(arn, invocation, condition, outcome ? &*outcome : nullptr, batch);
      if (!sent) {
        spdlog::warn("lambda: destination {} for {}: {}", arn, invocation.request_id,
                     sent.error().message());
      }
    }
  }
  auto written = co_await store_.write(std::move(batch));
  if (!written) {
    spdlog::error("lambda: cannot update the async queue: {}", written.error().message());
  } else if (finished) {
    --queued_;
  }
  running_.erase(key);
  wake();
}

asio::awaitable<Result<void>> AsyncInvoker::destination(const std::string& arn,
                                                        const AsyncInvocation& invocation,
                                                        const std::string& condition,
                                                        const engine::InvokeResult* result,
                                                        storage::WriteBatch& batch) {
  // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
  const auto parts = split(arn, ':');
  if (parts.size() < 7 || parts[2] != "lambda" || parts[5] != "function") {
    co_return AwsError::validation(fmt::format("unsupported destination {}", arn));
  }
  const std::string executed = result ? result->executed_version : std::string("$LATEST");
  json::object record;
  record["version"] = "1.0";
  record["timestamp"] = aws::format_iso8601(std::chrono::system_clock::now());
  record["requestContext"] = {
      {"requestId", invocation.request_id},
      {"functionArn", arn_for_(invocation, executed)},
      {"condition", condition},
      {"approximateInvokeCount", invocation.attempts + (condition == "Success" ? 1 : 0)}};
  record["requestPayload"] = as_json(invocation.payload);
  if (result) {
    json::object response{{"statusCode", 200}, {"executedVersion", executed}};
    if (!result->function_error.empty()) response["functionError"] = result->function_error;
    record["responseContext"] = std::move(response);
    record["responsePayload"] = as_json(result->payload);
  }
  AsyncInvocation next;
  next.request_id = new_request_id();
  next.function = std::string(parts[6]);
  next.qualifier = parts.size() > 7 ? std::string(parts[7]) : std::string();
  next.payload = json::serialize(record);
  next.enqueued_ms = now_us() / 1000;
  next.due_us = now_us();
  batch.put(keyspace_, async_key(next.due_us, next.request_id), encode(next));
  ++queued_;
  co_return ok();
}

}  // namespace nimbus::services::lambda::internal
