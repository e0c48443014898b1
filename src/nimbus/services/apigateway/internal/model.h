#pragma once

// HTTP APIs as API Gateway keeps them: each API one JSON document holding
// its routes, integrations, authorizers, stages and deployments in their
// wire shapes (apigatewayv2's lowerCamelCase members), and, per deployment,
// the snapshot a stage serves. The data plane reads a compiled view of each
// stage, built once per change.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/aws/cors.h"
#include "nimbus/core/result.h"
#include "nimbus/services/apigateway/internal/access_log.h"

namespace nimbus::services::apigateway::internal {

// The string at `key`, or "" when it is absent or not a string.
std::string text_member(const boost::json::object& object, std::string_view key);
// Whether `uri` is an http:// or https:// URL (HTTP_PROXY targets, JWT issuers).
bool is_http_url(std::string_view uri);
// Child collections as records keep them: a JSON object of objects as a
// map (members that are not objects are dropped), and back.
std::map<std::string, boost::json::object> object_map(const boost::json::value* value);
boost::json::object map_object(const std::map<std::string, boost::json::object>& map);

// "$default" or "<METHOD> <path>", METHOD an HTTP method or ANY, the path
// made of literal segments, {name} segments and a final {name+}.
struct RouteKey {
  struct Segment {
    std::string text;  // the literal, or the variable's name
    enum class Kind { kLiteral, kVariable, kGreedy } kind = Kind::kLiteral;
  };
  bool is_default = false;
  std::string method;  // "ANY", "GET", ...; empty for $default
  std::vector<Segment> segments;
};

// The route key, or why API Gateway refuses it.
Result<RouteKey> parse_route_key(std::string_view text);

// A route as the data plane matches it.
struct CompiledRoute {
  std::string route_key;
  std::string route_id;
  RouteKey key;
  std::string authorization_type = "NONE";
  std::string authorizer_id;
  std::string integration_id;  // from a target "integrations/<id>"
  std::string resource_path;   // the 1.0 event's resource: the path, or "$default"
  std::vector<std::string> authorization_scopes;
};

struct RouteMatch {
  const CompiledRoute* route = nullptr;
  std::vector<std::pair<std::string, std::string>> path_parameters;
};

// Picks the route for a request as API Gateway does: an exact or
// parameterised match first (more literal segments, then a named method
// over ANY), then the longest greedy match, then $default.
std::optional<RouteMatch> match_route(const std::vector<CompiledRoute>& routes,
                                      std::string_view method, std::string_view path);

// What one stage serves.
struct StageView {
  std::string name;
  boost::json::object stage;
  std::vector<CompiledRoute> routes;
  std::map<std::string, boost::json::object> integrations;
  std::map<std::string, boost::json::object> authorizers;
  // REST APIs: the deployment's customized gateway responses, by type.
  std::map<std::string, boost::json::object> gateway_responses;
  std::vector<std::pair<std::string, std::string>> stage_variables;
  std::optional<AccessLogTarget> access_log;  // from stage.accessLogSettings
};

// A stage's view before its routes: the name, the stage and its variables,
// read from the stage's `variables_member` ("stageVariables" in HTTP APIs,
// "variables" in REST APIs).
std::shared_ptr<StageView> new_stage_view(const std::string& name, const boost::json::object& stage,
                                          std::string_view variables_member);

struct HttpApi {
  std::string id;
  boost::json::object api;  // the Api shape, without apiEndpoint (it names the server's port)
  std::map<std::string, boost::json::object> routes;
  std::map<std::string, boost::json::object> integrations;
  std::map<std::string, boost::json::object> authorizers;
  std::map<std::string, boost::json::object> stages;
  std::map<std::string, boost::json::object> deployments;
  // deploymentId -> {"routes", "integrations", "authorizers"} as deployed.
  std::map<std::string, boost::json::object> snapshots;

  // Built by compile(); not stored.
  std::map<std::string, std::shared_ptr<const StageView>> views;
  std::optional<aws::CorsPolicy> cors;  // from api.corsConfiguration

  boost::json::value to_json() const;
  static Result<HttpApi> from_json(const boost::json::value& value);
  // As stored (storage::RecordCatalog): the JSON text; decode() compiles.
  std::string encode() const;
  static Result<HttpApi> decode(std::string_view text);

  // The current routes, integrations and authorizers, as a deployment keeps them.
  boost::json::object snapshot() const;
  // Drops the snapshots of automatic deployments no stage serves (the
  // deployments stay listable); manual ones can be pointed at again.
  void prune_snapshots();
  // Rebuilds `views` from the stages and their deployments' snapshots.
  void compile();
};

// API Gateway's identifiers: lower-case letters and digits.
std::string new_id(std::size_t length);

}  // namespace nimbus::services::apigateway::internal
