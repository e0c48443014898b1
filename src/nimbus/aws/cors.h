#pragma once

// CORS as function URLs and HTTP APIs answer it: the gateway itself answers
// preflight requests and adds the allow headers to every response for an
// allowed origin. Both services keep the same settings under different
// member cases (Lambda's AllowOrigins, apigatewayv2's allowOrigins).

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/net/http_message.h"

namespace nimbus::aws {

struct CorsPolicy {
  std::vector<std::string> allow_origins;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  std::optional<std::int64_t> max_age;

  enum class MemberCase { kPascal, kCamel };
  // From a Cors object as stored; members of the wrong type are ignored.
  static CorsPolicy from_json(const boost::json::object& cors, MemberCase member_case);

  bool allows(std::string_view origin) const;
  // Adds Access-Control-Allow-Origin (and -Credentials, -Expose-Headers)
  // when the request's Origin is allowed.
  void decorate(const net::HttpRequest& request, net::HttpResponse& response) const;
  // The answer to a preflight (OPTIONS with Origin and
  // Access-Control-Request-Method); nullopt for any other request.
  std::optional<net::HttpResponse> preflight(const net::HttpRequest& request, int status) const;
};

}  // namespace nimbus::aws
