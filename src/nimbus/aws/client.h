#pragma once

// The in-process AWS client: how one service calls another (API Gateway
// calls lambda:Invoke, Step Functions will call dynamodb:PutItem). The
// request is the one an AWS SDK would send; the router hands it to the
// service that answers it on the calling thread, with no socket and no
// signature: the calling service vouches for the caller, as an AWS service
// integration acting with its own role does. Thread-safe; shares the
// router's lifetime.

#include <string>

#include <boost/asio/awaitable.hpp>

#include "nimbus/aws/service.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

class Router;

class Client {
 public:
  explicit Client(const Router& router) : router_(router) {}

  // Sends `request` as `on_behalf_of`'s caller, under a new request id in
  // the same region and account. Errors come back as the answering service's
  // error responses, exactly as over HTTP.
  boost::asio::awaitable<net::HttpResponse> call(const RequestContext& on_behalf_of,
                                                 net::HttpRequest request) const;

 private:
  const Router& router_;
};

}  // namespace nimbus::aws
