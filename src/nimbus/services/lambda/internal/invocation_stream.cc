#include "nimbus/services/lambda/internal/invocation_stream.h"

#include <utility>

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

namespace {

class StreamBody final : public net::BodyStream, public std::enable_shared_from_this<StreamBody> {
 public:
  StreamBody(std::shared_ptr<InvocationStream> stream, std::string first,
             std::function<std::string(std::string)> frame,
             std::function<std::string(const Result<engine::InvokeResult>&)> last)
      : stream_(std::move(stream)),
        first_(std::move(first)),
        frame_(std::move(frame)),
        last_(std::move(last)) {}

  void read(std::function<void(std::optional<std::string>)> ready) override {
    if (!first_.empty()) return ready(std::exchange(first_, std::string()));
    if (ended_) return ready(std::nullopt);
    const auto version = stream_->state().version;
    auto taken = stream_->take();
    std::string piece = taken.bytes.empty() ? std::string() : frame_(std::move(taken.bytes));
    if (taken.result) {
      piece += last_(*taken.result);
      ended_ = true;
    }
    if (!piece.empty()) return ready(std::move(piece));
    if (ended_) return ready(std::nullopt);
    stream_->on_change(version, [self = shared_from_this(), ready = std::move(ready)]() mutable {
      self->read(std::move(ready));
    });
  }

 private:
  std::shared_ptr<InvocationStream> stream_;
  std::string first_;
  std::function<std::string(std::string)> frame_;
  std::function<std::string(const Result<engine::InvokeResult>&)> last_;
  bool ended_ = false;
};

}  // namespace

std::shared_ptr<net::BodyStream> stream_body(
    std::shared_ptr<InvocationStream> stream, std::string first,
    std::function<std::string(std::string bytes)> frame,
    std::function<std::string(const Result<engine::InvokeResult>& result)> last) {
  return std::make_shared<StreamBody>(std::move(stream), std::move(first), std::move(frame),
                                      std::move(last));
}

}  // namespace nimbus::services::lambda::internal
