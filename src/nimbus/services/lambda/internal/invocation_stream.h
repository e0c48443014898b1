#pragma once

// A streamed invocation's answer on its way from the engine, which hands
// over the runtime's bytes as they arrive (on an engine thread), to the HTTP
// response that sends them on (on a server thread). Invoke with response
// streaming and RESPONSE_STREAM function URLs start the invocation with
// start(), answer once the runtime begins streaming (or the invocation is
// over), then send the rest through a net::BodyStream.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "nimbus/core/result.h"
#include "nimbus/engine/engine.h"
#include "nimbus/net/http_message.h"

namespace nimbus::services::lambda::internal {

class InvocationStream final : public engine::ResponseSink {
 public:
  // Runs the invocation with this stream as its sink; its result is
  // finish()ed into the stream. `options.response_sink` is set here.
  static std::shared_ptr<InvocationStream> start(engine::Engine& engine, std::string key,
                                                 std::string payload, engine::InvokeOptions options,
                                                 const boost::asio::any_io_executor& executor);

  void stream_started(std::string_view content_type) override;
  void stream_bytes(std::string_view bytes) override;
  void finish(Result<engine::InvokeResult> result);

  struct State {
    std::uint64_t version = 0;  // counts changes
    bool started = false;       // the runtime is streaming, with `content_type`
    std::string content_type;
    bool finished = false;
  };
  State state() const;
  // The bytes that arrived since the last take (each is returned once), and
  // the invocation's result once it is finished.
  struct Taken {
    std::string bytes;
    const Result<engine::InvokeResult>* result = nullptr;  // owned by the stream
  };
  Taken take();
  // Calls `wake` once the stream has changed since `version`: at once if it
  // already has, else on the thread that changes it. One waiter at a time.
  void on_change(std::uint64_t version, std::function<void()> wake);

 private:
  void changed(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  State state_;
  std::string bytes_;
  std::optional<Result<engine::InvokeResult>> result_;
  std::function<void()> waiter_;
};

// Resumes on the caller's executor once `stream` has changed since `version`.
boost::asio::awaitable<void> changed_since(InvocationStream& stream, std::uint64_t version);

// The rest of a streamed answer as an HTTP body: `first` (bytes taken
// already), then each piece as it arrives through `frame`, then `last` of
// the invocation's result, and the end.
std::shared_ptr<net::BodyStream> stream_body(
    std::shared_ptr<InvocationStream> stream, std::string first,
    std::function<std::string(std::string bytes)> frame,
    std::function<std::string(const Result<engine::InvokeResult>& result)> last);

}  // namespace nimbus::services::lambda::internal
