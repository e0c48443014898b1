#include "nimbus/services/lambda/internal/invocation_stream.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nimbus::services::lambda::internal {

namespace asio = boost::asio;

std::shared_ptr<InvocationStream> InvocationStream::start(engine::Engine& engine, std::string key,
                                                          std::string payload,
                                                          engine::InvokeOptions options,
                                                          const asio::any_io_executor& executor) {
  auto stream = std::make_shared<InvocationStream>();
  options.response_sink = stream;
  // The invocation runs on whether or not anyone still reads the stream.
  asio::co_spawn(
      executor,
      [&engine, stream, key = std::move(key), payload = std::move(payload),
       options = std::move(options)]() mutable -> asio::awaitable<void> {
        auto result =
            co_await engine.invoke(std::move(key), std::move(payload), std::move(options));
        // The engine holds the sink in the invocation's options: let go of
        // it there by finishing, not by waiting for the engine to forget.
        stream->finish(std::move(result));
      },
      asio::detached);
  return stream;
}

void InvocationStream::stream_started(std::string_view content_type) {
  std::unique_lock lock(mutex_);
  if (state_.finished) return;
  state_.started = true;
  state_.content_type = std::string(content_type);
  changed(lock);
}

void InvocationStream::stream_bytes(std::string_view bytes) {
  std::unique_lock lock(mutex_);
  if (state_.finished || bytes.empty()) return;
  bytes_.append(bytes);
  changed(lock);
}

void InvocationStream::finish(Result<engine::InvokeResult> result) {
  std::unique_lock lock(mutex_);
  if (state_.finished) return;
  state_.finished = true;
  result_ = std::move(result);
  changed(lock);
}

void InvocationStream::changed(std::unique_lock<std::mutex>& lock) {
  ++state_.version;
  auto wake = std::move(waiter_);
  waiter_ = nullptr;
  lock.unlock();
  if (wake) wake();
}

InvocationStream::State InvocationStream::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

InvocationStream::Taken InvocationStream::take() {
  std::lock_guard lock(mutex_);
  Taken taken;
  taken.bytes.swap(bytes_);
  // Set once and never changed after: safe to read without the lock.
  if (result_) taken.result = &*result_;
  return taken;
}

void InvocationStream::on_change(std::uint64_t version, std::function<void()> wake) {
  std::unique_lock lock(mutex_);
  if (state_.version == version) {
    waiter_ = std::move(wake);
    return;
  }
  lock.unlock();
  wake();
}

asio::awaitable<void> changed_since(InvocationStream& stream, std::uint64_t version) {
  auto executor = co_await asio::this_coro::executor;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&stream, version, executor](auto handler) {
        // on_change takes a std::function, which must be copyable.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        stream.on_change(version, [shared, executor] {
          asio::post(executor, [shared] { std::move (*shared)(); });
        });
      },
      asio::use_awaitable);
}

}  // namespace nimbus::services::lambda::internal
