#include "nimbus/services/apigateway/apigateway_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include "nimbus/aws/aws_time.h"
#include "nimbus/aws/protocol.h"
#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"
#include "nimbus/services/apigateway/internal/service_impl.h"
#include "nimbus/services/apigateway/internal/validation.h"

namespace nimbus::services::apigateway {
namespace internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

struct OperationSpec {
  std::string_view method;
  std::string_view path;
  std::string_view query;  // a query the operation requires ("mode=import")
  std::string_view name;
  int status;  // the model's success status (the operations set it themselves)
  ApiModel model;
};

constexpr OperationSpec kOperations[] = {
#include "nimbus/services/apigateway/internal/operations.inc"
};

// Where the management APIs live: apigatewayv2 under /v2, apigateway
// (REST APIs) at the root.
constexpr std::string_view kPathPrefixes[] = {
    "/v2/apis", "/v2/domainnames",     "/v2/tags",     "/v2/vpclinks", "/account",
    "/apikeys", "/clientcertificates", "/domainnames", "/restapis",    "/sdktypes",
    "/tags",    "/usageplans",         "/vpclinks",
};

constexpr std::string_view kExecutePathPrefix = "/_aws/execute-api";
// HTTP APIs take request bodies up to 10 MB.
constexpr std::size_t kMaxPayloadBytes = 10 * 1024 * 1024;

// Routes of the REST APIs model carry this before the operation name.
constexpr std::string_view kRestApisPrefix = "RestApis.";

bool call_mode_import(const net::HttpRequest& request) {
  const auto mode = aws::query_values(request, "mode");
  return !mode.empty() && mode.front() == "import";
}

}  // namespace

Reply json_reply(int status, const json::value& body) {
  return aws::rest_json_response(status, body);
}

Reply empty_reply(int status) { return aws::rest_empty_response(status); }

AwsError bad_request(std::string message) {
  return AwsError("BadRequestException", std::move(message), 400);
}

AwsError not_found(std::string message) {
  return AwsError("NotFoundException", std::move(message), 404);
}

ApiGatewayServiceImpl::ApiGatewayServiceImpl(ApiGatewayServiceOptions options,
                                             storage::AsyncStore& store, const aws::Client& client,
                                             ledger::Journal& journal)
    : options_(std::move(options)),
      store_(store),
      client_(client),
      journal_(journal),
      execution_log_stream_([] {
        // A request id's 32 hexadecimal digits, without its dashes.
        std::string digits = new_request_id();
        std::erase(digits, '-');
        return digits;
      }()) {
  descriptor_.name = "apigateway";
  descriptor_.signing_name = "apigateway";
  descriptor_.protocol = aws::Protocol::kRestJson;
  for (const auto prefix : kPathPrefixes) descriptor_.path_prefixes.emplace_back(prefix);
  descriptor_.host_labels = {"execute-api"};
  descriptor_.public_path_prefixes = {std::string(kExecutePathPrefix)};
  for (const auto& operation : kOperations) {
    // Operations told apart by a query (ImportRestApi) are found in handle().
    if (!operation.query.empty()) continue;
    // The two models share operation names (CreateStage, GetTags...).
    const std::string_view prefix =
        operation.model == ApiModel::kRestApis ? kRestApisPrefix : std::string_view();
    routes_.add(operation.method, operation.path, fmt::format("{}{}", prefix, operation.name));
  }
}

Result<void> ApiGatewayServiceImpl::open() {
  auto catalog = ApiCatalog::open(store_.store(), kApisKeyspace);
  if (!catalog) return catalog.error();
  catalog_ = std::move(*catalog);
  auto rest_catalog = RestApiCatalog::open(store_.store(), kRestApisKeyspace);
  if (!rest_catalog) return rest_catalog.error();
  rest_catalog_ = std::move(*rest_catalog);
  auto api_keys = JsonCatalog::open(store_.store(), kApiKeysKeyspace);
  if (!api_keys) return api_keys.error();
  api_keys_ = std::move(*api_keys);
  auto usage_plans = JsonCatalog::open(store_.store(), kUsagePlansKeyspace);
  if (!usage_plans) return usage_plans.error();
  usage_plans_ = std::move(*usage_plans);
  if (auto restored = restore_quotas(); !restored) return restored.error();
  spdlog::info("apigateway: {} HTTP APIs, {} REST APIs", catalog_->all().size(),
               rest_catalog_->all().size());
  return ok();
}

std::size_t ApiGatewayServiceImpl::body_limit(const net::HttpRequest& head) const {
  return execute_target(head) ? kMaxPayloadBytes : descriptor_.max_request_bytes;
}

