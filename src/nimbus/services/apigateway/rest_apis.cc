// The apigateway (2015-07-09) operations over REST APIs that proxy
// integrations need: APIs, resources, methods, integrations (and their
// responses), deployments and stages.

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "nimbus/core/strings.h"
#include "nimbus/services/apigateway/internal/gateway_responses.h"
#include "nimbus/services/apigateway/internal/rest_wire.h"
#include "nimbus/services/apigateway/internal/service_impl.h"
#include "nimbus/services/apigateway/internal/token_pattern.h"

namespace nimbus::services::apigateway::internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

constexpr std::string_view kMethods[] = {"ANY",  "GET",    "POST",  "PUT",
                                         "HEAD", "DELETE", "PATCH", "OPTIONS"};

AwsError conflict(std::string message) {
  return AwsError("ConflictException", std::move(message), 409);
}

AwsError invalid(std::string_view what) {
  return not_found(fmt::format("Invalid {} identifier specified", what));
}

bool is_lambda_uri(std::string_view uri) {
  return uri.starts_with("arn:aws:apigateway:") &&
         uri.find(":lambda:path/2015-03-31/functions/arn:aws:lambda:") != std::string_view::npos &&
         uri.ends_with("/invocations");
}

// UpdateStage's method settings: "/<resource path, '/' as ~1>/<METHOD>/
// <setting>", "/*/*/<setting>" for every method, kept in methodSettings
// under "<resource path>/<METHOD>" as AWS shows them. The settings Nimbus
// acts on: throttling (rateLimit, burstLimit), metrics/enabled (detailed
// CloudWatch metrics) and logging (loglevel, dataTrace: execution logs).
// The other operations are left in `rest`.
Result<void> apply_method_settings(json::object& stage, const json::object& body,
                                   json::object& rest) {
  struct Setting {
    std::string_view path;  // after the method
    const char* name;       // in methodSettings
    enum class Kind { kRate, kBurst, kFlag, kLogLevel } kind;
  };
  static constexpr Setting kSettings[] = {
      {"/throttling/rateLimit", "throttlingRateLimit", Setting::Kind::kRate},
      {"/throttling/burstLimit", "throttlingBurstLimit", Setting::Kind::kBurst},
      {"/metrics/enabled", "metricsEnabled", Setting::Kind::kFlag},
      {"/logging/loglevel", "loggingLevel", Setting::Kind::kLogLevel},
      {"/logging/dataTrace", "dataTraceEnabled", Setting::Kind::kFlag},
  };
  json::array others;
  const auto* operations = body.if_contains("patchOperations");
  if (operations == nullptr || !operations->is_array()) {
    rest = body;
    return ok();
  }
  for (const auto& item : operations->as_array()) {
    const auto* operation = item.if_object();
    const std::string path = operation ? text_member(*operation, "path") : std::string();
    const Setting* setting = nullptr;
    for (const auto& candidate : kSettings) {
      if (path.ends_with(candidate.path)) setting = &candidate;
    }
    if (setting == nullptr) {
      others.push_back(item);
      continue;
    }
    if (path.size() <= setting->path.size() + 1) {
      return bad_request(fmt::format("Invalid method setting path {}", path));
    }
    std::string key = unescape_path_segment(
        std::string_view(path).substr(1, path.size() - setting->path.size() - 1));
    if (key.starts_with('/')) key.erase(0, 1);
    if (key.find('/') == std::string::npos) {
      return bad_request(fmt::format("Invalid method setting path {}", path));
    }
    auto& settings = stage["methodSettings"];
    if (!settings.is_object()) settings = json::object();
    auto& entry = settings.as_object()[key];
    if (!entry.is_object()) entry = json::object();
    if (text_member(*operation, "op") == "remove") {
      entry.as_object().erase(setting->name);
      continue;
    }
    const auto value = text_member(*operation, "value");
    if (setting->kind == Setting::Kind::kLogLevel) {
      if (value != "OFF" && value != "ERROR" && value != "INFO") {
        return bad_request(
            fmt::format("Invalid value for {}: {} (OFF, ERROR or INFO)", path, value));
      }
      entry.as_object()[setting->name] = value;
      continue;
    }
    if (setting->kind == Setting::Kind::kFlag) {
      if (value != "true" && value != "false") {
        return bad_request(fmt::format("Invalid value for {}: {}", path, value));
      }
      entry.as_object()[setting->name] = value == "true";
      continue;
    }
    auto limit = patch_limit(path, value, setting->kind == Setting::Kind::kRate);
    if (!limit) return limit.error();
    entry.as_object()[setting->name] = std::move(*limit);
  }
  rest = body;
  rest["patchOperations"] = std::move(others);
  return ok();
}

