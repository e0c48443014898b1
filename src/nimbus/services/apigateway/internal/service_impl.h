#pragma once

// API Gateway's implementation, shared by its source files:
// apigateway_service.cc (routing of the management APIs), http_apis.cc (the
// apigatewayv2 operations), rest_apis.cc (the apigateway operations for REST
// APIs) and execute_api.cc (serving both).

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/aws/lambda_proxy.h"

#include "nimbus/aws/client.h"
#include "nimbus/aws/rest_protocol.h"
#include "nimbus/services/apigateway/apigateway_service.h"
#include "nimbus/services/apigateway/internal/execution_log.h"
#include "nimbus/services/apigateway/internal/gateway_responses.h"
#include "nimbus/services/apigateway/internal/jwt.h"
#include "nimbus/services/apigateway/internal/model.h"
#include "nimbus/services/apigateway/internal/rest_model.h"
#include "nimbus/services/apigateway/internal/throttle.h"
#include "nimbus/services/apigateway/internal/token_pattern.h"
#include "nimbus/storage/async_store.h"
#include "nimbus/storage/record_catalog.h"

namespace nimbus::services::apigateway::internal {

enum class ApiModel { kHttpApis, kRestApis };

// One management request as an operation sees it; HTTP API operations get
// the body validated against their input shape.
struct Call : aws::RestCall {
  std::string api_id;  // {apiId} or {restapi_id}, named so it can be awaited with
};

using Reply = Result<net::HttpResponse>;
using ApiCatalog = storage::RecordCatalog<HttpApi>;
using RestApiCatalog = storage::RecordCatalog<RestApiRecord>;
using JsonCatalog = storage::RecordCatalog<JsonRecord>;
inline constexpr std::string_view kApisKeyspace = "apigateway.apis";
inline constexpr std::string_view kRestApisKeyspace = "apigateway.restapis";
inline constexpr std::string_view kApiKeysKeyspace = "apigateway.apikeys";
inline constexpr std::string_view kUsagePlansKeyspace = "apigateway.usageplans";

// What invoking a function came to.
struct FunctionAnswer {
  enum class Outcome { kAnswered, kTimedOut, kFailed };
  Outcome outcome = Outcome::kAnswered;
  net::HttpResponse response;  // Lambda's answer, when it gave one
  std::string reason;          // why it failed, for the log
  std::string function_error;  // the errorMessage of a function that threw
};

enum class PayloadFormat { kV1, kV2 };

// The answers a gateway gives when a proxied function timed out, and when
// it failed or answered malformed.
struct ProxyFailures {
  net::HttpResponse timed_out;
  net::HttpResponse failed;
};

// Whether a change to an API's routes, integrations or authorizers is
// deployed at once to its stages with autoDeploy.
enum class Redeploy { kNo, kAutoDeployStages };

class ApiGatewayServiceImpl final : public ApiGatewayService {
 public:
  ApiGatewayServiceImpl(ApiGatewayServiceOptions options, storage::AsyncStore& store,
                        const aws::Client& client, ledger::Journal& journal);
  Result<void> open();

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }
  boost::asio::awaitable<net::HttpResponse> handle(const aws::RequestContext& context,
                                                   net::HttpRequest& request) override;
  // Requests to an HTTP API may carry 10 MB, as on AWS.
  std::size_t body_limit(const net::HttpRequest& head) const override;
  AwsError body_too_large(const net::HttpRequest& head, std::size_t limit) const override;
  void set_endpoint_url(std::string url) override;
  void stop() override { http_pool_.join(); }

 private:
  boost::asio::awaitable<Reply> dispatch(Call& call);

