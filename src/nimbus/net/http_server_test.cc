#include "nimbus/net/http_server.h"

#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace nimbus::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A body whose pieces a test hands over one at a time, from its own thread.
class TestBodyStream final : public BodyStream {
 public:
  void read(std::function<void(std::optional<std::string>)> ready) override {
    std::unique_lock lock(mutex_);
    if (pieces_.empty()) {
      waiting_ = std::move(ready);
      return;
    }
    auto piece = std::move(pieces_.front());
    pieces_.pop_front();
    lock.unlock();
    ready(std::move(piece));
  }
  void push(std::optional<std::string> piece) {
    std::unique_lock lock(mutex_);
    if (!waiting_) {
      pieces_.push_back(std::move(piece));
      return;
    }
    auto ready = std::move(waiting_);
    waiting_ = nullptr;
    lock.unlock();
    ready(std::move(piece));
  }

 private:
  std::mutex mutex_;
  std::deque<std::optional<std::string>> pieces_;
  std::function<void(std::optional<std::string>)> waiting_;
};

// Echoes what it received; "/slow" waits 300 ms first; "/stream" answers
// with `body_stream`.
class EchoHandler final : public HttpHandler {
 public:
  std::size_t body_limit(const HttpRequest&) const override { return 1024; }

  asio::awaitable<HttpResponse> handle(HttpRequest request) override {
    ++handled;
    if (request.path() == "/stream") {
      HttpResponse response;
      response.headers.add("Content-Type", "text/plain");
      response.stream = body_stream;
      co_return response;
    }
    if (request.path() == "/framing") {
      // Framing headers of its own, and one value that tries to start another.
      HttpResponse response = HttpResponse::with_body(200, "text/plain", "abc");
      response.headers.add("Content-Length", "999");
      response.headers.add("Transfer-Encoding", "chunked");
      response.headers.add("Connection", "keep-alive");
      response.headers.add("X-Split", "a\r\nInjected: yes");
      response.headers.add("X-Fine", "ok");
      co_return response;
    }
    if (request.path() == "/no-content") {
      co_return HttpResponse::with_body(204, "text/plain", "dropped");
    }
    if (request.path() == "/slow") {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
      co_await timer.async_wait(asio::use_awaitable);
    }
    HttpResponse response = HttpResponse::with_body(200, "text/plain", request.body);
    response.headers.add("X-Method", request.method);
    response.headers.add("X-Path", std::string(request.path()));
    response.headers.add("X-Query", std::string(request.query()));
    response.headers.add("X-Echo", std::string(request.headers.get("x-test").value_or("")));
    co_return response;
  }

  HttpResponse reject(const HttpRequest&, RequestRejection why, std::size_t limit) const override {
    const int status = why == RequestRejection::kBodyTooLarge      ? 413
                       : why == RequestRejection::kHeadersTooLarge ? 431
                                                                   : 400;
    return HttpResponse::with_body(status, "application/json",
                                   R"({"limit":)" + std::to_string(limit) + "}");
  }

  mutable std::atomic<int> handled{0};
  std::shared_ptr<TestBodyStream> body_stream = std::make_shared<TestBodyStream>();
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.port = 0;
    options.io_threads = 2;
    options.max_header_bytes = 4096;
    auto started = HttpServer::start(options, handler_);
    ASSERT_TRUE(started) << started.error().message();
    server_ = std::move(*started);
  }

  tcp::socket connect() {
    tcp::socket socket(client_context_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }

  static http::response<http::string_body> exchange(tcp::socket& socket,
                                                    http::request<http::string_body> request) {
    request.prepare_payload();
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response;
  }

  // Sends raw bytes and returns everything the server sends back until it closes.
  std::string raw_exchange(const std::string& bytes) {
    auto socket = connect();
    asio::write(socket, asio::buffer(bytes));
    std::string received;
    boost::system::error_code ec;
    char chunk[4096];
    for (;;) {
      const auto n = socket.read_some(asio::buffer(chunk), ec);
      if (ec) break;
      received.append(chunk, n);
    }
    return received;
  }

  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
  asio::io_context client_context_;
};

