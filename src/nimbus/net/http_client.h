#pragma once

// A blocking HTTP/1.1 client for command-line tools (`nimbus invoke`,
// `nimbus functions`) and for API Gateway's HTTP_PROXY integrations, which
// call it on their own threads: one request per connection. Servers never
// use it on an I/O thread. Beast stays inside http_client.cc.

#include <chrono>
#include <string_view>

#include "nimbus/core/result.h"
#include "nimbus/net/http_message.h"

namespace nimbus::net {

// Sends `request` (method, target, headers, body) to `base_url`
// ("http://host:port" or "https://host:port"), setting Host and
// Content-Length. HTTPS checks the server's certificate and name against the
// machine's trust store (SSL_CERT_FILE / SSL_CERT_DIR override it). The
// whole call, connect to answer, ends after `timeout`. Errors name the
// address and what failed ("timed out" for the timeout).
Result<HttpResponse> http_call(std::string_view base_url, HttpRequest request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace nimbus::net
