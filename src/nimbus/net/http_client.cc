#include "nimbus/net/http_client.h"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace nimbus::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

AwsError failure(std::string_view base_url, std::string_view what,
                 const boost::system::error_code& error) {
  return AwsError("ConnectionError", fmt::format("{} {}: {}", what, base_url, error.message()), 503,
                  Fault::kServer);
}

}  // namespace

Result<HttpResponse> http_call(std::string_view base_url, HttpRequest request,
                               std::chrono::milliseconds timeout) {
  std::string_view rest = base_url;
  if (!rest.starts_with("http://")) {
    return AwsError::validation(fmt::format("endpoint '{}' must start with http://", base_url));
  }
  rest.remove_prefix(7);
  if (const auto slash = rest.find('/'); slash != std::string_view::npos)
    rest = rest.substr(0, slash);
  std::string host;
  std::string port = "80";
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return AwsError::validation("malformed IPv6 endpoint");
    host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      port = std::string(rest.substr(close + 2));
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    port = std::string(rest.substr(colon + 1));
  } else {
    host = std::string(rest);
  }

  asio::io_context context;
  asio::ip::tcp::resolver resolver(context);
  boost::system::error_code error;
  const auto endpoints = resolver.resolve(host, port, error);
  if (error) return failure(base_url, "cannot resolve", error);
  beast::tcp_stream stream(context);
  stream.expires_after(timeout);
  stream.connect(endpoints, error);
  if (error) return failure(base_url, "cannot connect to", error);

  http::request<http::string_body> out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  for (const auto& [name, value] : request.headers) out.insert(name, value);
  if (!request.headers.contains("Host")) out.set(http::field::host, std::string(rest));
  out.body() = std::move(request.body);
  out.prepare_payload();
  http::write(stream, out, error);
  if (error) return failure(base_url, "cannot send to", error);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser, error);
  if (error) return failure(base_url, "no answer from", error);
  auto& in = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(in.result_int());
  for (const auto& field : in) {
    response.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(in.body());
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, error);
  return response;
}

}  // namespace nimbus::net
