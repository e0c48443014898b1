#include "nimbus/net/http_server.h"

#include <array>
#include <atomic>
#include <future>
#include <list>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "nimbus/core/strings.h"
#include "nimbus/net/buffered_body.h"
#include "nimbus/net/response_head.h"

namespace nimbus::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A refused request's unread body is drained for at most this long before the
// socket closes, so the client reads our 4xx instead of a connection reset.
constexpr std::chrono::milliseconds kLingerTimeout{2000};
constexpr std::size_t kLingerMaxBytes = 256 * 1024 * 1024;

// Room for a request line, headers and a small body in one read.
constexpr std::size_t kReadBufferBytes = 16 * 1024;

struct Connection {
  beast::tcp_stream* stream = nullptr;
  bool busy = false;  // a request is being read or handled
};

// An I/O thread with its own io_context. `connections` and `stopping` are
// touched only from that thread. `connections` is declared before `context`
// so that coroutine frames destroyed with the context can still unregister.
struct Worker {
  std::list<Connection*> connections;
  bool stopping = false;
  asio::io_context context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
};

class ConnectionRegistration {
 public:
  ConnectionRegistration(Worker& worker, Connection& connection)
      : worker_(worker), it_(worker.connections.insert(worker.connections.end(), &connection)) {}
  ~ConnectionRegistration() { worker_.connections.erase(it_); }
  ConnectionRegistration(const ConnectionRegistration&) = delete;
  ConnectionRegistration& operator=(const ConnectionRegistration&) = delete;

 private:
  Worker& worker_;
  std::list<Connection*>::iterator it_;
};

HttpRequest to_request(const http::request<http::string_body>& message, std::string remote) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  request.remote_address = std::move(remote);
  return request;
}

// A buffered response as it goes on the wire: its head and its body, sent
// by one gather write.
struct WireResponse {
  std::string head;
  std::string body;
  bool keep_alive = false;

  std::array<asio::const_buffer, 2> buffers() const {
    return {asio::buffer(head), asio::buffer(body)};
  }
};

WireResponse to_wire(HttpResponse&& response, bool keep_alive) {
  ResponseHead head(response.status, response.headers.size());
  for (const auto& [name, value] : response.headers) head.add(name, value);
  WireResponse wire;
  wire.keep_alive = keep_alive;
  if (head.has_body()) wire.body = std::move(response.body);
  wire.head = std::move(head).finish(wire.body.size(), keep_alive);
  return wire;
}

// The next piece of a streamed body, resumed on the caller's executor.
asio::awaitable<std::optional<std::string>> next_piece(BodyStream& body) {
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(std::optional<std::string>)>(
      [&body, executor](auto handler) {
        // BodyStream takes a std::function, which must be copyable.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        body.read([shared, executor](std::optional<std::string> piece) {
          asio::post(executor, [shared, piece = std::move(piece)]() mutable {
            std::move (*shared)(std::move(piece));
          });
        });
      },
      asio::use_awaitable);
}

