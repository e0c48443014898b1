// The apigatewayv2 operations over HTTP APIs: APIs, routes, integrations,
// authorizers, stages, deployments and tags.

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "nimbus/core/strings.h"
#include "nimbus/services/apigateway/internal/service_impl.h"

namespace nimbus::services::apigateway::internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

constexpr std::string_view kAutoDeployDescription =
    "Automatic deployment triggered by changes to the Api configuration";

bool flag(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value && value->is_bool() && value->as_bool();
}

// What each child collection is called on the wire.
struct CollectionInfo {
  std::string_view collection;
  std::string_view id_label;      // the path label and the id member
  std::string_view resource;      // NotFoundException's resourceType
  std::string_view message_name;  // "Invalid <name> identifier specified"
};

constexpr CollectionInfo kCollections[] = {
    {"routes", "routeId", "Route", "Route"},
    {"integrations", "integrationId", "Integration", "Integration"},
    {"authorizers", "authorizerId", "Authorizer", "Authorizer"},
    {"stages", "stageName", "Stage", "stage"},
    {"deployments", "deploymentId", "Deployment", "Deployment"},
};

const CollectionInfo& info(std::string_view collection) {
  for (const auto& entry : kCollections) {
    if (entry.collection == collection) return entry;
  }
  return kCollections[0];
}

std::map<std::string, json::object>& children(HttpApi& api, std::string_view collection) {
  if (collection == "routes") return api.routes;
  if (collection == "integrations") return api.integrations;
  if (collection == "authorizers") return api.authorizers;
  if (collection == "stages") return api.stages;
  return api.deployments;
}

const std::map<std::string, json::object>& children(const HttpApi& api,
                                                    std::string_view collection) {
  return children(const_cast<HttpApi&>(api), collection);
}

AwsError child_not_found(std::string_view collection, std::string_view id) {
  const auto& entry = info(collection);
  (void)id;
  return not_found(fmt::format("Invalid {} identifier specified", entry.message_name))
      .with_field("resourceType", std::string(entry.resource));
}

AwsError conflict(std::string message) {
  return AwsError("ConflictException", std::move(message), 409);
}

// Copies every member of `from` over `into` (an Update's PATCH semantics).
void merge(json::object& into, const json::object& from) {
  for (const auto& [key, value] : from) into[key] = value;
}

// A Lambda function ARN, bare or in API Gateway's invocation-URI form.
bool is_lambda_target(std::string_view uri) {
  if (uri.starts_with("arn:aws:lambda:")) return uri.find(":function:") != std::string_view::npos;
  return uri.starts_with("arn:aws:apigateway:") &&
         uri.find(":lambda:path/2015-03-31/functions/arn:aws:lambda:") != std::string_view::npos &&
         uri.ends_with("/invocations");
}

Result<void> check_integration(json::object& integration) {
  const auto type = text_member(integration, "integrationType");
  const auto uri = text_member(integration, "integrationUri");
  if (type == "AWS_PROXY") {
    if (!is_lambda_target(uri)) {
      return bad_request(
          "Invalid integration URI specified: an AWS_PROXY integration of an HTTP API takes a "
          "Lambda function ARN");
    }
    const auto version = text_member(integration, "payloadFormatVersion");
    if (version.empty()) {
      return bad_request("PayloadFormatVersion is required for AWS_PROXY integrations");
    }
    if (version != "1.0" && version != "2.0") {
      return bad_request(fmt::format(
          "Unsupported payload format version specified: {}. Supported versions: 1.0, 2.0",
          version));
    }
    if (!integration.contains("integrationMethod")) integration["integrationMethod"] = "POST";
    return ok();
  }
  if (type == "HTTP_PROXY") {
    if (!is_http_url(uri)) {
      return bad_request("Invalid integration URI specified: HTTP_PROXY takes an http(s) URL");
    }
    if (text_member(integration, "integrationMethod").empty()) {
      return bad_request("IntegrationMethod is required for HTTP_PROXY integrations");
    }
    const auto version = text_member(integration, "payloadFormatVersion");
    if (version.empty())
      integration["payloadFormatVersion"] = "1.0";
    else if (version != "1.0") {
      return bad_request("HTTP_PROXY integrations support payload format version 1.0 only");
    }
    return ok();
  }
  return bad_request(fmt::format(
      "Integration type {} is not supported for HTTP APIs: use AWS_PROXY or HTTP_PROXY", type));
}