  // http_apis.cc
  boost::asio::awaitable<Reply> create_api(Call& call);
  boost::asio::awaitable<Reply> get_api(Call& call);
  boost::asio::awaitable<Reply> get_apis(Call& call);
  boost::asio::awaitable<Reply> update_api(Call& call);
  boost::asio::awaitable<Reply> delete_api(Call& call);
  boost::asio::awaitable<Reply> delete_cors(Call& call);
  boost::asio::awaitable<Reply> create_route(Call& call);
  boost::asio::awaitable<Reply> update_route(Call& call);
  boost::asio::awaitable<Reply> create_integration(Call& call);
  boost::asio::awaitable<Reply> update_integration(Call& call);
  boost::asio::awaitable<Reply> create_authorizer(Call& call);
  boost::asio::awaitable<Reply> update_authorizer(Call& call);
  boost::asio::awaitable<Reply> create_stage(Call& call);
  boost::asio::awaitable<Reply> update_stage(Call& call);
  boost::asio::awaitable<Reply> delete_stage(Call& call);
  boost::asio::awaitable<Reply> create_deployment(Call& call);
  boost::asio::awaitable<Reply> update_deployment(Call& call);
  boost::asio::awaitable<Reply> delete_deployment(Call& call);
  boost::asio::awaitable<Reply> get_tags(Call& call);
  boost::asio::awaitable<Reply> tag_resource(Call& call);
  boost::asio::awaitable<Reply> untag_resource(Call& call);
  // Get/GetAll/Delete of routes, integrations, authorizers, stages and
  // deployments: the same shape for each collection.
  boost::asio::awaitable<Reply> get_child(Call& call, std::string_view collection);
  boost::asio::awaitable<Reply> get_children(Call& call, std::string_view collection);
  boost::asio::awaitable<Reply> delete_child(Call& call, std::string_view collection);

