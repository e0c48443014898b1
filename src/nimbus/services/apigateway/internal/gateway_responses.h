#pragma once

// REST APIs' gateway responses: what API Gateway answers for a request it
// refuses or fails itself (no method, throttled, unauthorised, integration
// failure...), by response type, as an API customises them with
// PutGatewayResponse (status code, header parameters, a body template) and
// a deployment serves them.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "nimbus/net/http_message.h"

namespace nimbus::services::apigateway::internal {

// One of API Gateway's GatewayResponseType values.
bool is_gateway_response_type(std::string_view type);

// Every type, in the order GetGatewayResponses lists them.
const std::vector<std::string_view>& gateway_response_types();

// The GatewayResponse shape of a type nobody customised (defaultResponse
// true): its status code (none for DEFAULT_4XX and DEFAULT_5XX), no
// parameters, and the {"message":$context.error.messageString} template.
boost::json::object default_gateway_response(std::string_view type);

// What the template and parameters may read besides the error itself:
// "$context.<name>" values, and "method.request.<header|querystring|path>.
// <name>" and "stageVariables.<name>" sources. nullopt: no value.
using GatewayLookup = std::function<std::optional<std::string>(std::string_view)>;

// `generated` (a gateway error of `type`, {"message": ...} or
// {"Message": ...}) as the stage's customisations make it: the type's own
// customisation, else DEFAULT_4XX's or DEFAULT_5XX's by its status class,
// sets the status code, headers from "gatewayresponse.header.<name>"
// parameters (a 'literal' or a source) and the application/json template
// with $context variables ($context.error.message, messageString and
// responseType among them). A response nothing customises is returned as
// generated.
net::HttpResponse customize_gateway_response(
    const std::map<std::string, boost::json::object>& customized, std::string_view type,
    net::HttpResponse generated, const GatewayLookup& lookup);

}  // namespace nimbus::services::apigateway::internal
