#pragma once

// The Lambda proxy payload formats: how an HTTP request becomes a function's
// event, and how the function's answer becomes the HTTP response. Version
// 2.0 serves function URLs and HTTP APIs; version 1.0 serves HTTP APIs that
// ask for it and REST APIs. It is a wire format between AWS services, so it
// lives here rather than in either service.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/aws/service.h"
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
  std::string route_key = "$default";  // "GET /items/{id}"
  std::string stage = "$default";
  std::string resource_path;  // 1.0: the route's path, "/items/{id}"
  std::string resource_id;    // 1.0: requestContext.resourceId (REST APIs)
  std::string context_path;   // 1.0: requestContext.path when not raw_path (REST: with the stage)
  std::vector<std::pair<std::string, std::string>> path_parameters;
  std::vector<std::pair<std::string, std::string>> stage_variables;
  // requestContext.authorizer, when an authorizer ran.
  std::optional<boost::json::object> authorizer;
  // requestContext.identity (1.0) for a SigV4-authorised request.
  std::string caller_access_key;
  std::string caller_arn;
  // requestContext.identity.apiKey/apiKeyId (1.0) when an API key was checked.
  std::string api_key;
  std::string api_key_id;
};

// The facts every proxy event starts from: the request's id, time and
// account, its Host as the domain, and the API (or URL) id as the domain
// prefix. Routing facts are the caller's to add.
ProxyRequestFacts proxy_facts(const RequestContext& context, const net::HttpRequest& request,
                              std::string api_id, std::string raw_path);

// The event a function gets (payload format version 2.0): lower-case
// headers joined with ",", cookies split out, query parameters decoded and
// joined with ",", the body base64-encoded unless its content type is text.
// Absent members are omitted.
// proxy_event_v2_json is the event as the function gets it, written out;
// proxy_event_v2 reads the same back, for callers that add to it.
std::string proxy_event_v2_json(const net::HttpRequest& request, const ProxyRequestFacts& facts);
boost::json::object proxy_event_v2(const net::HttpRequest& request, const ProxyRequestFacts& facts);

// A query string's parameters as the proxy events give them: names and
// values percent-decoded ('+' as a space), in order of first appearance,
// every value kept; a pair that does not decode is left out.
struct QueryParameters {
  std::vector<std::pair<std::string, std::vector<std::string>>> values;
  void add(std::string key, std::string value);
  // The last value sent for `name` (version 1.0's single value); null if none.
  const std::string* last(std::string_view name) const;
};
QueryParameters query_parameters(std::string_view raw_query);

enum class HeaderNames { kLowerCase, kAsSent };

// Version 1.0: single- and multi-value headers and query parameters (the
// single value is the last one sent), an `identity`, and null for absent
// members. HTTP APIs lower-case header names; REST APIs keep them as sent.
boost::json::object proxy_event_v1(const net::HttpRequest& request, const ProxyRequestFacts& facts,
                                   HeaderNames names);

// The HTTP response for what the function returned (payload format 2.0):
// an object with "statusCode" is read as {statusCode, headers, cookies,
// body, isBase64Encoded}; anything else valid as JSON is a 200
// application/json body; a JSON string is the body as text. An impossible
// statusCode gives the gateway's 500.
net::HttpResponse proxy_response_v2(std::string_view payload);

// Version 1.0: the function must return {statusCode, headers,
// multiValueHeaders, body, isBase64Encoded}; anything else is malformed and
// the gateway answers 500 (nullopt here).
std::optional<net::HttpResponse> proxy_response_v1(std::string_view payload);

// API Gateway's own answers: {"message":"<message>"} as application/json.
net::HttpResponse gateway_message(int status, std::string_view message);

}  // namespace nimbus::aws
