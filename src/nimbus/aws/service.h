#pragma once

// The one narrow interface through which the composition root hands services
// to the router. A service describes how requests for it are recognised; the
// router knows no service by name.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "nimbus/aws/protocol.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

struct ServiceDescriptor {
  std::string name;          // as AWS names it: "sts", "lambda", "dynamodb"
  std::string signing_name;  // the service in SigV4 credential scopes
  Protocol protocol = Protocol::kJson11;
  std::vector<std::string>
      target_prefixes;                     // X-Amz-Target before the operation: "DynamoDB_20120810"
  std::vector<std::string> path_prefixes;  // REST services: "/2015-03-31/functions"
  std::size_t max_request_bytes = 0;       // 0: the server's limit
  // Public endpoints the service serves besides its API, reached unsigned
  // even with SigV4 on (the service decides who may call them; a signature,
  // when present, is still verified): a Host whose second label is one of
  // `host_labels` ("<url-id>.lambda-url.<region>.localhost"), or a path
  // under one of `public_path_prefixes`.
  std::vector<std::string> host_labels;
  std::vector<std::string> public_path_prefixes;
};

// Who signed the request.
struct Caller {
  std::string access_key_id;  // empty for unsigned requests
  std::string arn;            // arn:aws:iam::<account>:user/<name> or :root
  std::string user_id;
  bool anonymous = false;  // unsigned, on a public endpoint, with SigV4 on
};

// Per-request facts every service needs; lives as long as the request.
struct RequestContext {
  std::string request_id;
  std::string region;
  std::string account_id;
  Caller caller;
  std::chrono::system_clock::time_point received;
};

enum class ServiceState { kStarting, kRunning, kStopping, kStopped };
std::string_view to_string(ServiceState state);

class Service {
 public:
  virtual ~Service() = default;
  virtual const ServiceDescriptor& descriptor() const = 0;
  virtual ServiceState state() const { return ServiceState::kRunning; }

  // The largest body this request may carry, judged from its head before the
  // body is read (0: the server's limit), and the error a larger one gets.
  virtual std::size_t body_limit(const net::HttpRequest& head) const {
    (void)head;
    return descriptor().max_request_bytes;
  }
  virtual AwsError body_too_large(const net::HttpRequest& head, std::size_t limit) const {
    (void)head;
    return AwsError::request_entity_too_large(limit);
  }

  // Answers one authenticated request. Errors are responses in the service's
  // protocol (see protocol.h); must not throw.
  virtual boost::asio::awaitable<net::HttpResponse> handle(const RequestContext& context,
                                                           net::HttpRequest& request) = 0;
};

}  // namespace nimbus::aws