json::object with_path(const RestApiRecord& record, const std::string& id) {
  json::object out = record.resources.at(id);
  out["path"] = record.path_of(id);
  return out;
}

// Where a method's API key comes from: the x-api-key header, or the
// usageIdentifierKey of the method's Lambda authorizer.
Result<void> check_api_key_source(const json::object& api) {
  const auto* source = api.if_contains("apiKeySource");
  if (source == nullptr) return ok();
  if (!source->is_string() ||
      (source->as_string() != "HEADER" && source->as_string() != "AUTHORIZER")) {
    return AwsError("BadRequestException", "Invalid API key source: must be HEADER or AUTHORIZER",
                    400);
  }
  return ok();
}

}  // namespace

Result<std::shared_ptr<const RestApiRecord>> ApiGatewayServiceImpl::find_rest_api(
    const std::string& api_id) const {
  auto record = rest_catalog_->find(api_id);
  if (!record) return api_not_found(api_id);
  return record;
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_rest_api(Call& call) {
  auto name = string_member(call.body, "name", true);
  if (!name) co_return name.error();
  if (name->empty()) co_return bad_request("Invalid input: name must not be empty");
  RestApiRecord record;
  record.id = new_id(10);
  record.api = json::object{{"id", record.id},
                            {"name", *name},
                            {"createdDate", epoch_seconds()},
                            {"apiKeySource", "HEADER"},
                            {"endpointConfiguration", json::object{{"types", json::array{"EDGE"}}}},
                            {"disableExecuteApiEndpoint", false},
                            {"tags", json::object()}};
  copy_members(record.api, call.body,
               {"description", "version", "binaryMediaTypes", "apiKeySource",
                "endpointConfiguration", "tags", "disableExecuteApiEndpoint", "policy"});
  if (auto checked = check_api_key_source(record.api); !checked) co_return checked.error();
  const std::string root = new_id(10);
  record.resources[root] = json::object{{"id", root}, {"path", "/"}};
  record.compile();
  auto mutation = [&record](const RestApiRecord* current) -> Result<RestApiCatalog::Outcome> {
    if (current != nullptr) return conflict("API id collision; retry");
    return RestApiCatalog::Outcome(record);
  };
  const std::string id = record.id;
  auto stored = co_await store_.run([this, &id, &mutation](storage::Store&) -> Result<void> {
    return rest_catalog_->mutate(id, mutation);
  });
  if (!stored) co_return stored.error();
  co_return json_reply(201, record.api);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_rest_api(Call& call) {
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  co_return json_reply(200, (*record)->api);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_rest_apis(Call& call) {
  (void)call;
  json::array items;
  for (const auto& record : rest_catalog_->all()) items.push_back(record->api);
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_rest_api(Call& call) {
  json::object api;
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (auto patched =
            apply_patch(record.api, call.body, {"name", "description", "version", "apiKeySource"});
        !patched) {
      return patched;
    }
    if (auto checked = check_api_key_source(record.api); !checked) return checked;
    api = record.api;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, api);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_rest_api(Call& call) {
  const std::string& api_id = call.api_id;
  auto mutation = [this, &api_id](const RestApiRecord* current) -> Result<RestApiCatalog::Outcome> {
    if (current == nullptr) return api_not_found(api_id);
    return RestApiCatalog::Outcome(RestApiCatalog::Remove{});
  };
  auto stored = co_await store_.run([this, &api_id, &mutation](storage::Store&) -> Result<void> {
    return rest_catalog_->mutate(api_id, mutation);
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_resources(Call& call) {
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  json::array items;
  for (const auto& [id, resource] : (*record)->resources) items.push_back(with_path(**record, id));
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_resource(Call& call) {
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  const auto id = call.label("resource_id");
  if (!(*record)->resources.contains(id)) co_return invalid("Resource");
  co_return json_reply(200, with_path(**record, id));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_resource(Call& call) {
  auto part = string_member(call.body, "pathPart", true);
  if (!part) co_return part.error();
  const std::string path_part = *part;
  const bool variable = path_part.starts_with('{') && path_part.ends_with('}');
  if (path_part.empty() || path_part.find('/') != std::string::npos ||
      (!variable && path_part.find_first_of("{}+") != std::string::npos)) {
    co_return bad_request(fmt::format(
        "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the "
        "end and an optional plus sign before the closing brace: {}",
        path_part));
  }
  const std::string parent = call.label("parent_id");
  json::object created;
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (!record.resources.contains(parent)) return invalid("Resource");
    for (const auto& [id, resource] : record.resources) {
      if (text_member(resource, "parentId") == parent &&
          text_member(resource, "pathPart") == path_part) {
        return conflict(fmt::format(
            "Another resource with the same parent already has this name: {}", path_part));
      }
    }
    const std::string path =
        record.path_of(parent) == "/" ? "/" + path_part : record.path_of(parent) + "/" + path_part;
    if (!parse_route_key("GET " + path)) {
      return bad_request(fmt::format("A greedy path variable must be the last part of {}", path));
    }
    const std::string id = new_id(6);
    record.resources[id] = json::object{{"id", id}, {"parentId", parent}, {"pathPart", path_part}};
    created = with_path(record, id);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, created);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_resource(Call& call) {
  const std::string id = call.label("resource_id");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (!record.resources.contains(id)) return invalid("Resource");
    if (id == record.root_id()) return bad_request("Cannot delete the root resource");
    // The resource goes with everything below it.
    std::vector<std::string> doomed{id};
    for (std::size_t i = 0; i < doomed.size(); ++i) {
      for (const auto& [child, resource] : record.resources) {
        if (text_member(resource, "parentId") == doomed[i]) doomed.push_back(child);
      }
    }
    for (const auto& gone : doomed) record.resources.erase(gone);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::put_method(Call& call) {
  const std::string http_method = call.label("http_method");
  bool known = false;
  for (const auto method : kMethods) known = known || method == http_method;
  if (!known) co_return bad_request(fmt::format("Invalid HttpMethod specified: {}", http_method));
  auto authorization = string_member(call.body, "authorizationType", true);
  if (!authorization) co_return authorization.error();
  if (*authorization != "NONE" && *authorization != "AWS_IAM" && *authorization != "CUSTOM") {
    co_return AwsError(
        "NotImplementedException",
        fmt::format("Nimbus does not implement {} authorization for REST APIs yet", *authorization),
        501, Fault::kServer);
  }
  json::object method{{"httpMethod", http_method},
                      {"authorizationType", *authorization},
                      {"apiKeyRequired", false}};
  copy_members(method, call.body,
               {"apiKeyRequired", "operationName", "requestParameters", "requestModels",
                "authorizationScopes"});
  copy_members(method, call.body, {"authorizerId"});
  const std::string authorizer_id = text_member(method, "authorizerId");
  if (*authorization == "CUSTOM" && authorizer_id.empty()) {
    co_return bad_request(
        "Invalid authorizer ID specified. Setting the authorization type to "
        "CUSTOM requires a valid authorizer.");
  }
  const std::string resource_id = call.label("resource_id");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    const auto resource = record.resources.find(resource_id);
    if (resource == record.resources.end()) return invalid("Resource");
    if (!authorizer_id.empty() && !record.authorizers.contains(authorizer_id)) {
      return invalid("Authorizer");
    }
    auto& methods = resource->second["resourceMethods"];
    if (!methods.is_object()) methods = json::object();
    if (methods.as_object().contains(http_method)) {
      return conflict("Method already exists for this resource");
    }
    methods.as_object()[http_method] = method;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, method);
}

namespace {

// The method a request names, or NotFoundException.
Result<json::object*> method_of(RestApiRecord& record, const std::string& resource_id,
                                const std::string& http_method) {
  const auto resource = record.resources.find(resource_id);
  if (resource == record.resources.end()) return invalid("Resource");
  auto* methods = resource->second.if_contains("resourceMethods");
  auto* method =
      methods && methods->is_object() ? methods->as_object().if_contains(http_method) : nullptr;
  if (method == nullptr || !method->is_object()) return invalid("Method");
  return &method->as_object();
}

}  // namespace

asio::awaitable<Reply> ApiGatewayServiceImpl::get_method(Call& call) {
  auto found = find_rest_api(call.api_id);
  if (!found) co_return found.error();
  RestApiRecord record = **found;
  auto method = method_of(record, call.label("resource_id"), call.label("http_method"));
  if (!method) co_return method.error();
  co_return json_reply(200, **method);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_method(Call& call) {
  const std::string resource_id = call.label("resource_id");
  const std::string http_method = call.label("http_method");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    auto method = method_of(record, resource_id, http_method);
    if (!method) return method.error();
    record.resources[resource_id]["resourceMethods"].as_object().erase(http_method);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::put_integration(Call& call) {
  auto type = string_member(call.body, "type", true);
  if (!type) co_return type.error();
  json::object integration{{"type", *type},
                           {"timeoutInMillis", 29000},
                           {"passthroughBehavior", "WHEN_NO_MATCH"},
                           {"cacheNamespace", call.label("resource_id")},
                           {"cacheKeyParameters", json::array()}};
  // integrationHttpMethod travels as "httpMethod".
  if (const auto* method = call.body.if_contains("httpMethod"); method && method->is_string()) {
    integration["httpMethod"] = *method;
  }
  copy_members(integration, call.body,
               {"uri", "requestTemplates", "requestParameters", "passthroughBehavior",
                "timeoutInMillis", "contentHandling", "connectionType"});
  const auto uri = text_member(integration, "uri");
  if (*type == "AWS_PROXY") {
    if (!is_lambda_uri(uri)) {
      co_return bad_request(
          "Invalid ARN specified in the request: an AWS_PROXY integration takes "
          "arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function "
          "arn>/invocations");
    }
    if (text_member(integration, "httpMethod") != "POST") {
      co_return bad_request("AWS_PROXY integrations must use integrationHttpMethod POST");
    }
  } else if (*type == "HTTP_PROXY") {
    if (!is_http_url(uri)) {
      co_return bad_request("Invalid HTTP endpoint specified for URI");
    }
    if (text_member(integration, "httpMethod").empty()) {
      co_return bad_request("Enumeration value for HttpMethod must be non-empty");
    }
  } else if (*type != "MOCK") {
    co_return AwsError("NotImplementedException",
                       fmt::format("Nimbus does not implement {} integrations for REST APIs yet "
                                   "(AWS_PROXY, HTTP_PROXY and MOCK are)",
                                   *type),
                       501, Fault::kServer);
  }
  if (const auto* timeout = integration.if_contains("timeoutInMillis");
      !timeout->is_int64() || timeout->as_int64() < 50 || timeout->as_int64() > 29000) {
    co_return bad_request("Timeout should be between 50 ms and 29000 ms");
  }
  const std::string resource_id = call.label("resource_id");
  const std::string http_method = call.label("http_method");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    auto method = method_of(record, resource_id, http_method);
    if (!method) return method.error();
    (**method)["methodIntegration"] = integration;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, integration);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_integration(Call& call) {
  auto found = find_rest_api(call.api_id);
  if (!found) co_return found.error();
  RestApiRecord record = **found;
  auto method = method_of(record, call.label("resource_id"), call.label("http_method"));
  if (!method) co_return method.error();
  const auto* integration = (*method)->if_contains("methodIntegration");
  if (integration == nullptr) co_return invalid("Integration");
  co_return json_reply(200, *integration);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_integration(Call& call) {
  const std::string resource_id = call.label("resource_id");
  const std::string http_method = call.label("http_method");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    auto method = method_of(record, resource_id, http_method);
    if (!method) return method.error();
    if ((*method)->erase("methodIntegration") == 0) return invalid("Integration");
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::put_method_response(Call& call) {
  const std::string status = call.label("status_code");
  json::object response{{"statusCode", status}};
  copy_members(response, call.body, {"responseParameters", "responseModels"});
  const std::string resource_id = call.label("resource_id");
  const std::string http_method = call.label("http_method");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    auto method = method_of(record, resource_id, http_method);
    if (!method) return method.error();
    auto& responses = (**method)["methodResponses"];
    if (!responses.is_object()) responses = json::object();
    responses.as_object()[status] = response;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, response);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::put_integration_response(Call& call) {
  const std::string status = call.label("status_code");
  json::object response{{"statusCode", status}};
  copy_members(response, call.body,
               {"selectionPattern", "responseParameters", "responseTemplates", "contentHandling"});
  const std::string resource_id = call.label("resource_id");
  const std::string http_method = call.label("http_method");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    auto method = method_of(record, resource_id, http_method);
    if (!method) return method.error();
    auto* integration = (*method)->if_contains("methodIntegration");
    if (integration == nullptr || !integration->is_object()) return invalid("Integration");
    auto& responses = integration->as_object()["integrationResponses"];
    if (!responses.is_object()) responses = json::object();
    responses.as_object()[status] = response;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, response);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_rest_deployment(Call& call) {
  auto stage_name = string_member(call.body, "stageName", false);
  if (!stage_name) co_return stage_name.error();
  json::object deployment{{"id", new_id(6)}, {"createdDate", epoch_seconds()}};
  copy_members(deployment, call.body, {"description"});
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    bool any_method = false;
    for (const auto& [id, resource] : record.resources) {
      const auto* methods = resource.if_contains("resourceMethods");
      if (methods && methods->is_object() && !methods->as_object().empty()) any_method = true;
    }
    if (!any_method) return bad_request("The REST API doesn't contain any methods");
    for (const auto& [id, resource] : record.resources) {
      const auto* methods = resource.if_contains("resourceMethods");
      if (methods == nullptr || !methods->is_object()) continue;
      for (const auto& [name, method] : methods->as_object()) {
        if (!method.is_object() || !method.as_object().contains("methodIntegration")) {
          return bad_request("No integration defined for method");
        }
      }
    }
    const auto id = text_member(deployment, "id");
    record.deployments[id] = deployment;
    record.snapshots[id] = record.snapshot();
    if (!stage_name->empty()) {
      auto& stage = record.stages[*stage_name];
      if (stage.empty()) {
        stage = json::object{
            {"stageName", *stage_name},         {"createdDate", epoch_seconds()},
            {"cacheClusterEnabled", false},     {"cacheClusterStatus", "NOT_AVAILABLE"},
            {"methodSettings", json::object()}, {"tracingEnabled", false}};
        copy_members(stage, call.body, {"variables"});
        if (const auto* description = call.body.if_contains("stageDescription")) {
          stage["description"] = *description;
        }
      }
      stage["deploymentId"] = id;
      stage["lastUpdatedDate"] = epoch_seconds();
    }
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, deployment);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_rest_deployment(Call& call) {
  const std::string id = call.label("deployment_id");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (!record.deployments.contains(id)) return invalid("Deployment");
    for (const auto& [name, stage] : record.stages) {
      if (text_member(stage, "deploymentId") == id) {
        return bad_request("Active stages pointing to this deployment must be moved or deleted");
      }
    }
    record.deployments.erase(id);
    record.snapshots.erase(id);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_rest_stage(Call& call) {
  auto name = string_member(call.body, "stageName", true);
  if (!name) co_return name.error();
  auto deployment = string_member(call.body, "deploymentId", true);
  if (!deployment) co_return deployment.error();
  if (name->empty() ||
      name->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789-_") != std::string::npos) {
    co_return bad_request("Stage name only allows a-zA-Z0-9_-");
  }
  json::object stage{{"stageName", *name},
                     {"deploymentId", *deployment},
                     {"createdDate", epoch_seconds()},
                     {"lastUpdatedDate", epoch_seconds()},
                     {"cacheClusterEnabled", false},
                     {"cacheClusterStatus", "NOT_AVAILABLE"},
                     {"methodSettings", json::object()},
                     {"tracingEnabled", false}};
  copy_members(stage, call.body, {"description", "variables", "tags"});
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (record.stages.contains(*name)) return conflict("Stage already exists");
    if (!record.snapshots.contains(*deployment)) return invalid("Deployment");
    record.stages[*name] = stage;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, stage);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_rest_stage(Call& call) {
  const std::string name = call.label("stage_name");
  json::object stage;
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    const auto found = record.stages.find(name);
    if (found == record.stages.end()) return invalid("Stage");
    json::object changed = found->second;
    json::object rest;
    if (auto settings = apply_method_settings(changed, call.body, rest); !settings) {
      return settings;
    }
    if (auto patched = apply_patch(
            changed, rest, {"description", "variables", "deploymentId", "accessLogSettings"});
        !patched) {
      return patched;
    }
    if (!record.snapshots.contains(text_member(changed, "deploymentId")))
      return invalid("Deployment");
    changed["lastUpdatedDate"] = epoch_seconds();
    found->second = changed;
    stage = std::move(changed);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, stage);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_rest_stage(Call& call) {
  const std::string name = call.label("stage_name");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (record.stages.erase(name) == 0) return invalid("Stage");
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

namespace {

// Deployments, stages and authorizers: each a map in the record, named by a
// path label.
struct RestCollection {
  std::map<std::string, json::object> RestApiRecord::*items;
  std::string_view label;
  std::string_view name;
};

RestCollection rest_collection(std::string_view collection) {
  if (collection == "stages") return {&RestApiRecord::stages, "stage_name", "Stage"};
  if (collection == "authorizers") {
    return {&RestApiRecord::authorizers, "authorizer_id", "Authorizer"};
  }
  return {&RestApiRecord::deployments, "deployment_id", "Deployment"};
}

// An authorizer's identityValidationExpression must be a regular
// expression; an empty one is none.
Result<void> check_validation_expression(json::object& authorizer) {
  const auto* expression = authorizer.if_contains("identityValidationExpression");
  if (expression == nullptr) return ok();
  if (!expression->is_string()) {
    return AwsError("BadRequestException", "Invalid identity validation expression specified", 400);
  }
  if (expression->as_string().empty()) {
    authorizer.erase("identityValidationExpression");
    return ok();
  }
  auto compiled = TokenPattern::compile(expression->as_string());
  if (!compiled) return compiled.error();
  return ok();
}

}  // namespace

asio::awaitable<Reply> ApiGatewayServiceImpl::get_rest_child(Call& call,
                                                             std::string_view collection) {
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  const auto kind = rest_collection(collection);
  const auto& items = (**record).*kind.items;
  const auto found = items.find(call.label(kind.label));
  if (found == items.end()) co_return invalid(kind.name);
  co_return json_reply(200, found->second);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_rest_children(Call& call,
                                                                std::string_view collection) {
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  json::array items;
  for (const auto& [id, item] : (**record).*rest_collection(collection).items) {
    items.push_back(item);
  }
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_rest_authorizer(Call& call) {
  auto name = string_member(call.body, "name", true);
  if (!name) co_return name.error();
  auto type = string_member(call.body, "type", true);
  if (!type) co_return type.error();
  if (*type != "TOKEN" && *type != "REQUEST") {
    co_return AwsError("NotImplementedException",
                       fmt::format("Nimbus does not implement {} authorizers yet (TOKEN and "
                                   "REQUEST Lambda authorizers are)",
                                   *type),
                       501, Fault::kServer);
  }
  json::object authorizer{{"id", new_id(6)},
                          {"name", *name},
                          {"type", *type},
                          {"authType", "custom"},
                          {"authorizerResultTtlInSeconds", 300}};
  copy_members(authorizer, call.body,
               {"authorizerUri", "identitySource", "authorizerResultTtlInSeconds", "authType",
                "identityValidationExpression"});
  if (auto checked = check_validation_expression(authorizer); !checked) {
    co_return checked.error();
  }
  if (!is_lambda_uri(text_member(authorizer, "authorizerUri"))) {
    co_return bad_request(
        "Invalid Authorizer URI: a Lambda authorizer takes "
        "arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function "
        "arn>/invocations");
  }
  const auto source = text_member(authorizer, "identitySource");
  if (*type == "TOKEN" && !source.starts_with("method.request.header.")) {
    co_return bad_request(
        "Invalid identity source: a TOKEN authorizer takes method.request.header.<name>");
  }
  if (const auto* ttl = authorizer.if_contains("authorizerResultTtlInSeconds");
      !ttl->is_int64() || ttl->as_int64() < 0 || ttl->as_int64() > 3600) {
    co_return bad_request("Invalid authorizerResultTtlInSeconds: must be 0 to 3600");
  }
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    record.authorizers[text_member(authorizer, "id")] = authorizer;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, authorizer);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_rest_authorizer(Call& call) {
  const std::string id = call.label("authorizer_id");
  json::object updated;
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    const auto found = record.authorizers.find(id);
    if (found == record.authorizers.end()) return invalid("Authorizer");
    json::object authorizer = found->second;
    if (auto patched =
            apply_patch(authorizer, call.body,
                        {"name", "authorizerUri", "identitySource", "authorizerResultTtlInSeconds",
                         "identityValidationExpression"});
        !patched) {
      return patched;
    }
    if (auto checked = check_validation_expression(authorizer); !checked) return checked;
    // Patch values are strings; the TTL is a number of seconds.
    if (const auto* ttl = authorizer.if_contains("authorizerResultTtlInSeconds");
        ttl && ttl->is_string()) {
      const auto seconds = parse_uint(ttl->as_string());
      if (!seconds || *seconds > 3600) {
        return bad_request("Invalid authorizerResultTtlInSeconds: must be 0 to 3600");
      }
      authorizer["authorizerResultTtlInSeconds"] = static_cast<std::int64_t>(*seconds);
    }
    if (!is_lambda_uri(text_member(authorizer, "authorizerUri"))) {
      return bad_request("Invalid Authorizer URI");
    }
    found->second = authorizer;
    updated = std::move(authorizer);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, updated);
}

namespace {

AwsError invalid_response_type(std::string_view type) {
  return bad_request(fmt::format("Invalid gateway response type {}", type));
}

// A customization's fields as given: a 3-digit statusCode, and maps of
// strings for the parameters and templates.
Result<void> check_gateway_response(const json::object& response) {
  if (const auto* code = response.if_contains("statusCode")) {
    const std::string text = code->is_string() ? std::string(code->as_string()) : std::string();
    const auto number = parse_uint(text);
    if (text.size() != 3 || !number || *number < 100 || *number > 599) {
      return bad_request(fmt::format("Invalid status code {}", json::serialize(*code)));
    }
  }
  for (const auto* map : {"responseParameters", "responseTemplates"}) {
    const auto* value = response.if_contains(map);
    if (value == nullptr) continue;
    const auto* object = value->if_object();
    if (object == nullptr || std::any_of(object->begin(), object->end(), [](const auto& entry) {
          return !entry.value().is_string();
        })) {
      return bad_request(fmt::format("Invalid {}: a map of strings", map));
    }
    if (std::string_view(map) == "responseParameters") {
      for (const auto& entry : *object) {
        if (!std::string_view(entry.key()).starts_with("gatewayresponse.header.")) {
          return bad_request(
              fmt::format("Invalid mapping expression specified: {}: gateway responses map "
                          "gatewayresponse.header.<name>",
                          std::string_view(entry.key())));
        }
      }
    }
  }
  return ok();
}

// What GetGatewayResponse(s) show for a type: its customization, or API
// Gateway's default.
json::object shown_gateway_response(const RestApiRecord& record, std::string_view type) {
  const auto found = record.gateway_responses.find(std::string(type));
  return found == record.gateway_responses.end() ? default_gateway_response(type) : found->second;
}

json::object with_defaults(json::object response, std::string_view type) {
  response["responseType"] = type;
  response["defaultResponse"] = false;
  for (const auto* map : {"responseParameters", "responseTemplates"}) {
    if (!response.contains(map)) response[map] = json::object();
  }
  return response;
}

}  // namespace

asio::awaitable<Reply> ApiGatewayServiceImpl::put_gateway_response(Call& call) {
  const std::string type = call.label("response_type");
  if (!is_gateway_response_type(type)) co_return invalid_response_type(type);
  json::object response;
  copy_members(response, call.body, {"statusCode", "responseParameters", "responseTemplates"});
  if (auto checked = check_gateway_response(response); !checked) co_return checked.error();
  response = with_defaults(std::move(response), type);
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    record.gateway_responses[type] = response;
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(201, response);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_gateway_response(Call& call) {
  const std::string type = call.label("response_type");
  if (!is_gateway_response_type(type)) co_return invalid_response_type(type);
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  co_return json_reply(200, shown_gateway_response(**record, type));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_gateway_responses(Call& call) {
  auto record = find_rest_api(call.api_id);
  if (!record) co_return record.error();
  json::array items;
  for (const auto type : gateway_response_types()) {
    items.push_back(shown_gateway_response(**record, type));
  }
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_gateway_response(Call& call) {
  const std::string type = call.label("response_type");
  if (!is_gateway_response_type(type)) co_return invalid_response_type(type);
  json::object updated;
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    // A type not customized yet starts from its default.
    const auto found = record.gateway_responses.find(type);
    json::object response =
        found == record.gateway_responses.end() ? default_gateway_response(type) : found->second;
    if (auto patched = apply_patch(response, call.body,
                                   {"statusCode", "responseParameters", "responseTemplates"});
        !patched) {
      return patched;
    }
    // Template keys are content types: '/' comes as ~1.
    if (auto* templates = response.if_contains("responseTemplates");
        templates && templates->is_object()) {
      json::object decoded;
      for (const auto& [content_type, text] : templates->as_object()) {
        decoded[unescape_path_segment(content_type)] = text;
      }
      *templates = std::move(decoded);
    }
    if (auto checked = check_gateway_response(response); !checked) return checked;
    response = with_defaults(std::move(response), type);
    record.gateway_responses[type] = response;
    updated = std::move(response);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return json_reply(200, updated);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_gateway_response(Call& call) {
  const std::string type = call.label("response_type");
  if (!is_gateway_response_type(type)) co_return invalid_response_type(type);
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (record.gateway_responses.erase(type) == 0) return invalid("Gateway Response");
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_rest_authorizer(Call& call) {
  const std::string id = call.label("authorizer_id");
  auto edit = [&](RestApiRecord& record) -> Result<void> {
    if (!record.authorizers.contains(id)) return invalid("Authorizer");
    for (const auto& [resource_id, resource] : record.resources) {
      const auto* methods = resource.if_contains("resourceMethods");
      if (methods == nullptr || !methods->is_object()) continue;
      for (const auto& [name, method] : methods->as_object()) {
        if (method.is_object() && text_member(method.as_object(), "authorizerId") == id) {
          return conflict(
              fmt::format("Cannot delete authorizer '{}', is referenced in method: "
                          "'{}:{}'",
                          id, std::string_view(name), record.path_of(resource_id)));
        }
      }
    }
    record.authorizers.erase(id);
    return ok();
  };
  auto stored = co_await update_rest(call.api_id, edit);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

}  // namespace nimbus::services::apigateway::internal
