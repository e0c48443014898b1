#pragma once

// The AWS wire protocols (the "protocol" field of a service model) and the one
// place per protocol where an AwsError becomes bytes.

#include <string_view>

#include "nimbus/core/aws_error.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

enum class Protocol { kJson10, kJson11, kQuery, kRestJson, kRestXml };

std::string_view to_string(Protocol protocol);

// The response header that carries the request id in this protocol.
std::string_view request_id_header(Protocol protocol);

// The error as this protocol puts it on the wire, request id included.
net::HttpResponse error_response(Protocol protocol, const AwsError& error,
                                 std::string_view request_id);

}  // namespace nimbus::aws