TEST_F(HttpServerTest, PassesRequestToHandlerAndKeepsConnectionAlive) {
  auto socket = connect();
  for (int i = 0; i < 3; ++i) {
    http::request<http::string_body> request{http::verb::post, "/a/b?x=1&y=2", 11};
    request.set(http::field::host, "localhost");
    request.set("X-Test", "value " + std::to_string(i));
    request.body() = "body";
    auto response = exchange(socket, request);
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), "body");
    EXPECT_EQ(response["X-Method"], "POST");
    EXPECT_EQ(response["X-Path"], "/a/b");
    EXPECT_EQ(response["X-Query"], "x=1&y=2");
    EXPECT_EQ(response["X-Echo"], "value " + std::to_string(i));
    EXPECT_TRUE(response.keep_alive());
  }
  EXPECT_EQ(handler_.handled.load(), 3);
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

// The server frames every answer itself: a handler's own length, coding or
// connection headers are dropped, a header value cannot start another header,
// and a 204 goes out without a body or a length, so the next answer on the
// connection is read where it starts.
TEST_F(HttpServerTest, WritesEachAnswersFramingItself) {
  const std::string received = raw_exchange(
      "GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /framing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(received,
            "HTTP/1.1 204 No Content\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n"
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain\r\n"
            "X-Fine: ok\r\n"
            "Content-Length: 3\r\n"
            "Connection: close\r\n"
            "\r\n"
            "abc");
}

// Bodies are parsed from what came with their head where they can be: each
// pipelined body ends where its length says, and one that arrives in parts
// is read to its end.
TEST_F(HttpServerTest, ReadsBodiesThatCameWithTheirHeadOrAfterIt) {
  const std::string pipelined = raw_exchange(
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
      "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n"
      "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird");
  const auto first = pipelined.find("\r\n\r\nfirst");
  const auto second = pipelined.find("\r\n\r\nsecond");
  const auto third = pipelined.find("\r\n\r\nthird");
  EXPECT_NE(first, std::string::npos) << pipelined;
  EXPECT_NE(second, std::string::npos) << pipelined;
  EXPECT_NE(third, std::string::npos) << pipelined;
  EXPECT_TRUE(first < second && second < third) << pipelined;
  EXPECT_EQ(handler_.handled.load(), 3);

  auto socket = connect();
  asio::write(
      socket,
      asio::buffer(std::string("POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  asio::write(socket, asio::buffer(std::string("-later")));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.body(), "half-later");
}

TEST_F(HttpServerTest, StreamsABodyPieceByPieceAsItIsProduced) {
  auto socket = connect();
  http::request<http::string_body> request{http::verb::get, "/stream", 11};
  request.set(http::field::host, "localhost");
  request.prepare_payload();
  http::write(socket, request);
  handler_.body_stream->push("first ");

  // The first piece arrives while the rest does not exist yet.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  http::read_header(socket, buffer, parser);
  EXPECT_EQ(parser.get().result_int(), 200);
  EXPECT_TRUE(parser.get().chunked());
  while (parser.get().body().size() < 6) http::read_some(socket, buffer, parser);
  EXPECT_EQ(parser.get().body(), "first ");
  EXPECT_FALSE(parser.is_done());

  // From another thread, as a function's answer would come.
  std::thread producer([this] {
    handler_.body_stream->push("");  // an empty piece sends nothing
    handler_.body_stream->push("second");
    handler_.body_stream->push(std::nullopt);
  });
  http::read(socket, buffer, parser);
  producer.join();
  EXPECT_EQ(parser.get().body(), "first second");
  EXPECT_TRUE(parser.get().keep_alive());

  // The connection carries the next request.
  http::request<http::string_body> next{http::verb::post, "/again", 11};
  next.set(http::field::host, "localhost");
  next.body() = "after";
  EXPECT_EQ(exchange(socket, next).body(), "after");
}

TEST_F(HttpServerTest, RefusesDeclaredOversizedBodyBeforeReadingIt) {
  const std::string big(5000, 'x');
  const auto answer =
      raw_exchange("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + big);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer;
  EXPECT_NE(answer.find(R"({"limit":1024})"), std::string::npos) << answer;
  EXPECT_EQ(handler_.handled.load(), 0);
}

TEST_F(HttpServerTest, RefusesChunkedBodyPastTheLimit) {
  std::string request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "200\r\n" + std::string(512, 'y') + "\r\n";
  request += "0\r\n\r\n";
  const auto answer = raw_exchange(request);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer;
  EXPECT_EQ(handler_.handled.load(), 0);
}

TEST_F(HttpServerTest, AcceptsChunkedBodyWithinTheLimit) {
  const auto answer = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_TRUE(answer.ends_with("hello world")) << answer;
}

TEST_F(HttpServerTest, MalformedRequestGets400AndServerKeepsServing) {
  const auto answer = raw_exchange("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  const auto bad_header = raw_exchange("GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
  EXPECT_TRUE(bad_header.starts_with("HTTP/1.1 400")) << bad_header;
  auto socket = connect();
  http::request<http::string_body> request{http::verb::get, "/", 11};
  EXPECT_EQ(exchange(socket, request).result_int(), 200);
}

TEST_F(HttpServerTest, HeadersPastTheLimitGet431) {
  const auto answer =
      raw_exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'h') + "\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 431")) << answer;
  EXPECT_EQ(handler_.handled.load(), 0);
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  const auto answer = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\nok");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200")) << answer;
  EXPECT_TRUE(answer.ends_with("ok"));
}