// A quick-create integration's target: an http(s) URL is HTTP_PROXY with
// any method, anything else AWS_PROXY of payload 2.0 (a Lambda function).
void set_quick_target(json::object& integration, const std::string& target) {
  integration["integrationUri"] = target;
  if (is_http_url(target)) {
    integration["integrationType"] = "HTTP_PROXY";
    integration["integrationMethod"] = "ANY";
    integration["payloadFormatVersion"] = "1.0";
  } else {
    integration["integrationType"] = "AWS_PROXY";
    integration["integrationMethod"] = "POST";
    integration["payloadFormatVersion"] = "2.0";
  }
}

Result<void> check_route(const HttpApi& api, const json::object& route) {
  if (auto key = parse_route_key(text_member(route, "routeKey")); !key) return key.error();
  for (const auto& [id, other] : api.routes) {
    if (id != text_member(route, "routeId") &&
        text_member(other, "routeKey") == text_member(route, "routeKey")) {
      return conflict(fmt::format("Unable to create route {}. A route with this key already exists",
                                  text_member(route, "routeKey")));
    }
  }
  const auto target = text_member(route, "target");
  if (!target.empty()) {
    if (!target.starts_with("integrations/") ||
        !api.integrations.contains(target.substr(std::string_view("integrations/").size()))) {
      return bad_request(fmt::format("Invalid target {}: no such integration", target));
    }
  }
  const auto type = text_member(route, "authorizationType");
  const auto authorizer_id = text_member(route, "authorizerId");
  if (type == "JWT" || type == "CUSTOM") {
    const auto found = api.authorizers.find(authorizer_id);
    if (found == api.authorizers.end()) {
      return bad_request("Invalid authorizer identifier specified");
    }
    const auto authorizer_type = text_member(found->second, "authorizerType");
    if ((type == "JWT") != (authorizer_type == "JWT")) {
      return bad_request(fmt::format(
          "Authorization type {} does not match the authorizer's type {}", type, authorizer_type));
    }
  } else if (!authorizer_id.empty() && !api.authorizers.contains(authorizer_id)) {
    return bad_request("Invalid authorizer identifier specified");
  }
  return ok();
}

Result<void> check_authorizer(json::object& authorizer) {
  const auto type = text_member(authorizer, "authorizerType");
  if (type == "JWT") {
    const auto* config = authorizer.if_contains("jwtConfiguration");
    const auto* object = config && config->is_object() ? &config->as_object() : nullptr;
    const auto* audience = object ? object->if_contains("audience") : nullptr;
    if (object == nullptr || !is_http_url(text_member(*object, "issuer")) || audience == nullptr ||
        !audience->is_array() || audience->as_array().empty()) {
      return bad_request(
          "A JWT authorizer needs jwtConfiguration with an http(s) issuer and an audience");
    }
    return ok();
  }
  if (!is_lambda_target(text_member(authorizer, "authorizerUri"))) {
    return bad_request(
        "Invalid authorizer URI specified: a REQUEST authorizer takes a Lambda "
        "function ARN");
  }
  const auto version = text_member(authorizer, "authorizerPayloadFormatVersion");
  if (version != "1.0" && version != "2.0") {
    return bad_request("AuthorizerPayloadFormatVersion must be 1.0 or 2.0 for REQUEST authorizers");
  }
  if (flag(authorizer, "enableSimpleResponses") && version != "2.0") {
    return bad_request("Simple responses are supported for payload format version 2.0 only");
  }
  if (!authorizer.contains("identitySource")) authorizer["identitySource"] = json::array();
  if (!authorizer.contains("authorizerResultTtlInSeconds")) {
    authorizer["authorizerResultTtlInSeconds"] = 0;
  }
  return ok();
}

Result<void> check_stage_name(std::string_view name) {
  if (name == "$default") return ok();
  if (name.empty() || name.size() > 128 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
          std::string_view::npos) {
    return bad_request(
        fmt::format("Stage name only allows a-zA-Z0-9_- or $default, got '{}'", name));
  }
  return ok();
}

