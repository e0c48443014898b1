#pragma once

// What the HTTP server calls. The server owns connections and framing; the
// handler owns meaning. Implementations must be thread-safe: the server calls
// them from every I/O thread at once.

#include <cstddef>

#include <boost/asio/awaitable.hpp>

#include "nimbus/net/http_message.h"

namespace nimbus::net {

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;

  // Called with the request head (empty body) before the body is read: the
  // largest body this request may carry. A larger one is refused with
  // reject(kBodyTooLarge) and never read.
  virtual std::size_t body_limit(const HttpRequest& head) const = 0;

  // Answers a complete request. Must not throw: errors are responses.
  virtual boost::asio::awaitable<HttpResponse> handle(HttpRequest request) = 0;

  // The response for a request the server refused; `head` holds what was
  // parsed (possibly nothing).
  virtual HttpResponse reject(const HttpRequest& head, RequestRejection why,
                              std::size_t limit) const = 0;
};

}  // namespace nimbus::net