AwsError ApiGatewayServiceImpl::body_too_large(const net::HttpRequest& head,
                                               std::size_t limit) const {
  if (!execute_target(head)) return AwsError::request_entity_too_large(limit);
  return AwsError("RequestEntityTooLargeException", "Request Entity Too Large", 413);
}

void ApiGatewayServiceImpl::set_endpoint_url(std::string url) {
  std::lock_guard lock(mutex_);
  endpoint_url_ = std::move(url);
}

std::string ApiGatewayServiceImpl::api_endpoint(const std::string& api_id) const {
  std::string url;
  {
    std::lock_guard lock(mutex_);
    url = endpoint_url_;
  }
  // http://127.0.0.1:4566 -> http://<id>.execute-api.localhost:4566
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto host_start = scheme_end + 3;
  const auto port = url.rfind(':');
  const std::string port_part =
      port != std::string::npos && port > host_start ? url.substr(port) : std::string();
  return fmt::format("{}{}.execute-api.localhost{}", url.substr(0, host_start), api_id, port_part);
}

std::string ApiGatewayServiceImpl::now_iso8601() const {
  return aws::format_iso8601(std::chrono::system_clock::now());
}

AwsError ApiGatewayServiceImpl::api_not_found(std::string_view api_id) const {
  return not_found(
             fmt::format("Invalid API identifier specified {}:{}", options_.account_id, api_id))
      .with_field("resourceType", "Api");
}

Result<std::shared_ptr<const HttpApi>> ApiGatewayServiceImpl::find_api(
    const std::string& api_id) const {
  auto record = catalog_->find(api_id);
  if (!record) return api_not_found(api_id);
  return record;
}

std::optional<std::pair<std::string, std::string>> ApiGatewayServiceImpl::execute_target(
    const net::HttpRequest& request) const {
  const auto path = request.path();
  if (path.starts_with(kExecutePathPrefix) &&
      (path.size() == kExecutePathPrefix.size() || path[kExecutePathPrefix.size()] == '/')) {
    auto rest = path.substr(kExecutePathPrefix.size());
    if (rest.starts_with('/')) rest.remove_prefix(1);
    const auto slash = rest.find('/');
    const auto id = rest.substr(0, slash);
    return std::pair(std::string(id), slash == std::string_view::npos
                                          ? std::string("/")
                                          : std::string(rest.substr(slash)));
  }
  const auto host = request.headers.get("Host");
  if (!host) return std::nullopt;
  const auto dot = host->find('.');
  if (dot == std::string_view::npos || host->substr(dot + 1).substr(0, 12) != "execute-api.") {
    return std::nullopt;
  }
  return std::pair(std::string(host->substr(0, dot)),
                   std::string(path.empty() ? std::string_view("/") : path));
}