  // rest_apis.cc
  boost::asio::awaitable<Reply> create_rest_api(Call& call);
  boost::asio::awaitable<Reply> get_rest_api(Call& call);
  boost::asio::awaitable<Reply> get_rest_apis(Call& call);
  boost::asio::awaitable<Reply> update_rest_api(Call& call);
  boost::asio::awaitable<Reply> delete_rest_api(Call& call);
  boost::asio::awaitable<Reply> get_resources(Call& call);
  boost::asio::awaitable<Reply> get_resource(Call& call);
  boost::asio::awaitable<Reply> create_resource(Call& call);
  boost::asio::awaitable<Reply> delete_resource(Call& call);
  boost::asio::awaitable<Reply> put_method(Call& call);
  boost::asio::awaitable<Reply> get_method(Call& call);
  boost::asio::awaitable<Reply> delete_method(Call& call);
  boost::asio::awaitable<Reply> put_integration(Call& call);
  boost::asio::awaitable<Reply> get_integration(Call& call);
  boost::asio::awaitable<Reply> delete_integration(Call& call);
  boost::asio::awaitable<Reply> put_method_response(Call& call);
  boost::asio::awaitable<Reply> put_integration_response(Call& call);
  boost::asio::awaitable<Reply> create_rest_deployment(Call& call);
  boost::asio::awaitable<Reply> delete_rest_deployment(Call& call);
  boost::asio::awaitable<Reply> create_rest_stage(Call& call);
  boost::asio::awaitable<Reply> create_rest_authorizer(Call& call);
  boost::asio::awaitable<Reply> delete_rest_authorizer(Call& call);
  boost::asio::awaitable<Reply> put_gateway_response(Call& call);
  boost::asio::awaitable<Reply> get_gateway_response(Call& call);
  boost::asio::awaitable<Reply> get_gateway_responses(Call& call);
  boost::asio::awaitable<Reply> update_gateway_response(Call& call);
  boost::asio::awaitable<Reply> delete_gateway_response(Call& call);
  boost::asio::awaitable<Reply> update_rest_authorizer(Call& call);
  boost::asio::awaitable<Reply> update_usage_plan(Call& call);
  boost::asio::awaitable<Reply> reset_authorizers_cache(Call& call);
  // usage_plans.cc
  boost::asio::awaitable<Reply> create_api_key(Call& call);
  boost::asio::awaitable<Reply> get_api_key(Call& call);
  boost::asio::awaitable<Reply> get_api_keys(Call& call);
  boost::asio::awaitable<Reply> update_api_key(Call& call);
  boost::asio::awaitable<Reply> delete_api_key(Call& call);
  boost::asio::awaitable<Reply> create_usage_plan(Call& call);
  boost::asio::awaitable<Reply> get_usage_plan(Call& call);
  boost::asio::awaitable<Reply> get_usage_plans(Call& call);
  boost::asio::awaitable<Reply> delete_usage_plan(Call& call);
  boost::asio::awaitable<Reply> create_usage_plan_key(Call& call);
  boost::asio::awaitable<Reply> get_usage_plan_keys(Call& call);
  boost::asio::awaitable<Reply> delete_usage_plan_key(Call& call);
  boost::asio::awaitable<Reply> get_usage(Call& call);
  boost::asio::awaitable<Reply> update_usage(Call& call);
  // An add or remove of "/apiStages" in UpdateUsagePlan.
  Result<void> patch_api_stages(boost::json::object& plan,
                                const boost::json::object& operation) const;
  static Result<void> patch_stage_throttle(boost::json::object& plan,
                                           const boost::json::object& operation);
  // At open: each key's use of its plan's current quota period, from the
  // ledger, so a restart does not start the period afresh.
  Result<void> restore_quotas();
  // Stores (or with nullopt removes) one account-level record after
  // `change(current)` allows it; serialised with every other change. Takes
  // a reference, like update().
  template <class Change>
  boost::asio::awaitable<Result<void>> change_json_record(JsonCatalog& catalog,
                                                          const std::string& id, Change& change) {
    auto mutation = [&change](const JsonRecord* current) -> Result<JsonCatalog::Outcome> {
      Result<std::optional<JsonRecord>> outcome = change(current);
      if (!outcome) return outcome.error();
      if (!*outcome) return JsonCatalog::Outcome(JsonCatalog::Remove{});
      return JsonCatalog::Outcome(std::move(**outcome));
    };
    co_return co_await store_.run([&catalog, &id, &mutation](storage::Store&) -> Result<void> {
      return catalog.mutate(id, mutation);
    });
  }
  // A method with apiKeyRequired: the API key (the x-api-key header's, or
  // with the API's apiKeySource AUTHORIZER the one the method's Lambda
  // authorizer named), a usage plan of this API stage holding it, its
  // throttle and quota. The refusal, or nullopt with the key's id and value
  // in `facts`.
  std::optional<net::HttpResponse> check_api_key(
      const net::HttpRequest& request, const RestApiRecord& record, const std::string& stage,
      const std::optional<std::string>& usage_identifier_key, aws::ProxyRequestFacts& facts);
  // Get and list of deployments, stages and authorizers.
  boost::asio::awaitable<Reply> get_rest_child(Call& call, std::string_view collection);
  boost::asio::awaitable<Reply> get_rest_children(Call& call, std::string_view collection);
  boost::asio::awaitable<Reply> update_rest_stage(Call& call);
  boost::asio::awaitable<Reply> delete_rest_stage(Call& call);
  Result<std::shared_ptr<const RestApiRecord>> find_rest_api(const std::string& api_id) const;
  // Runs a REST API method: AWS_PROXY, HTTP_PROXY or MOCK.
  // What serving a request found out, for its access log line.
  struct Served {
    std::shared_ptr<const StageView> stage;
    std::string route_key;      // HTTP APIs: "GET /items/{id}"; REST: "/items/{id}"
    std::string resource_path;  // "/items/{id}"
    std::string rest_api_name;  // REST APIs: the API's name, CloudWatch's ApiName
    // The route's (HTTP APIs) or method's (REST APIs) settings enable
    // detailed metrics, which are kept under `metrics_route`: the route key,
    // or "<METHOD> <resource path>" (CloudWatch's Route, or Method and
    // Resource).
    bool detailed_metrics = false;
    std::string metrics_route;
    enum class Api { kNone, kHttp, kRest } api = Api::kNone;  // kNone: no such API
    // From relaying the request to the integration to its answer (AWS's
    // IntegrationLatency); unset when none was reached (refused, throttled).
    std::optional<std::chrono::steady_clock::duration> integration_latency;
    // REST APIs: the method's execution log, when its settings turn it on.
    std::optional<ExecutionLog> execution_log;
    // The gateway response type of an answer the gateway made itself
    // (REST APIs customize these); unset for the integration's own answer.
    std::optional<std::string_view> gateway_response;
    std::vector<std::pair<std::string, std::string>> path_parameters;
  };
  boost::asio::awaitable<net::HttpResponse> execute_rest(const aws::RequestContext& context,
                                                         net::HttpRequest& request,
                                                         const RestApiRecord& record,
                                                         const std::string& path, Served& served);

