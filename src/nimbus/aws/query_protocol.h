#pragma once

// awsQuery: form-encoded parameters in (body or query string), XML out.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

using FormParameters = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded: '&'-separated, '+' is a space. A
// malformed percent-escape is an error, not guessed at.
Result<FormParameters> decode_form(std::string_view text);

struct QueryRequest {
  std::string action;
  std::string version;
  FormParameters parameters;  // everything, Action and Version included

  std::optional<std::string_view> get(std::string_view name) const;
};

// Reads Action, Version and the parameters from the query string and, for
// form-encoded bodies, the body.
Result<QueryRequest> decode_query_request(const net::HttpRequest& request);

// <{action}Response xmlns=...><{action}Result>{result_xml}</...><ResponseMetadata>...
net::HttpResponse query_response(std::string_view action, std::string_view xmlns,
                                 std::string_view result_xml, std::string_view request_id);

// awsQuery names some shared errors differently from the JSON protocols
// (SignatureDoesNotMatch for InvalidSignatureException...).
std::string_view query_error_code(std::string_view code);

}  // namespace nimbus::aws
