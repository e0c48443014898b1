// The baseline for bench/http_bench.py: the plainest Beast HTTP/1.1 server
// that does the same work Nimbus does for the benchmarked requests — read a
// request, answer a fixed body of the same size and type, keep the connection
// alive. One io_context run by N threads, as the Beast examples do.
//
//   baseline_http_server PORT THREADS   (prints "listening on PORT")

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

const std::string kHealthBody =
    R"({"status":"running","version":"0.1.0","uptime_seconds":1.0,"endpoint":"http://127.0.0.1:4566",)"
    R"("data_dir":"/tmp/x","region":"us-east-1","account_id":"000000000000","auth":"off",)"
    R"("services":{"sts":"running"},"http":{"io_threads":2,"connections_accepted":1,)"
    R"("open_connections":1,"requests":1,"rejected":0}})";

const std::string kStsBody =
    R"(<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">)"
    R"(<GetCallerIdentityResult><UserId>000000000000</UserId><Account>000000000000</Account>)"
    R"(<Arn>arn:aws:iam::000000000000:root</Arn></GetCallerIdentityResult><ResponseMetadata>)"
    R"(<RequestId>c6104cbe-af31-41e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>)"
    R"(</GetCallerIdentityResponse>)";

asio::awaitable<void> session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    auto [read_error, n] = co_await http::async_read(stream, buffer, request, kNoThrow);
    if (read_error) break;
    http::response<http::string_body> response{http::status::ok, 11};
    const bool health = request.method() == http::verb::get;
    response.set(http::field::content_type, health ? "application/json" : "text/xml");
    response.set("x-amzn-RequestId", "c6104cbe-af31-41e0-8154-cbc7ccf896c7");
    response.body() = health ? kHealthBody : kStsBody;
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    auto [write_error, m] = co_await http::async_write(stream, response, kNoThrow);
    if (write_error || !response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  asio::io_context context(threads);
  tcp::acceptor acceptor(context, {asio::ip::make_address("127.0.0.1"), port});
  std::printf("listening on %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(context, listen(acceptor), asio::detached);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&context] { context.run(); });
  context.run();
  for (auto& thread : pool) thread.join();
}