asio::awaitable<net::HttpResponse> ApiGatewayServiceImpl::handle(const aws::RequestContext& context,
                                                                 net::HttpRequest& request) {
  if (auto target = execute_target(request)) {
    const auto started = std::chrono::steady_clock::now();
    const std::size_t bytes_in = request.body.size();
    std::string api_id = target->first;
    Served served;
    auto response = co_await execute(context, request, std::move(target->first),
                                     std::move(target->second), served);
    meter(context, api_id, request, bytes_in, response, served, started);
    if (served.stage && served.stage->access_log) {
      write_access_log(context, api_id, request, bytes_in, response, served, started);
    }
    if (served.execution_log) write_execution_log(api_id, response, served);
    co_return response;
  }
  auto route = routes_.match(request.method, request.path());
  if (!route) {
    co_return aws::error_response(descriptor_.protocol,
                                  not_found(fmt::format("API Gateway has no operation at {} {}",
                                                        request.method, request.path())),
                                  context.request_id);
  }
  if (route->operation == "RestApis.CreateRestApi" && call_mode_import(request)) {
    route->operation = "RestApis.ImportRestApi";
  } else if (route->operation == "RestApis.CreateApiKey" && call_mode_import(request)) {
    route->operation = "RestApis.ImportApiKeys";
  }
  // Both models name the API in the path: {apiId} or {restapi_id}.
  auto api_id = route->label("apiId");
  if (!api_id) api_id = route->label("restapi_id");
  Call call{{context, request, *route, {}}, std::string(api_id.value_or(""))};
  json::object body;
  if (!trim(request.body).empty()) {
    boost::system::error_code error;
    auto parsed = json::parse(request.body, error);
    if (error || !parsed.is_object()) {
      co_return aws::error_response(descriptor_.protocol,
                                    bad_request("Invalid request body: it is not a JSON object"),
                                    context.request_id);
    }
    body = std::move(parsed.as_object());
  }
  if (route->operation.starts_with(kRestApisPrefix)) {
    // REST API operations check the members they use themselves.
    call.body = std::move(body);
  } else {
    auto validated = validate_body(fmt::format("{}Request", route->operation), body);
    if (!validated) {
      co_return aws::error_response(descriptor_.protocol, validated.error(), context.request_id);
    }
    call.body = std::move(*validated);
  }
  auto reply = co_await dispatch(call);
  if (!reply) {
    co_return aws::error_response(descriptor_.protocol, reply.error(), context.request_id);
  }
  co_return std::move(*reply);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::dispatch(Call& call) {
  const std::string_view op = call.route.operation;
  if (op == "CreateApi") co_return co_await create_api(call);
  if (op == "GetApi") co_return co_await get_api(call);
  if (op == "GetApis") co_return co_await get_apis(call);
  if (op == "UpdateApi") co_return co_await update_api(call);
  if (op == "DeleteApi") co_return co_await delete_api(call);
  if (op == "DeleteCorsConfiguration") co_return co_await delete_cors(call);
  if (op == "CreateRoute") co_return co_await create_route(call);
  if (op == "GetRoute") co_return co_await get_child(call, "routes");
  if (op == "GetRoutes") co_return co_await get_children(call, "routes");
  if (op == "UpdateRoute") co_return co_await update_route(call);
  if (op == "DeleteRoute") co_return co_await delete_child(call, "routes");
  if (op == "CreateIntegration") co_return co_await create_integration(call);
  if (op == "GetIntegration") co_return co_await get_child(call, "integrations");
  if (op == "GetIntegrations") co_return co_await get_children(call, "integrations");
  if (op == "UpdateIntegration") co_return co_await update_integration(call);
  if (op == "DeleteIntegration") co_return co_await delete_child(call, "integrations");
  if (op == "CreateAuthorizer") co_return co_await create_authorizer(call);
  if (op == "GetAuthorizer") co_return co_await get_child(call, "authorizers");
  if (op == "GetAuthorizers") co_return co_await get_children(call, "authorizers");
  if (op == "UpdateAuthorizer") co_return co_await update_authorizer(call);
  if (op == "DeleteAuthorizer") co_return co_await delete_child(call, "authorizers");
  if (op == "CreateStage") co_return co_await create_stage(call);
  if (op == "GetStage") co_return co_await get_child(call, "stages");
  if (op == "GetStages") co_return co_await get_children(call, "stages");
  if (op == "UpdateStage") co_return co_await update_stage(call);
  if (op == "DeleteStage") co_return co_await delete_stage(call);
  if (op == "CreateDeployment") co_return co_await create_deployment(call);
  if (op == "GetDeployment") co_return co_await get_child(call, "deployments");
  if (op == "GetDeployments") co_return co_await get_children(call, "deployments");
  if (op == "UpdateDeployment") co_return co_await update_deployment(call);
  if (op == "DeleteDeployment") co_return co_await delete_deployment(call);
  if (op == "RestApis.CreateRestApi") co_return co_await create_rest_api(call);
  if (op == "RestApis.GetRestApi") co_return co_await get_rest_api(call);
  if (op == "RestApis.GetRestApis") co_return co_await get_rest_apis(call);
  if (op == "RestApis.UpdateRestApi") co_return co_await update_rest_api(call);
  if (op == "RestApis.DeleteRestApi") co_return co_await delete_rest_api(call);
  if (op == "RestApis.GetResources") co_return co_await get_resources(call);
  if (op == "RestApis.GetResource") co_return co_await get_resource(call);
  if (op == "RestApis.CreateResource") co_return co_await create_resource(call);
  if (op == "RestApis.DeleteResource") co_return co_await delete_resource(call);
  if (op == "RestApis.PutMethod") co_return co_await put_method(call);
  if (op == "RestApis.GetMethod") co_return co_await get_method(call);
  if (op == "RestApis.DeleteMethod") co_return co_await delete_method(call);
  if (op == "RestApis.PutIntegration") co_return co_await put_integration(call);
  if (op == "RestApis.GetIntegration") co_return co_await get_integration(call);
  if (op == "RestApis.DeleteIntegration") co_return co_await delete_integration(call);
  if (op == "RestApis.PutMethodResponse") co_return co_await put_method_response(call);
  if (op == "RestApis.PutIntegrationResponse") co_return co_await put_integration_response(call);
  if (op == "RestApis.CreateDeployment") co_return co_await create_rest_deployment(call);
  if (op == "RestApis.GetDeployment") co_return co_await get_rest_child(call, "deployments");
  if (op == "RestApis.GetDeployments") co_return co_await get_rest_children(call, "deployments");
  if (op == "RestApis.DeleteDeployment") co_return co_await delete_rest_deployment(call);
  if (op == "RestApis.CreateStage") co_return co_await create_rest_stage(call);
  if (op == "RestApis.GetStage") co_return co_await get_rest_child(call, "stages");
  if (op == "RestApis.GetStages") co_return co_await get_rest_children(call, "stages");
  if (op == "RestApis.UpdateStage") co_return co_await update_rest_stage(call);
  if (op == "RestApis.DeleteStage") co_return co_await delete_rest_stage(call);
  if (op == "RestApis.CreateAuthorizer") co_return co_await create_rest_authorizer(call);
  if (op == "RestApis.GetAuthorizer") co_return co_await get_rest_child(call, "authorizers");
  if (op == "RestApis.GetAuthorizers") co_return co_await get_rest_children(call, "authorizers");
  if (op == "RestApis.DeleteAuthorizer") co_return co_await delete_rest_authorizer(call);
  if (op == "RestApis.PutGatewayResponse") co_return co_await put_gateway_response(call);
  if (op == "RestApis.GetGatewayResponse") co_return co_await get_gateway_response(call);
  if (op == "RestApis.GetGatewayResponses") co_return co_await get_gateway_responses(call);
  if (op == "RestApis.UpdateGatewayResponse") co_return co_await update_gateway_response(call);
  if (op == "RestApis.DeleteGatewayResponse") co_return co_await delete_gateway_response(call);
  if (op == "RestApis.CreateApiKey") co_return co_await create_api_key(call);
  if (op == "RestApis.GetApiKey") co_return co_await get_api_key(call);
  if (op == "RestApis.GetApiKeys") co_return co_await get_api_keys(call);
  if (op == "RestApis.UpdateApiKey") co_return co_await update_api_key(call);
  if (op == "RestApis.DeleteApiKey") co_return co_await delete_api_key(call);
  if (op == "RestApis.CreateUsagePlan") co_return co_await create_usage_plan(call);
  if (op == "RestApis.GetUsagePlan") co_return co_await get_usage_plan(call);
  if (op == "RestApis.GetUsagePlans") co_return co_await get_usage_plans(call);
  if (op == "RestApis.DeleteUsagePlan") co_return co_await delete_usage_plan(call);
  if (op == "RestApis.CreateUsagePlanKey") co_return co_await create_usage_plan_key(call);
  if (op == "RestApis.GetUsagePlanKeys") co_return co_await get_usage_plan_keys(call);
  if (op == "RestApis.DeleteUsagePlanKey") co_return co_await delete_usage_plan_key(call);
  if (op == "RestApis.GetUsage") co_return co_await get_usage(call);
  if (op == "RestApis.UpdateUsage") co_return co_await update_usage(call);
  if (op == "RestApis.UpdateAuthorizer") co_return co_await update_rest_authorizer(call);
  if (op == "RestApis.UpdateUsagePlan") co_return co_await update_usage_plan(call);
  if (op == "ResetAuthorizersCache") co_return co_await reset_authorizers_cache(call);
  if (op == "GetTags") co_return co_await get_tags(call);
  if (op == "TagResource") co_return co_await tag_resource(call);
  if (op == "UntagResource") co_return co_await untag_resource(call);
  const bool rest_apis = op.starts_with(kRestApisPrefix);
  co_return AwsError("NotImplementedException",
                     fmt::format("Nimbus does not implement API Gateway's {} operation{} yet.",
                                 rest_apis ? op.substr(kRestApisPrefix.size()) : op,
                                 rest_apis ? " (REST APIs)" : ""),
                     501, Fault::kServer);
}

}  // namespace internal

Result<std::unique_ptr<ApiGatewayService>> ApiGatewayService::start(
    ApiGatewayServiceOptions options, storage::AsyncStore& store, const aws::Client& client,
    ledger::Journal& journal) {
  auto service =
      std::make_unique<internal::ApiGatewayServiceImpl>(std::move(options), store, client, journal);
  if (auto opened = service->open(); !opened) return opened.error();
  return std::unique_ptr<ApiGatewayService>(std::move(service));
}

}  // namespace nimbus::services::apigateway
