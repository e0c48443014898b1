#pragma once

// awsJson1_0 / awsJson1_1: POST /, X-Amz-Target "Prefix.Operation", a JSON
// object in and out.

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/aws/protocol.h"
#include "nimbus/core/result.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

struct JsonRequest {
  std::string operation;  // from X-Amz-Target, after the last '.'
  boost::json::object input;
};

// An empty body is an empty object; anything but a JSON object is a
// SerializationException, as AWS answers it.
Result<JsonRequest> decode_json_request(const net::HttpRequest& request);

std::string_view json_content_type(Protocol protocol);

net::HttpResponse json_response(Protocol protocol, const boost::json::value& output);
// The same for an object, serialised where it is: an object passed as a
// json::value is copied whole first.
net::HttpResponse json_response(Protocol protocol, const boost::json::object& output);

// A JSON number that is an integer an int64 holds (1.0 is; 1.5 and 1e300
// are not): client input, where to_number<int64_t> would throw.
std::optional<std::int64_t> json_integer(const boost::json::value& value);

}  // namespace nimbus::aws
