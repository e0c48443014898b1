#pragma once

// The Lambda proxy payload format 2.0: how an HTTP request becomes a
// function's event, and how the function's answer becomes the HTTP response.
// Function URLs use it, and API Gateway HTTP APIs will: it is a wire format
// between AWS services, so it lives here rather than in either service.

#include <chrono>
#include <string>

#include <boost/json/object.hpp>

#include "nimbus/net/http_message.h"

namespace nimbus::aws {

struct ProxyRequestFacts {
  std::string raw_path;  // the path the client asked for, after any routing prefix
  std::string account_id;
  std::string api_id;       // the URL id for function URLs
  std::string domain_name;  // "<url-id>.lambda-url.<region>.on.aws" or the Host
  std::string domain_prefix;
  std::string request_id;
  std::chrono::system_clock::time_point time;
};

// The event a function gets (payload format version 2.0): lower-case
// headers joined with ",", cookies split out, query parameters decoded and
// joined with ",", the body base64-encoded unless its content type is text.
boost::json::object proxy_event_v2(const net::HttpRequest& request, const ProxyRequestFacts& facts);

// The HTTP response for what the function returned (payload format 2.0):
// an object with "statusCode" is read as {statusCode, headers, cookies,
// body, isBase64Encoded}; anything else valid as JSON is a 200
// application/json body; a JSON string is the body as text.
net::HttpResponse proxy_response_v2(std::string_view payload);

}  // namespace nimbus::aws
