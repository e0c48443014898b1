#include "nimbus/aws/json_protocol.h"

#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::aws {

Result<JsonRequest> decode_json_request(const net::HttpRequest& request) {
  JsonRequest decoded;
  const auto target = request.headers.get("X-Amz-Target").value_or("");
  const auto dot = target.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == target.size()) {
    return AwsError::unknown_operation("");
  }
  decoded.operation = std::string(target.substr(dot + 1));
  if (request.body.empty()) return decoded;
  boost::system::error_code ec;
  // Deep enough for DynamoDB's 32 levels of nested attribute values, each
  // two JSON levels ({"L": [...]}).
  boost::json::parse_options options;
  options.max_depth = 128;
  auto value = boost::json::parse(request.body, ec, {}, options);
  if (ec) return AwsError::serialization("Start of structure or map found where not expected.");
  if (!value.is_object()) {
    return AwsError::serialization("Start of structure or map found where not expected.");
  }
  decoded.input = std::move(value.as_object());
  return decoded;
}

std::string_view json_content_type(Protocol protocol) {
  return protocol == Protocol::kJson10 ? "application/x-amz-json-1.0"
                                       : "application/x-amz-json-1.1";
}

net::HttpResponse json_response(Protocol protocol, const boost::json::value& output) {
  return net::HttpResponse::with_body(200, std::string(json_content_type(protocol)),
                                      boost::json::serialize(output));
}

net::HttpResponse json_response(Protocol protocol, const boost::json::object& output) {
  return net::HttpResponse::with_body(200, std::string(json_content_type(protocol)),
                                      boost::json::serialize(output));
}

std::optional<std::int64_t> json_integer(const boost::json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) {
    if (value.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(value.get_uint64());
  }
  if (value.is_double()) {
    const double number = value.get_double();
    if (!std::isfinite(number) || number != std::trunc(number) || std::abs(number) > 9e18) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(number);
  }
  return std::nullopt;
}

}  // namespace nimbus::aws