TEST_F(HttpServerTest, StopLetsInFlightRequestFinishAndClosesIdleConnections) {
  auto idle = connect();
  {
    http::request<http::string_body> request{http::verb::get, "/", 11};
    ASSERT_EQ(exchange(idle, request).result_int(), 200);
  }
  auto busy = connect();
  auto in_flight = std::async(std::launch::async, [&] {
    http::request<http::string_body> request{http::verb::post, "/slow", 11};
    request.body() = "finish me";
    return exchange(busy, request);
  });
  while (handler_.handled.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  const auto response = in_flight.get();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "finish me");
  EXPECT_FALSE(response.keep_alive());
  // The idle keep-alive connection was closed by the server.
  char byte;
  boost::system::error_code ec;
  idle.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  // Nothing listens any more.
  tcp::socket late(client_context_);
  late.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()), ec);
  EXPECT_TRUE(ec);
}

// drain() ends serving but not the I/O threads: others' work on them (the
// functions engine's instances) still runs until stop(), which joins them
// even with such work left pending.
TEST_F(HttpServerTest, DrainKeepsTheEventLoopsRunningForOthersUntilStop) {
  const auto loops = server_->event_loops();
  ASSERT_EQ(loops.size(), 2u);
  server_->drain();
  boost::system::error_code ec;
  tcp::socket late(client_context_);
  late.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()), ec);
  EXPECT_TRUE(ec) << "nothing listens after drain()";
  for (auto* loop : loops) {
    std::promise<std::thread::id> ran;
    asio::post(*loop, [&] { ran.set_value(std::this_thread::get_id()); });
    auto future = ran.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_NE(future.get(), std::this_thread::get_id());
  }
  // Work that would never finish on its own (an hour's timer) is abandoned.
  asio::steady_timer forever(*loops.front(), std::chrono::hours(1));
  forever.async_wait([](boost::system::error_code) {});
  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_TRUE(loops.front()->stopped());
}

TEST(HttpServerStartTest, FailsClearlyWhenThePortIsTaken) {
  EchoHandler handler;
  HttpServerOptions options;
  options.port = 0;
  options.io_threads = 1;
  auto first = HttpServer::start(options, handler);
  ASSERT_TRUE(first);
  options.port = (*first)->port();
  auto second = HttpServer::start(options, handler);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("cannot listen on 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::net
