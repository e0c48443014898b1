#pragma once

// REST APIs (apigateway 2015-07-09) as API Gateway keeps them: each API one
// JSON document holding its resource tree (each resource with its methods
// and their integrations), deployments with the resources they deployed,
// and stages, in the API's wire shapes. Stages are compiled into the same
// StageView HTTP APIs serve from: a route per resource method.

#include <map>
#include <memory>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/core/result.h"
#include "nimbus/services/apigateway/internal/model.h"

namespace nimbus::services::apigateway::internal {

struct RestApiRecord {
  std::string id;
  boost::json::object api;                                 // the RestApi shape
  std::map<std::string, boost::json::object> resources;    // by resource id
  std::map<std::string, boost::json::object> authorizers;  // by authorizer id
  // Customized gateway responses, by response type.
  std::map<std::string, boost::json::object> gateway_responses;
  std::map<std::string, boost::json::object> deployments;
  // deployment id -> {"resources", "authorizers", "gatewayResponses"} as deployed
  std::map<std::string, boost::json::object> snapshots;
  std::map<std::string, boost::json::object> stages;

  // Built by compile(); not stored.
  std::map<std::string, std::shared_ptr<const StageView>> views;

  std::string root_id() const;
  // The full path of a resource ("/items/{id}"), from its parents.
  std::string path_of(const std::string& resource_id) const;
  boost::json::object snapshot() const;
  void compile();

  std::string encode() const;
  static Result<RestApiRecord> decode(std::string_view text);
};

// An account-level resource kept as its wire shape (API keys, usage plans).
struct JsonRecord {
  boost::json::object value;
  std::string encode() const;
  static Result<JsonRecord> decode(std::string_view text);
};

// The key a compiled route's integration is found under: "<resource id> <METHOD>".
std::string method_key(std::string_view resource_id, std::string_view method);

}  // namespace nimbus::services::apigateway::internal
