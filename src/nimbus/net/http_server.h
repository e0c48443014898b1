#pragma once

// The HTTP/1.1 server every request enters through. One io_context per I/O
// thread; a connection lives on one thread for its whole life, so nothing on
// the request path takes a lock. Beast stays inside http_server.cc.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/net/http_handler.h"

namespace boost::asio {
class io_context;
}

namespace nimbus::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4566;   // 0: any free port (tests)
  std::size_t io_threads = 0;  // 0: one per core
  std::size_t max_header_bytes = 64 * 1024;
  // A keep-alive connection with no request in flight is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // Reading the rest of a request once it started, and writing its response.
  std::chrono::milliseconds io_timeout{120'000};
  // How long stop() lets in-flight requests finish before closing them.
  std::chrono::milliseconds drain_timeout{10'000};
};

struct HttpServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t rejected = 0;
  std::uint64_t open_connections = 0;
};

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads. The handler must outlive the
  // server. Fails (with a message naming the address) if the port is taken.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options,
                                                   HttpHandler& handler);

  virtual ~HttpServer() = default;

  virtual std::string host() const = 0;
  virtual std::uint16_t port() const = 0;
  virtual std::size_t io_threads() const = 0;
  virtual HttpServerStats stats() const = 0;
  // The I/O threads' event loops, one thread each: others (the functions
  // engine) may run work on them until stop() returns.
  virtual std::vector<boost::asio::io_context*> event_loops() = 0;

  // Stop accepting, close idle connections, let requests in flight finish
  // (up to drain_timeout) and close what is left. The I/O threads keep
  // running for others' work. Blocks; call it from outside the I/O
  // threads. Idempotent.
  virtual void drain() = 0;
  // drain(), then join the I/O threads once their work is done (others'
  // work still there after two seconds is abandoned). Idempotent.
  virtual void stop() = 0;
};

}  // namespace nimbus::net
