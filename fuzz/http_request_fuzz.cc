// Raw bytes from a socket: Beast's parser as the server configures it, then
// the router deciding on the head and answering the request (auth on, so the
// SigV4 path runs too).

#include <cstdint>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "nimbus/aws/router.h"
#include "nimbus/aws/sigv4.h"

namespace {

class EchoService final : public nimbus::aws::Service {
 public:
  const nimbus::aws::ServiceDescriptor& descriptor() const override { return descriptor_; }
  boost::asio::awaitable<nimbus::net::HttpResponse> handle(
      const nimbus::aws::RequestContext&, nimbus::net::HttpRequest& request) override {
    co_return nimbus::net::HttpResponse::with_body(200, "text/plain", request.body);
  }

 private:
  nimbus::aws::ServiceDescriptor descriptor_{
      "echo", "sts", nimbus::aws::Protocol::kQuery, {"Echo_20260101"}, {"/echo"}, 4096, {}, {}};
};

struct Fixture {
  Fixture()
      : clock(nimbus::aws::parse_amz_date("20261126T120000Z").value()),
        router({nimbus::aws::AuthMode::kSigV4, "us-east-1", "000000000000", 1 << 20}, credentials,
               clock) {
    credentials.add({"AKIDEXAMPLE", "secret", "fuzz"});
    (void)router.add(echo);
  }
  nimbus::env::ManualClock clock;
  nimbus::aws::CredentialStore credentials;
  EchoService echo;
  nimbus::aws::Router router;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;

  nimbus::net::HttpRequest request;
  const auto& message = parser.get();
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  (void)fixture.router.body_limit(request);
  (void)fixture.router.reject(request, nimbus::net::RequestRejection::kBodyTooLarge, 10);
  request.body = message.body();

  boost::asio::io_context context;
  boost::asio::co_spawn(context, fixture.router.handle(std::move(request)), boost::asio::detached);
  context.run();
  return 0;
}
