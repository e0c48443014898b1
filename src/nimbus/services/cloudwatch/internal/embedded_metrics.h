#pragma once

// CloudWatch's embedded metric format (EMF): a log event that is a JSON
// object whose `_aws.CloudWatchMetrics` directives name metrics among its
// own members. CloudWatch turns such lines of a Lambda function's log into
// metrics, which is how Powertools for AWS Lambda and aws-embedded-metrics
// publish; Nimbus does the same for its functions' logs.

#include <cstdint>
#include <string_view>
#include <vector>

#include "nimbus/services/cloudwatch/internal/custom_metrics.h"

namespace nimbus::services::cloudwatch {

// The datums a log event's message carries: none unless it is a valid EMF
// document, either alone or after the Node.js runtime's
// "<time>\t<request id>\t<level>\t" prefix. Invalid documents are ignored
// whole, as CloudWatch ignores them.
std::vector<Datum> parse_embedded_metrics(std::string_view message);

}  // namespace nimbus::services::cloudwatch
