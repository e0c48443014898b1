#include "nimbus/net/http_client.h"

#include <openssl/ssl.h>

#include <optional>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace nimbus::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

AwsError failure(std::string_view base_url, std::string_view what,
                 const boost::system::error_code& error) {
  const std::string reason =
      error == beast::error::timeout ? std::string("timed out") : error.message();
  return AwsError("ConnectionError", fmt::format("{} {}: {}", what, base_url, reason), 503,
                  Fault::kServer);
}

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string authority;  // host[:port] as written, for the Host header
};

Result<Endpoint> parse_base_url(std::string_view base_url) {
  Endpoint endpoint;
  std::string_view rest = base_url;
  if (rest.starts_with("https://")) {
    endpoint.tls = true;
    endpoint.port = "443";
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    endpoint.port = "80";
    rest.remove_prefix(7);
  } else {
    return AwsError::validation(
        fmt::format("endpoint '{}' must start with http:// or https://", base_url));
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos)
    rest = rest.substr(0, slash);
  endpoint.authority = std::string(rest);
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return AwsError::validation("malformed IPv6 endpoint");
    endpoint.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      endpoint.port = std::string(rest.substr(close + 2));
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    endpoint.host = std::string(rest.substr(0, colon));
    endpoint.port = std::string(rest.substr(colon + 1));
  } else {
    endpoint.host = std::string(rest);
  }
  return endpoint;
}

// Writes the request and reads the answer on `stream` (plain or TLS), as
// asynchronous operations on the caller's own io_context: Beast's timeouts
// apply only to those.
template <typename Stream>
void exchange(Stream& stream, http::request<http::string_body>& out, beast::flat_buffer& buffer,
              http::response_parser<http::string_body>& parser,
              boost::system::error_code& write_error, boost::system::error_code& read_error) {
  http::async_write(stream, out, [&](boost::system::error_code error, std::size_t) {
    write_error = error;
    if (error) return;
    http::async_read(stream, buffer, parser,
                     [&](boost::system::error_code error, std::size_t) { read_error = error; });
  });
}

}  // namespace

Result<HttpResponse> http_call(std::string_view base_url, HttpRequest request,
                               std::chrono::milliseconds timeout) {
  auto endpoint = parse_base_url(base_url);
  if (!endpoint) return endpoint.error();

  asio::io_context context;
  asio::ip::tcp::resolver resolver(context);
  boost::system::error_code error;
  const auto endpoints = resolver.resolve(endpoint->host, endpoint->port, error);
  if (error) return failure(base_url, "cannot resolve", error);

  // One deadline for the whole call: connect, handshake, write and read.
  beast::tcp_stream tcp(context);
  tcp.expires_after(timeout);
  tcp.async_connect(endpoints,
                    [&](boost::system::error_code connected, const auto&) { error = connected; });
  context.run();
  if (error) return failure(base_url, "cannot connect to", error);

  http::request<http::string_body> out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  for (const auto& [name, value] : request.headers) out.insert(name, value);
  if (!request.headers.contains("Host")) out.set(http::field::host, endpoint->authority);
  out.body() = std::move(request.body);
  out.prepare_payload();

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  boost::system::error_code write_error, read_error;
  if (!endpoint->tls) {
    exchange(tcp, out, buffer, parser, write_error, read_error);
    context.restart();
    context.run();
  } else {
    // The machine's trust store (SSL_CERT_FILE and SSL_CERT_DIR override
    // it, as for any OpenSSL client), the peer's certificate checked
    // against the host name, and SNI.
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths(error);
    if (error) return failure(base_url, "no trust store for", error);
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback(asio::ssl::host_name_verification(endpoint->host));
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), endpoint->host.c_str())) {
      return AwsError("ConnectionError", fmt::format("cannot name {} for TLS", base_url), 503,
                      Fault::kServer);
    }
    stream.async_handshake(asio::ssl::stream_base::client,
                           [&](boost::system::error_code handshaken) {
                             error = handshaken;
                             if (!error)
                               exchange(stream, out, buffer, parser, write_error, read_error);
                           });
    context.restart();
    context.run();
    if (error) return failure(base_url, "TLS handshake with", error);
  }
  if (write_error) return failure(base_url, "cannot send to", write_error);
  if (read_error) return failure(base_url, "no answer from", read_error);

  auto& in = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(in.result_int());
  for (const auto& field : in) {
    response.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(in.body());
  return response;
}

}  // namespace nimbus::net