// Completion handler for spawned coroutines: an exception there is a bug, and
// it is logged rather than lost or thrown across the event loop.
struct LogFailure {
  const char* what;
  void operator()(const std::exception_ptr& failure) const {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      spdlog::error("http: {} ended with an exception: {}", what, e.what());
    }
  }
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpServerOptions& options, HttpHandler& handler)
      : options_(options), handler_(handler), workers_(make_workers(thread_count(options))) {}

  ~HttpServerImpl() override { stop(); }

  Result<void> open() {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) {
      return AwsError::validation(fmt::format("invalid listen address '{}'", options_.host));
    }
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.emplace(workers_[0]->context);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return AwsError::internal(
          fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port, ec.message()));
    }
    bound_ = acceptor_->local_endpoint();

    asio::co_spawn(workers_[0]->context, accept_loop(), LogFailure{"accept loop"});
    for (auto& worker : workers_) {
      worker->guard.emplace(worker->context.get_executor());
      worker->thread = std::thread([w = worker.get()] { w->context.run(); });
    }
    return ok();
  }

  std::string host() const override { return bound_.address().to_string(); }
  std::uint16_t port() const override { return bound_.port(); }
  std::size_t io_threads() const override { return workers_.size(); }

  HttpServerStats stats() const override {
    return {accepted_.load(), requests_.load(), rejected_.load(), open_.load()};
  }

  std::vector<asio::io_context*> event_loops() override {
    std::vector<asio::io_context*> loops;
    for (auto& worker : workers_) loops.push_back(&worker->context);
    return loops;
  }

  void drain() override {
    if (drained_.exchange(true) || workers_.front()->guard == std::nullopt) return;
    // Closed before drain() returns: nothing listens once it has.
    std::promise<void> closed;
    asio::post(workers_[0]->context, [this, &closed] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      closed.set_value();
    });
    closed.get_future().wait();
    for (auto& worker : workers_) {
      asio::post(worker->context, [w = worker.get()] {
        w->stopping = true;
        for (Connection* connection : w->connections) {
          if (!connection->busy) connection->stream->close();
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
    while (open_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (open_.load() > 0) {
      spdlog::warn("http: {} connections still busy after {} ms; closing them", open_.load(),
                   options_.drain_timeout.count());
      for (auto& worker : workers_) {
        asio::post(worker->context, [w = worker.get()] {
          for (Connection* connection : w->connections) connection->stream->close();
        });
      }
    }
    const auto hard_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (open_.load() > 0 && std::chrono::steady_clock::now() < hard_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  void stop() override {
    if (stopped_.exchange(true) || workers_.front()->guard == std::nullopt) return;
    drain();
    for (auto& worker : workers_) worker->guard.reset();
    // Work not tied to a connection (a handler awaiting something that will
    // never finish, others' work) must not keep shutdown waiting forever.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (auto& worker : workers_) {
      while (!worker->context.stopped() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      worker->context.stop();
      if (worker->thread.joinable()) worker->thread.join();
    }
  }

 private:
  static std::vector<std::unique_ptr<Worker>> make_workers(std::size_t count) {
    std::vector<std::unique_ptr<Worker>> workers;
    for (std::size_t i = 0; i < count; ++i) workers.push_back(std::make_unique<Worker>());
    return workers;
  }

  static std::size_t thread_count(const HttpServerOptions& options) {
    if (options.io_threads > 0) return options.io_threads;
    return std::max(1u, std::thread::hardware_concurrency());
  }

  asio::awaitable<void> accept_loop() {
    std::size_t next = 0;
    for (;;) {
      Worker& worker = *workers_[next++ % workers_.size()];
      auto [ec, socket] = co_await acceptor_->async_accept(worker.context, kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
        spdlog::warn("http: accept failed: {}", ec.message());
        // Out of descriptors: back off rather than spin.
        asio::steady_timer pause(workers_[0]->context, std::chrono::milliseconds(50));
        co_await pause.async_wait(kNoThrow);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      ++accepted_;
      ++open_;
      asio::co_spawn(worker.context, session(worker, std::move(socket)),
                     [this](std::exception_ptr e) {
                       --open_;
                       LogFailure{"connection"}(e);
                     });
    }
  }

  // Writes a refusal, then drains what the client is still sending for a
  // bounded time so it reads the answer, and closes.
  asio::awaitable<void> refuse(beast::tcp_stream& stream, const HttpRequest& head,
                               RequestRejection why, std::size_t limit) {
    ++rejected_;
    const auto wire = to_wire(handler_.reject(head, why, limit), false);
    stream.expires_after(options_.io_timeout);
    co_await asio::async_write(stream, wire.buffers(), kNoThrow);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(kLingerTimeout);
    std::vector<char> sink(64 * 1024);
    std::size_t drained = 0;
    while (drained < kLingerMaxBytes) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
      if (ec) break;
      drained += n;
    }
    stream.close();
  }

  asio::awaitable<void> session(Worker& worker, tcp::socket socket) {
    std::string remote;
    {
      boost::system::error_code ec;
      const auto endpoint = socket.remote_endpoint(ec);
      if (!ec) remote = endpoint.address().to_string();
    }
    beast::tcp_stream stream(std::move(socket));
    Connection connection{&stream};
    ConnectionRegistration registration(worker, connection);
    beast::flat_buffer buffer;
    // Beast reads at most 512 bytes into an empty buffer, and as much as is
    // free after: without room up front a 1 KB request takes three reads.
    buffer.reserve(kReadBufferBytes);

    while (!worker.stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      connection.busy = false;
      stream.expires_after(options_.idle_timeout);
      auto [read_error, header_bytes] =
          co_await http::async_read_header(stream, buffer, parser, kNoThrow);
      connection.busy = true;
      if (read_error) {
        // Named, not a temporary: GCC 12 destroys temporaries in a co_await
        // argument list twice.
        const HttpRequest nothing_parsed;
        if (read_error == http::error::header_limit) {
          co_await refuse(stream, nothing_parsed, RequestRejection::kHeadersTooLarge,
                          options_.max_header_bytes);
        } else if (is_parse_error(read_error) && buffer.size() + header_bytes > 0) {
          co_await refuse(stream, nothing_parsed, RequestRejection::kMalformed, 0);
        }
        break;  // closed, timed out, or refused
      }

      HttpRequest request = to_request(parser.get(), remote);
      const std::size_t limit = handler_.body_limit(request);
      const auto declared = parser.content_length();
      if (declared && *declared > limit) {
        co_await refuse(stream, request, RequestRejection::kBodyTooLarge, limit);
        break;
      }
      parser.body_limit(limit);
      if (const auto expect = request.headers.get("Expect");
          expect && iequals(*expect, "100-continue")) {
        http::response<http::empty_body> proceed{http::status::continue_, 11};
        stream.expires_after(options_.io_timeout);
        auto [ec, n] = co_await http::async_write(stream, proceed, kNoThrow);
        if (ec) break;
      }
      auto body_error = parse_buffered_body(parser, buffer);
      if (!body_error && !parser.is_done()) {
        stream.expires_after(options_.io_timeout);
        auto [read_error, body_bytes] = co_await http::async_read(stream, buffer, parser, kNoThrow);
        body_error = read_error;
      }
      if (body_error) {
        if (body_error == http::error::body_limit) {
          co_await refuse(stream, request, RequestRejection::kBodyTooLarge, limit);
        } else if (is_parse_error(body_error)) {
          co_await refuse(stream, request, RequestRejection::kMalformed, 0);
        }
        break;
      }
      request.body = std::move(parser.get().body());
      const bool keep_alive = parser.get().keep_alive();

      ++requests_;
      HttpResponse response = co_await handler_.handle(std::move(request));
      if (response.stream) {
        const bool reusable = co_await write_streamed(stream, response, keep_alive);
        if (!reusable || worker.stopping) break;
        continue;
      }
      const auto wire = to_wire(std::move(response), keep_alive && !worker.stopping);
      stream.expires_after(options_.io_timeout);
      auto [write_error, written] = co_await asio::async_write(stream, wire.buffers(), kNoThrow);
      if (write_error || !wire.keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  // Writes the head, then each piece of the body as a chunk as it comes;
  // whether the connection can take another request.
  asio::awaitable<bool> write_streamed(beast::tcp_stream& stream, HttpResponse& response,
                                       bool keep_alive) {
    http::response<http::empty_body> head;
    head.version(11);
    head.result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) head.insert(name, value);
    head.keep_alive(keep_alive);
    head.chunked(true);
    http::response_serializer<http::empty_body> serializer(head);
    stream.expires_after(options_.io_timeout);
    auto [head_error, head_bytes] = co_await http::async_write_header(stream, serializer, kNoThrow);
    if (head_error) co_return false;
    for (;;) {
      // No deadline while the producer takes its time; each write has one.
      stream.expires_never();
      std::optional<std::string> piece = co_await next_piece(*response.stream);
      stream.expires_after(options_.io_timeout);
      if (!piece) {
        auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), kNoThrow);
        co_return !ec && keep_alive;
      }
      if (piece->empty()) continue;
      auto [ec, n] =
          co_await asio::async_write(stream, http::make_chunk(asio::buffer(*piece)), kNoThrow);
      if (ec) co_return false;
    }
  }

  static bool is_parse_error(const boost::system::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_method).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
  }

  HttpServerOptions options_;
  HttpHandler& handler_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::optional<tcp::acceptor> acceptor_;
  tcp::endpoint bound_;
  std::atomic<bool> drained_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> open_{0};
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options,
                                                      HttpHandler& handler) {
  auto server = std::make_unique<HttpServerImpl>(options, handler);
  if (auto opened = server->open(); !opened) return opened.error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace nimbus::net
