#include "nimbus/services/apigateway/internal/rest_model.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::services::apigateway::internal {
namespace json = boost::json;
std::string method_key(std::string_view resource_id, std::string_view method) {
  return fmt::format("{} {}", resource_id, method);
}

std::string RestApiRecord::root_id() const {
  for (const auto& [id, resource] : resources) {
    if (!resource.contains("parentId")) return id;
  }
  return {};
}

std::string RestApiRecord::path_of(const std::string& resource_id) const {
  std::string path;
  std::string current = resource_id;
  for (std::size_t depth = 0; depth < 1000; ++depth) {
    const auto it = resources.find(current);
    if (it == resources.end() || !it->second.contains("parentId")) break;
    path = "/" + text_member(it->second, "pathPart") + path;
    current = text_member(it->second, "parentId");
  }
  return path.empty() ? "/" : path;
}

json::object RestApiRecord::snapshot() const {
  json::object resolved;
  for (const auto& [id, resource] : resources) {
    json::object copy = resource;
    copy["path"] = path_of(id);
    resolved[id] = std::move(copy);
  }
  return json::object{{"resources", std::move(resolved)},
                      {"authorizers", map_object(authorizers)},
                      {"gatewayResponses", map_object(gateway_responses)}};
}

void RestApiRecord::compile() {
  views.clear();
  for (const auto& [name, stage] : stages) {
    auto view = new_stage_view(name, stage, "variables");
    const auto snapshot = snapshots.find(text_member(stage, "deploymentId"));
    if (snapshot != snapshots.end()) {
      view->authorizers = object_map(snapshot->second.if_contains("authorizers"));
      view->gateway_responses = object_map(snapshot->second.if_contains("gatewayResponses"));
      for (const auto& [id, resource] : object_map(snapshot->second.if_contains("resources"))) {
        const auto* methods = resource.if_contains("resourceMethods");
        if (methods == nullptr || !methods->is_object()) continue;
        for (const auto& [method_name, method] : methods->as_object()) {
          if (!method.is_object()) continue;
          auto key = parse_route_key(
              fmt::format("{} {}", std::string_view(method_name), text_member(resource, "path")));
          if (!key) continue;
          CompiledRoute route;
          route.route_key = text_member(resource, "path");
          route.route_id = id;
          route.resource_path = route.route_key;
          route.key = std::move(*key);
          route.authorization_type = text_member(method.as_object(), "authorizationType");
          route.authorizer_id = text_member(method.as_object(), "authorizerId");
          route.integration_id = method_key(id, method_name);
          if (const auto* integration = method.as_object().if_contains("methodIntegration");
              integration && integration->is_object()) {
            json::object served = integration->as_object();
            served["resourcePath"] = text_member(resource, "path");
            served["apiKeyRequired"] = method.as_object().contains("apiKeyRequired")
                                           ? method.as_object().at("apiKeyRequired")
                                           : json::value(false);
            view->integrations[route.integration_id] = std::move(served);
          }
          view->routes.push_back(std::move(route));
        }
      }
    }
    views[name] = std::move(view);
  }
}

std::string JsonRecord::encode() const { return json::serialize(value); }

Result<JsonRecord> JsonRecord::decode(std::string_view text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  if (error || !value.is_object()) return AwsError::internal("a record is not a JSON object");
  return JsonRecord{std::move(value.as_object())};
}

std::string RestApiRecord::encode() const {
  return json::serialize(json::object{{"v", 1},
                                      {"api", api},
                                      {"resources", map_object(resources)},
                                      {"authorizers", map_object(authorizers)},
                                      {"gatewayResponses", map_object(gateway_responses)},
                                      {"deployments", map_object(deployments)},
                                      {"snapshots", map_object(snapshots)},
                                      {"stages", map_object(stages)}});
}

Result<RestApiRecord> RestApiRecord::decode(std::string_view text) {
  boost::system::error_code error;
  const auto value = json::parse(text, error);
  const auto* object = error ? nullptr : value.if_object();
  if (object == nullptr || !object->contains("api") || !object->at("api").is_object()) {
    return AwsError::internal("a REST API record is not an object with an api");
  }
  RestApiRecord out;
  out.api = object->at("api").as_object();
  out.id = text_member(out.api, "id");
  out.resources = object_map(object->if_contains("resources"));
  out.authorizers = object_map(object->if_contains("authorizers"));
  out.gateway_responses = object_map(object->if_contains("gatewayResponses"));
  out.deployments = object_map(object->if_contains("deployments"));
  out.snapshots = object_map(object->if_contains("snapshots"));
  out.stages = object_map(object->if_contains("stages"));
  out.compile();
  return out;
}

}  // namespace nimbus::services::apigateway::internal