  // execute_api.cc
  boost::asio::awaitable<net::HttpResponse> execute(const aws::RequestContext& context,
                                                    net::HttpRequest& request, std::string api_id,
                                                    std::string path, Served& served);
  // What a gateway response's parameters and template may read: the
  // request ("method.request.header.<name>", querystring, path), the
  // stage's variables and "$context.<name>" values.
  static std::optional<std::string> gateway_response_source(const aws::RequestContext& context,
                                                            const net::HttpRequest& request,
                                                            const Served& served,
                                                            std::string_view name);
  // A REST API request's execution log, ended with its outcome.
  void write_execution_log(const std::string& api_id, const net::HttpResponse& response,
                           Served& served);
  // The stage's access log line, when it has accessLogSettings.
  void write_access_log(const aws::RequestContext& context, const std::string& api_id,
                        const net::HttpRequest& request, std::size_t bytes_in,
                        const net::HttpResponse& response, const Served& served,
                        std::chrono::steady_clock::time_point started);
  // One served request's usage record (an unknown API's 404 is not one).
  void meter(const aws::RequestContext& context, const std::string& api_id,
             const net::HttpRequest& request, std::size_t bytes_in,
             const net::HttpResponse& response, const Served& served,
             std::chrono::steady_clock::time_point started);
  // Invokes a function through the in-process client and waits at most
  // `timeout` (the call goes on after that, unwaited for).
  boost::asio::awaitable<FunctionAnswer> invoke_function(const aws::RequestContext& context,
                                                         const std::string& function,
                                                         std::string& payload,
                                                         std::chrono::milliseconds timeout);
  // A Lambda proxy integration: the event to the function, its answer mapped
  // by the payload format's rules, or `failures`' answer when it timed out,
  // failed or answered malformed (413 when Lambda refused the event's size).
  boost::asio::awaitable<net::HttpResponse> proxy_to_function(
      const aws::RequestContext& context, const std::string& log_label, const std::string& function,
      std::string payload, std::chrono::milliseconds timeout, PayloadFormat format,
      const ProxyFailures& failures, Served& served);
  // Runs the route's authorisation (AWS_IAM, or a Lambda REQUEST authorizer
  // with its cache); the refusal to send, or nullopt with `facts` carrying
  // what the authorizer said.
  boost::asio::awaitable<std::optional<net::HttpResponse>> authorize(
      const aws::RequestContext& context, net::HttpRequest& request, const std::string& api_id,
      const StageView& stage, const CompiledRoute& route, const std::string& arn,
      aws::ProxyRequestFacts& facts);
  // The Lambda authorizer's answer to `event` for this identity, from the
  // cache (authorizerResultTtlInSeconds) or by invoking it; nullopt when it
  // failed, with `function_error` its errorMessage if it threw.
  boost::asio::awaitable<std::optional<boost::json::object>> ask_authorizer(
      const aws::RequestContext& context, const std::string& api_id,
      const std::string& authorizer_id, const boost::json::object& authorizer,
      const std::vector<std::string>& identity, boost::json::object& event,
      std::string& function_error);
  // A REST API method with a TOKEN or REQUEST Lambda authorizer; the API
  // key it names (usageIdentifierKey) into `usage_identifier_key`.
  boost::asio::awaitable<std::optional<net::HttpResponse>> authorize_rest(
      const aws::RequestContext& context, net::HttpRequest& request, const std::string& api_id,
      const StageView& stage, const CompiledRoute& route, const std::string& arn,
      aws::ProxyRequestFacts& facts, std::optional<std::string>& usage_identifier_key);
  // A JWT route: the bearer token checked against the issuer's keys.
  boost::asio::awaitable<std::optional<net::HttpResponse>> authorize_jwt(
      const aws::RequestContext& context, const net::HttpRequest& request, const StageView& stage,
      const CompiledRoute& route, const boost::json::object& authorizer,
      aws::ProxyRequestFacts& facts);
  // The issuer's keys, by OpenID discovery, cached for an hour.
  boost::asio::awaitable<Result<std::shared_ptr<const JwkSet>>> issuer_keys(
      const aws::RequestContext& context, const std::string& issuer, const std::string& kid);
  // A GET of an http:// URL on the service's own threads: the body of a 200.
  boost::asio::awaitable<Result<std::string>> fetch(const aws::RequestContext& context,
                                                    const std::string& url);
  boost::asio::awaitable<net::HttpResponse> forward_http(
      const aws::RequestContext& context, const net::HttpRequest& request,
      const boost::json::object& integration, const RouteMatch& match,
      const std::string& route_path, std::chrono::milliseconds timeout, Served& served);
  // The API id a request to the execute-api endpoint addresses, and the
  // path after it; nullopt if it is not for that endpoint.
  std::optional<std::pair<std::string, std::string>> execute_target(
      const net::HttpRequest& request) const;