// The page of `items` (by id) that maxResults and nextToken ask for.
Result<json::object> page(const std::map<std::string, json::object>& items, const Call& call,
                          const std::function<json::object(const json::object&)>& view) {
  std::size_t limit = items.size();
  if (const auto max = call.query("maxResults"); !max.empty()) {
    const auto parsed = parse_uint(max);
    if (!parsed || *parsed == 0)
      return bad_request("Invalid maxResults: must be a positive integer");
    limit = *parsed;
  }
  const auto token = call.query("nextToken");
  json::array out;
  std::string next;
  for (auto it = token.empty() ? items.begin() : items.lower_bound(token); it != items.end();
       ++it) {
    if (out.size() == limit) {
      next = it->first;
      break;
    }
    out.push_back(view(it->second));
  }
  json::object body{{"items", std::move(out)}};
  if (!next.empty()) body["nextToken"] = next;
  return body;
}

json::object same(const json::object& object) { return object; }

}  // namespace

json::object ApiGatewayServiceImpl::api_view(const HttpApi& record) const {
  json::object out = record.api;
  out["apiEndpoint"] = api_endpoint(record.id);
  if (!out.contains("tags")) out["tags"] = json::object();
  return out;
}

void ApiGatewayServiceImpl::finish_change(HttpApi& record, Redeploy redeploy) const {
  if (redeploy == Redeploy::kAutoDeployStages) {
    std::string deployment_id;
    for (auto& [name, stage] : record.stages) {
      if (!flag(stage, "autoDeploy")) continue;
      if (deployment_id.empty()) {
        deployment_id = new_id(6);
        record.deployments[deployment_id] = json::object{{"autoDeployed", true},
                                                         {"createdDate", now_iso8601()},
                                                         {"deploymentId", deployment_id},
                                                         {"deploymentStatus", "DEPLOYED"},
                                                         {"description", kAutoDeployDescription}};
        record.snapshots[deployment_id] = record.snapshot();
      }
      stage["deploymentId"] = deployment_id;
      stage["lastUpdatedDate"] = now_iso8601();
      stage["lastDeploymentStatusMessage"] =
          fmt::format("Successfully deployed stage with deployment ID '{}'", deployment_id);
    }
  }
  record.prune_snapshots();
  record.compile();
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_api(Call& call) {
  const json::object& body = call.body;
  if (text_member(body, "protocolType") != "HTTP") {
    co_return AwsError("NotImplementedException",
                       "Nimbus does not implement WebSocket APIs yet; use protocolType HTTP", 501,
                       Fault::kServer);
  }
  HttpApi record;
  record.id = new_id(10);
  record.api = json::object{
      {"apiId", record.id},           {"apiKeySelectionExpression", "$request.header.x-api-key"},
      {"createdDate", now_iso8601()}, {"disableExecuteApiEndpoint", false},
      {"protocolType", "HTTP"},       {"routeSelectionExpression", "$request.method $request.path"},
      {"tags", json::object()}};
  for (const auto key : {"name", "description", "version", "corsConfiguration",
                         "disableExecuteApiEndpoint", "routeSelectionExpression",
                         "apiKeySelectionExpression", "tags", "disableSchemaValidation"}) {
    if (const auto* value = body.if_contains(key)) record.api[key] = *value;
  }
  const auto target = text_member(body, "target");
  if (target.empty() && body.contains("routeKey")) {
    co_return bad_request("RouteKey can only be specified together with Target (quick create)");
  }
  Redeploy redeploy = Redeploy::kNo;
  if (!target.empty()) {
    // Quick create: the integration, the route and an auto-deployed $default stage.
    const std::string integration_id = new_id(7);
    json::object integration{{"apiGatewayManaged", true},
                             {"connectionType", "INTERNET"},
                             {"integrationId", integration_id},
                             {"timeoutInMillis", 30000}};
    set_quick_target(integration, target);
    if (auto checked = check_integration(integration); !checked) co_return checked.error();
    record.integrations[integration_id] = std::move(integration);
    const std::string route_id = new_id(7);
    json::object route{{"apiGatewayManaged", true},
                       {"apiKeyRequired", false},
                       {"authorizationType", "NONE"},
                       {"routeId", route_id},
                       {"routeKey", body.contains("routeKey") ? text_member(body, "routeKey")
                                                              : std::string("$default")},
                       {"target", "integrations/" + integration_id}};
    if (auto checked = check_route(record, route); !checked) co_return checked.error();
    record.routes[route_id] = std::move(route);
    record.stages["$default"] =
        json::object{{"apiGatewayManaged", true},
                     {"autoDeploy", true},
                     {"createdDate", now_iso8601()},
                     {"defaultRouteSettings", json::object{{"detailedMetricsEnabled", false}}},
                     {"lastUpdatedDate", now_iso8601()},
                     {"routeSettings", json::object()},
                     {"stageName", "$default"},
                     {"stageVariables", json::object()},
                     {"tags", json::object()}};
    redeploy = Redeploy::kAutoDeployStages;
  }
  finish_change(record, redeploy);
  auto mutation = [&record](const HttpApi* current) -> Result<ApiCatalog::Outcome> {
    if (current != nullptr) return conflict("API id collision; retry");
    return ApiCatalog::Outcome(record);
  };
  const std::string id = record.id;
  auto stored = co_await store_.run([this, &id, &mutation](storage::Store&) -> Result<void> {
    return catalog_->mutate(id, mutation);
  });
  if (!stored) co_return stored.error();
  co_return json_reply(201, api_view(record));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_api(Call& call) {
  auto record = find_api(call.label("apiId"));
  if (!record) co_return record.error();
  co_return json_reply(200, api_view(**record));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_apis(Call& call) {
  std::map<std::string, json::object> apis;
  for (const auto& record : catalog_->all()) apis[record->id] = api_view(*record);
  auto body = page(apis, call, same);
  if (!body) co_return body.error();
  co_return json_reply(200, *body);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_api(Call& call) {
  const std::string api_id = call.label("apiId");
  const bool quick = call.body.contains("target") || call.body.contains("routeKey");
  json::object changed;
  auto edit = [&](HttpApi& record) -> Result<void> {
    for (const auto key :
         {"name", "description", "version", "corsConfiguration", "disableExecuteApiEndpoint",
          "routeSelectionExpression", "apiKeySelectionExpression", "disableSchemaValidation"}) {
      if (const auto* value = call.body.if_contains(key)) record.api[key] = *value;
    }
    // Quick create's route and integration, changed in place: the target
    // (and with it the integration's type) and the route key.
    if (quick) {
      auto route = std::find_if(record.routes.begin(), record.routes.end(), [](const auto& entry) {
        const auto* managed = entry.second.if_contains("apiGatewayManaged");
        return managed && managed->is_bool() && managed->as_bool();
      });
      if (route == record.routes.end()) {
        return bad_request(
            "Target and RouteKey can only be updated on an API made with quick create");
      }
      if (const auto target = text_member(call.body, "target"); !target.empty()) {
        constexpr std::string_view kPrefix = "integrations/";
        const auto route_target = text_member(route->second, "target");
        const auto integration = route_target.starts_with(kPrefix)
                                     ? record.integrations.find(route_target.substr(kPrefix.size()))
                                     : record.integrations.end();
        if (integration == record.integrations.end()) {
          return bad_request("The quick-create route has no integration to update");
        }
        set_quick_target(integration->second, target);
        if (auto checked = check_integration(integration->second); !checked) return checked;
      }
      if (call.body.contains("routeKey")) {
        route->second["routeKey"] = text_member(call.body, "routeKey");
        if (auto checked = check_route(record, route->second); !checked) return checked;
      }
    }
    changed = api_view(record);
    return ok();
  };
  auto stored = co_await update(api_id, quick ? Redeploy::kAutoDeployStages : Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, changed);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_api(Call& call) {
  const std::string api_id = call.label("apiId");
  auto mutation = [this, &api_id](const HttpApi* current) -> Result<ApiCatalog::Outcome> {
    if (current == nullptr) return api_not_found(api_id);
    return ApiCatalog::Outcome(ApiCatalog::Remove{});
  };
  auto stored = co_await store_.run([this, &api_id, &mutation](storage::Store&) -> Result<void> {
    return catalog_->mutate(api_id, mutation);
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_cors(Call& call) {
  auto edit = [](HttpApi& record) -> Result<void> {
    record.api.erase("corsConfiguration");
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_route(Call& call) {
  json::object route = call.body;
  route["routeId"] = new_id(7);
  if (!route.contains("apiKeyRequired")) route["apiKeyRequired"] = false;
  if (!route.contains("authorizationType")) route["authorizationType"] = "NONE";
  auto edit = [&](HttpApi& record) -> Result<void> {
    if (auto checked = check_route(record, route); !checked) return checked;
    record.routes[text_member(route, "routeId")] = route;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, route);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_route(Call& call) {
  const std::string route_id = call.label("routeId");
  json::object route;
  auto edit = [&](HttpApi& record) -> Result<void> {
    const auto found = record.routes.find(route_id);
    if (found == record.routes.end()) return child_not_found("routes", route_id);
    route = found->second;
    merge(route, call.body);
    if (auto checked = check_route(record, route); !checked) return checked;
    found->second = route;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, route);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_integration(Call& call) {
  json::object integration = call.body;
  integration["integrationId"] = new_id(7);
  if (!integration.contains("connectionType")) integration["connectionType"] = "INTERNET";
  if (!integration.contains("timeoutInMillis")) integration["timeoutInMillis"] = 30000;
  if (auto checked = check_integration(integration); !checked) co_return checked.error();
  auto edit = [&](HttpApi& record) -> Result<void> {
    record.integrations[text_member(integration, "integrationId")] = integration;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, integration);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_integration(Call& call) {
  const std::string integration_id = call.label("integrationId");
  json::object integration;
  auto edit = [&](HttpApi& record) -> Result<void> {
    const auto found = record.integrations.find(integration_id);
    if (found == record.integrations.end()) return child_not_found("integrations", integration_id);
    integration = found->second;
    merge(integration, call.body);
    if (auto checked = check_integration(integration); !checked) return checked;
    found->second = integration;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, integration);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_authorizer(Call& call) {
  json::object authorizer = call.body;
  authorizer["authorizerId"] = new_id(6);
  if (auto checked = check_authorizer(authorizer); !checked) co_return checked.error();
  auto edit = [&](HttpApi& record) -> Result<void> {
    record.authorizers[text_member(authorizer, "authorizerId")] = authorizer;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, authorizer);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_authorizer(Call& call) {
  const std::string authorizer_id = call.label("authorizerId");
  json::object authorizer;
  auto edit = [&](HttpApi& record) -> Result<void> {
    const auto found = record.authorizers.find(authorizer_id);
    if (found == record.authorizers.end()) return child_not_found("authorizers", authorizer_id);
    authorizer = found->second;
    merge(authorizer, call.body);
    if (auto checked = check_authorizer(authorizer); !checked) return checked;
    found->second = authorizer;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, authorizer);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_stage(Call& call) {
  json::object stage = call.body;
  const auto name = text_member(stage, "stageName");
  if (auto checked = check_stage_name(name); !checked) co_return checked.error();
  stage["createdDate"] = now_iso8601();
  stage["lastUpdatedDate"] = now_iso8601();
  if (!stage.contains("autoDeploy")) stage["autoDeploy"] = false;
  if (!stage.contains("defaultRouteSettings")) {
    stage["defaultRouteSettings"] = json::object{{"detailedMetricsEnabled", false}};
  }
  for (const auto key : {"routeSettings", "stageVariables", "tags"}) {
    if (!stage.contains(key)) stage[key] = json::object();
  }
  auto edit = [&](HttpApi& record) -> Result<void> {
    if (record.stages.contains(name)) {
      return conflict(fmt::format("Stage {} already exists", name));
    }
    const auto deployment = text_member(stage, "deploymentId");
    if (!deployment.empty() && !record.snapshots.contains(deployment)) {
      return bad_request(fmt::format("Invalid deployment identifier specified: {}", deployment));
    }
    record.stages[name] = stage;
    return ok();
  };
  // A new auto-deploying stage is deployed at once.
  const Redeploy redeploy = flag(stage, "autoDeploy") ? Redeploy::kAutoDeployStages : Redeploy::kNo;
  const std::string api_id = call.label("apiId");
  auto stored = co_await update(api_id, redeploy, edit);
  if (!stored) co_return stored.error();
  // The stored stage: an auto-deployment has set its deploymentId.
  if (const auto record = catalog_->find(api_id)) {
    if (const auto found = record->stages.find(name); found != record->stages.end()) {
      stage = found->second;
    }
  }
  co_return json_reply(201, stage);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_stage(Call& call) {
  const std::string name = call.label("stageName");
  json::object stage;
  bool deploy_now = false;
  auto edit = [&](HttpApi& record) -> Result<void> {
    const auto found = record.stages.find(name);
    if (found == record.stages.end()) return child_not_found("stages", name);
    stage = found->second;
    deploy_now = flag(call.body, "autoDeploy") && !flag(stage, "autoDeploy");
    // Settings maps are merged key by key, as API Gateway does.
    for (const auto& [key, value] : call.body) {
      if ((key == "routeSettings" || key == "stageVariables") && value.is_object() &&
          stage.contains(key) && stage.at(key).is_object()) {
        for (const auto& [inner, item] : value.as_object()) stage[key].as_object()[inner] = item;
      } else {
        stage[key] = value;
      }
    }
    stage["stageName"] = name;
    stage["lastUpdatedDate"] = now_iso8601();
    const auto deployment = text_member(stage, "deploymentId");
    if (call.body.contains("deploymentId") && !record.snapshots.contains(deployment)) {
      return bad_request(fmt::format("Invalid deployment identifier specified: {}", deployment));
    }
    found->second = stage;
    return ok();
  };
  const std::string api_id = call.label("apiId");
  auto stored = co_await update(api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  if (deploy_now) {
    auto noop = [](HttpApi&) -> Result<void> { return ok(); };
    auto deployed = co_await update(api_id, Redeploy::kAutoDeployStages, noop);
    if (!deployed) co_return deployed.error();
    if (const auto record = catalog_->find(api_id)) {
      if (const auto found = record->stages.find(name); found != record->stages.end()) {
        stage = found->second;
      }
    }
  }
  co_return json_reply(200, stage);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_stage(Call& call) {
  const std::string name = call.label("stageName");
  auto edit = [&](HttpApi& record) -> Result<void> {
    if (record.stages.erase(name) == 0) return child_not_found("stages", name);
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_deployment(Call& call) {
  const auto stage_name = text_member(call.body, "stageName");
  json::object deployment{{"autoDeployed", false},
                          {"createdDate", now_iso8601()},
                          {"deploymentId", new_id(6)},
                          {"deploymentStatus", "DEPLOYED"}};
  if (call.body.contains("description")) deployment["description"] = call.body.at("description");
  auto edit = [&](HttpApi& record) -> Result<void> {
    const auto id = text_member(deployment, "deploymentId");
    if (!stage_name.empty()) {
      const auto stage = record.stages.find(stage_name);
      if (stage == record.stages.end()) return child_not_found("stages", stage_name);
      stage->second["deploymentId"] = id;
      stage->second["lastUpdatedDate"] = now_iso8601();
      stage->second["lastDeploymentStatusMessage"] =
          fmt::format("Successfully deployed stage with deployment ID '{}'", id);
    }
    record.deployments[id] = deployment;
    record.snapshots[id] = record.snapshot();
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, deployment);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_deployment(Call& call) {
  const std::string id = call.label("deploymentId");
  json::object deployment;
  auto edit = [&](HttpApi& record) -> Result<void> {
    const auto found = record.deployments.find(id);
    if (found == record.deployments.end()) return child_not_found("deployments", id);
    if (call.body.contains("description")) {
      found->second["description"] = call.body.at("description");
    }
    deployment = found->second;
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, deployment);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_deployment(Call& call) {
  const std::string id = call.label("deploymentId");
  auto edit = [&](HttpApi& record) -> Result<void> {
    if (!record.deployments.contains(id)) return child_not_found("deployments", id);
    for (const auto& [name, stage] : record.stages) {
      if (text_member(stage, "deploymentId") == id) {
        return bad_request(fmt::format(
            "Active stages pointing to this deployment must be moved or deleted (stage {})", name));
      }
    }
    record.deployments.erase(id);
    record.snapshots.erase(id);
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::reset_authorizers_cache(Call& call) {
  auto record = find_api(call.api_id);
  if (!record) co_return record.error();
  const std::string stage = call.label("stageName");
  if (!(*record)->stages.contains(stage)) co_return child_not_found("stages", stage);
  // Cached answers are keyed "<api>/<authorizer>/<identity>".
  const std::string prefix = call.api_id + "/";
  std::lock_guard lock(mutex_);
  for (auto it = authorizer_cache_.lower_bound(prefix);
       it != authorizer_cache_.end() && it->first.starts_with(prefix);) {
    it = authorizer_cache_.erase(it);
  }
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_child(Call& call, std::string_view collection) {
  auto record = find_api(call.label("apiId"));
  if (!record) co_return record.error();
  const auto id = call.label(info(collection).id_label);
  const auto& items = children(**record, collection);
  const auto found = items.find(id);
  if (found == items.end()) co_return child_not_found(collection, id);
  co_return json_reply(200, found->second);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_children(Call& call,
                                                           std::string_view collection) {
  auto record = find_api(call.label("apiId"));
  if (!record) co_return record.error();
  auto body = page(children(**record, collection), call, same);
  if (!body) co_return body.error();
  co_return json_reply(200, *body);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_child(Call& call,
                                                           std::string_view collection) {
  const auto id = call.label(info(collection).id_label);
  auto edit = [&](HttpApi& record) -> Result<void> {
    auto& items = children(record, collection);
    if (!items.contains(id)) return child_not_found(collection, id);
    for (const auto& [route_id, route] : record.routes) {
      if (collection == "integrations" && text_member(route, "target") == "integrations/" + id) {
        return conflict(fmt::format("Cannot delete integration {}: route {} uses it", id,
                                    text_member(route, "routeKey")));
      }
      if (collection == "authorizers" && text_member(route, "authorizerId") == id) {
        return conflict(fmt::format("Cannot delete authorizer {}: route {} uses it", id,
                                    text_member(route, "routeKey")));
      }
    }
    items.erase(id);
    return ok();
  };
  auto stored = co_await update(call.api_id, Redeploy::kAutoDeployStages, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

namespace {

// "arn:aws:apigateway:<region>::/apis/<id>[/stages/<name>]"
struct TaggedResource {
  std::string api_id;
  std::string stage;
};

Result<TaggedResource> tagged_resource(std::string_view arn) {
  const auto path = arn.find("::/apis/");
  if (!arn.starts_with("arn:aws:apigateway:") || path == std::string_view::npos) {
    return not_found(fmt::format("Invalid resource ARN {}", arn));
  }
  auto rest = arn.substr(path + std::string_view("::/apis/").size());
  TaggedResource out;
  const auto slash = rest.find('/');
  out.api_id = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    const auto stages = rest.substr(slash);
    if (!stages.starts_with("/stages/"))
      return not_found(fmt::format("Invalid resource ARN {}", arn));
    out.stage = std::string(stages.substr(std::string_view("/stages/").size()));
  }
  return out;
}

json::object& tags_of(HttpApi& record, const TaggedResource& resource) {
  json::object& owner = resource.stage.empty() ? record.api : record.stages.at(resource.stage);
  auto& tags = owner["tags"];
  if (!tags.is_object()) tags = json::object();
  return tags.as_object();
}

}  // namespace

asio::awaitable<Reply> ApiGatewayServiceImpl::get_tags(Call& call) {
  auto resource = tagged_resource(call.label("resource-arn"));
  if (!resource) co_return resource.error();
  auto record = find_api(resource->api_id);
  if (!record) co_return record.error();
  HttpApi copy = **record;
  if (!resource->stage.empty() && !copy.stages.contains(resource->stage)) {
    co_return child_not_found("stages", resource->stage);
  }
  co_return json_reply(200, json::object{{"tags", tags_of(copy, *resource)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::tag_resource(Call& call) {
  auto resource = tagged_resource(call.label("resource-arn"));
  if (!resource) co_return resource.error();
  auto edit = [&](HttpApi& record) -> Result<void> {
    if (!resource->stage.empty() && !record.stages.contains(resource->stage)) {
      return child_not_found("stages", resource->stage);
    }
    auto& tags = tags_of(record, *resource);
    if (const auto* given = call.body.if_contains("tags"); given && given->is_object()) {
      for (const auto& [key, value] : given->as_object()) tags[key] = value;
    }
    return ok();
  };
  auto stored = co_await update(resource->api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(201);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::untag_resource(Call& call) {
  auto resource = tagged_resource(call.label("resource-arn"));
  if (!resource) co_return resource.error();
  const auto keys = aws::query_values(call.request, "tagKeys");
  auto edit = [&](HttpApi& record) -> Result<void> {
    if (!resource->stage.empty() && !record.stages.contains(resource->stage)) {
      return child_not_found("stages", resource->stage);
    }
    auto& tags = tags_of(record, *resource);
    for (const auto& key : keys) tags.erase(key);
    return ok();
  };
  auto stored = co_await update(resource->api_id, Redeploy::kNo, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

}  // namespace nimbus::services::apigateway::internal
