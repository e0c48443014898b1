#pragma once

// Request bodies checked against apigatewayv2's model (shapes.inc, generated
// from botocore's service-2.json): member types, enum values, integer ranges
// and required members, nested structures included.

#include <string_view>

#include <boost/json/object.hpp>

#include "nimbus/core/result.h"

namespace nimbus::services::apigateway::internal {

// The body with only the members the input shape models (others are
// ignored, as API Gateway ignores them), or BadRequestException.
Result<boost::json::object> validate_body(std::string_view input_shape,
                                          const boost::json::object& body);

}  // namespace nimbus::services::apigateway::internal