  // Runs `edit` on a copy of the API's record on a storage thread,
  // serialised with every other change, and stores it if it returns ok;
  // NotFoundException if there is no such API. Takes a reference and a
  // capture-by-reference lambda (GCC 12 destroys non-trivial argument
  // temporaries of a co_await expression twice).
  template <class Edit>
  boost::asio::awaitable<Result<void>> update(const std::string& api_id, Redeploy redeploy,
                                              Edit& edit) {
    auto finished = [this, redeploy, &edit](HttpApi& record) -> Result<void> {
      if (auto edited = edit(record); !edited) return edited;
      finish_change(record, redeploy);
      return ok();
    };
    co_return co_await update_record(*catalog_, api_id, finished);
  }
  // The same for a REST API's record; the record is recompiled after `edit`.
  template <class Edit>
  boost::asio::awaitable<Result<void>> update_rest(const std::string& api_id, Edit& edit) {
    auto finished = [&edit](RestApiRecord& record) -> Result<void> {
      if (auto edited = edit(record); !edited) return edited;
      record.compile();
      return ok();
    };
    co_return co_await update_record(*rest_catalog_, api_id, finished);
  }
  template <class Record, class Edit>
  boost::asio::awaitable<Result<void>> update_record(storage::RecordCatalog<Record>& catalog,
                                                     const std::string& api_id, Edit& edit) {
    using Catalog = storage::RecordCatalog<Record>;
    auto mutation = [this, &api_id,
                     &edit](const Record* current) -> Result<typename Catalog::Outcome> {
      if (current == nullptr) return api_not_found(api_id);
      Record record = *current;
      if (auto edited = edit(record); !edited) return edited.error();
      return typename Catalog::Outcome(std::move(record));
    };
    co_return co_await store_.run([&catalog, &api_id, &mutation](storage::Store&) -> Result<void> {
      return catalog.mutate(api_id, mutation);
    });
  }
  // Deploys to autoDeploy stages when asked, drops unserved snapshots and
  // recompiles the stage views.
  void finish_change(HttpApi& record, Redeploy redeploy) const;
  AwsError api_not_found(std::string_view api_id) const;
  Result<std::shared_ptr<const HttpApi>> find_api(const std::string& api_id) const;
  // The Api shape as the API returns it (apiEndpoint added).
  boost::json::object api_view(const HttpApi& record) const;
  std::string api_endpoint(const std::string& api_id) const;
  std::string now_iso8601() const;

  ApiGatewayServiceOptions options_;
  storage::AsyncStore& store_;
  const aws::Client& client_;
  ledger::Journal& journal_;
  // Access and execution log streams already created this run ("group NUL
  // stream").
  std::mutex access_log_mutex_;
  std::set<std::string> access_log_streams_;
  // This run's execution log stream in each stage's group: API Gateway
  // names them by 32 hexadecimal digits.
  const std::string execution_log_stream_;
  aws::ServiceDescriptor descriptor_;
  aws::RestRoutes routes_;
  std::unique_ptr<ApiCatalog> catalog_;
  std::unique_ptr<RestApiCatalog> rest_catalog_;
  std::unique_ptr<JsonCatalog> api_keys_;
  std::unique_ptr<JsonCatalog> usage_plans_;
  // "<plan>/<key>/<period start>" -> requests counted against the quota;
  // guarded by mutex_.
  std::map<std::string, std::int64_t> quota_used_;
  // Under mutex_: a key's count for the quota period `counter` (prefix:
  // the plan and key) names, starting a new period at 0.
  std::int64_t& quota_count(const std::string& prefix, const std::string& counter);
  Throttle throttle_;
  // guards endpoint_url_, authorizer_cache_, jwks_cache_ and token_patterns_
  mutable std::mutex mutex_;
  std::string endpoint_url_;
  // "<api>/<authorizer>/<identity>" -> (expiry, the authorizer's answer)
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, boost::json::value>>
      authorizer_cache_;
  // identityValidationExpressions, compiled once each (token_pattern.h).
  std::map<std::string, std::shared_ptr<const TokenPattern>, std::less<>> token_patterns_;
  Result<std::shared_ptr<const TokenPattern>> token_pattern(const std::string& expression);
  struct CachedKeys {
    std::shared_ptr<const JwkSet> keys;
    std::chrono::steady_clock::time_point fetched;
  };
  std::map<std::string, CachedKeys> jwks_cache_;  // by issuer; guarded by mutex_
  boost::asio::thread_pool http_pool_{2};         // HTTP_PROXY calls (a blocking client)
};

Reply json_reply(int status, const boost::json::value& body);
Reply empty_reply(int status);
AwsError bad_request(std::string message);
AwsError not_found(std::string message);

}  // namespace nimbus::services::apigateway::internal
