#pragma once

// Amazon API Gateway: the apigatewayv2 API (restJson1 under /v2) that
// configures HTTP APIs, kept in the store, and the execute-api endpoint that
// serves them (http://<api-id>.execute-api.localhost:<port>/<stage>/<path>
// or /_aws/execute-api/<api-id>/<stage>/<path>), invoking functions through
// the in-process AWS client; and the apigateway (2015-07-09) API for REST
// APIs with proxy and mock integrations, served on the same endpoint.

#include <chrono>
#include <memory>
#include <string>

#include "nimbus/aws/service.h"
#include "nimbus/core/result.h"

namespace nimbus::storage {
class AsyncStore;
}
namespace nimbus::aws {
class Client;
}
namespace nimbus::ledger {
class Journal;
}

namespace nimbus::services::apigateway {

struct ApiGatewayServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // The account-level throttle every API shares, AWS's default quota.
  double account_rate_limit = 10'000;
  std::int64_t account_burst_limit = 5'000;
};

class ApiGatewayService : public aws::Service {
 public:
  // Loads every API. Blocks on disk. Each request served by an API leaves
  // a usage record in `journal`.
  static Result<std::unique_ptr<ApiGatewayService>> start(ApiGatewayServiceOptions options,
                                                          storage::AsyncStore& store,
                                                          const aws::Client& client,
                                                          ledger::Journal& journal);

  // The server's address, from which each API's apiEndpoint is made.
  virtual void set_endpoint_url(std::string url) = 0;
  // After the HTTP server stopped: waits for HTTP_PROXY calls in flight
  // (each bounded by its integration timeout). Blocks; idempotent.
  virtual void stop() = 0;
};

}  // namespace nimbus::services::apigateway
