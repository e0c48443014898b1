#include "nimbus/services/apigateway/internal/model.h"

#include <random>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/core/strings.h"

namespace nimbus::services::apigateway::internal {
namespace json = boost::json;
namespace {

constexpr std::string_view kMethods[] = {"ANY",  "GET",    "POST",  "PUT",
                                         "HEAD", "DELETE", "PATCH", "OPTIONS"};

AwsError bad_route_key(std::string_view text, std::string_view why) {
  return AwsError("BadRequestException", fmt::format("Unable to create route {}. {}", text, why),
                  400);
}

// Path segments of a request path; a trailing '/' adds no segment.
std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.empty()) return out;
  for (auto segment : split(path, '/')) out.push_back(segment);
  return out;
}

}  // namespace

std::string text_member(const json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_string()) {
    return std::string(value->as_string());
  }
  return {};
}

bool is_http_url(std::string_view uri) {
  return uri.starts_with("http://") || uri.starts_with("https://");
}

std::map<std::string, json::object> object_map(const json::value* value) {
  std::map<std::string, json::object> out;
  if (value == nullptr || !value->is_object()) return out;
  for (const auto& [key, item] : value->as_object()) {
    if (item.is_object()) out[std::string(key)] = item.as_object();
  }
  return out;
}

json::object map_object(const std::map<std::string, json::object>& map) {
  json::object out;
  for (const auto& [key, item] : map) out[key] = item;
  return out;
}

Result<RouteKey> parse_route_key(std::string_view text) {
  RouteKey key;
  if (text == "$default") {
    key.is_default = true;
    return key;
  }
  const auto space = text.find(' ');
  if (space == std::string_view::npos) {
    return bad_route_key(text, "A route key must be $default or '<METHOD> <path>'.");
  }
  key.method = std::string(text.substr(0, space));
  bool known = false;
  for (const auto method : kMethods) known = known || method == key.method;
  if (!known) {
    return bad_route_key(
        text, fmt::format("The HTTP method {} is not one of ANY, GET, POST, PUT, HEAD, DELETE, "
                          "PATCH, OPTIONS.",
                          key.method));
  }
  const auto path = text.substr(space + 1);
  if (!path.starts_with('/')) return bad_route_key(text, "The route path must start with '/'.");
  const auto segments = path_segments(path);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto segment = segments[i];
    if (segment.empty()) return bad_route_key(text, "The route path has an empty segment.");
    RouteKey::Segment out;
    if (segment.starts_with('{') && segment.ends_with('}')) {
      auto name = segment.substr(1, segment.size() - 2);
      out.kind = RouteKey::Segment::Kind::kVariable;
      if (name.ends_with('+')) {
        if (i + 1 != segments.size()) {
          return bad_route_key(text, "A greedy path variable must be the last segment.");
        }
        name.remove_suffix(1);
        out.kind = RouteKey::Segment::Kind::kGreedy;
      }
      if (name.empty() || name.find_first_of("{}+/") != std::string_view::npos) {
        return bad_route_key(text, "A path variable needs a name.");
      }
      out.text = std::string(name);
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        return bad_route_key(text, "A path variable must be a whole segment.");
      }
      out.text = std::string(segment);
    }
    key.segments.push_back(std::move(out));
  }
  return key;
}

std::optional<RouteMatch> match_route(const std::vector<CompiledRoute>& routes,
                                      std::string_view method, std::string_view path) {
  const auto segments = path_segments(path);
  // Rank: exact-or-parameterised over greedy; then literal segments earlier
  // in the path; then more segments; then a named method over ANY.
  struct Rank {
    bool not_greedy = false;
    std::vector<bool> literals;
    std::size_t length = 0;
    bool named_method = false;
    auto operator<=>(const Rank&) const = default;
  };
  const CompiledRoute* best = nullptr;
  const CompiledRoute* fallback = nullptr;
  Rank best_rank;
  std::vector<std::pair<std::string, std::string>> best_parameters;
  for (const auto& route : routes) {
    if (route.key.is_default) {
      fallback = &route;
      continue;
    }
    if (route.key.method != "ANY" && route.key.method != method) continue;
    const auto& pattern = route.key.segments;
    const bool greedy = !pattern.empty() && pattern.back().kind == RouteKey::Segment::Kind::kGreedy;
    const std::size_t fixed = greedy ? pattern.size() - 1 : pattern.size();
    if (greedy ? segments.size() <= fixed : segments.size() != fixed) continue;
    Rank rank{!greedy, {}, pattern.size(), route.key.method != "ANY"};
    std::vector<std::pair<std::string, std::string>> parameters;
    bool matched = true;
    for (std::size_t i = 0; i < fixed && matched; ++i) {
      const auto decoded = percent_decode(segments[i]);
      if (!decoded) {
        matched = false;
        break;
      }
      if (pattern[i].kind == RouteKey::Segment::Kind::kLiteral) {
        matched = pattern[i].text == *decoded;
        rank.literals.push_back(true);
      } else {
        if (decoded->empty()) matched = false;
        parameters.emplace_back(pattern[i].text, *decoded);
        rank.literals.push_back(false);
      }
    }
    if (!matched) continue;
    if (greedy) {
      std::string rest;
      for (std::size_t i = fixed; i < segments.size(); ++i) {
        if (i > fixed) rest += '/';
        rest += percent_decode(segments[i]).value_or(std::string(segments[i]));
      }
      parameters.emplace_back(pattern.back().text, std::move(rest));
    }
    if (best == nullptr || best_rank < rank) {
      best = &route;
      best_rank = std::move(rank);
      best_parameters = std::move(parameters);
    }
  }
  if (best != nullptr) return RouteMatch{best, std::move(best_parameters)};
  if (fallback != nullptr) return RouteMatch{fallback, {}};
  return std::nullopt;
}

json::value HttpApi::to_json() const {
  return json::object{{"v", 1},
                      {"api", api},
                      {"routes", map_object(routes)},
                      {"integrations", map_object(integrations)},
                      {"authorizers", map_object(authorizers)},
                      {"stages", map_object(stages)},
                      {"deployments", map_object(deployments)},
                      {"snapshots", map_object(snapshots)}};
}

Result<HttpApi> HttpApi::from_json(const json::value& value) {
  const auto* object = value.if_object();
  if (object == nullptr || !object->contains("api") || !object->at("api").is_object()) {
    return AwsError::internal("an HTTP API record is not an object with an api");
  }
  HttpApi out;
  out.api = object->at("api").as_object();
  out.id = text_member(out.api, "apiId");
  out.routes = object_map(object->if_contains("routes"));
  out.integrations = object_map(object->if_contains("integrations"));
  out.authorizers = object_map(object->if_contains("authorizers"));
  out.stages = object_map(object->if_contains("stages"));
  out.deployments = object_map(object->if_contains("deployments"));
  out.snapshots = object_map(object->if_contains("snapshots"));
  out.compile();
  return out;
}

std::string HttpApi::encode() const { return json::serialize(to_json()); }

Result<HttpApi> HttpApi::decode(std::string_view text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  if (error) return AwsError::internal(fmt::format("not JSON: {}", error.message()));
  return from_json(value);
}

json::object HttpApi::snapshot() const {
  return json::object{{"routes", map_object(routes)},
                      {"integrations", map_object(integrations)},
                      {"authorizers", map_object(authorizers)}};
}

void HttpApi::prune_snapshots() {
  std::map<std::string, bool> served;
  for (const auto& [name, stage] : stages) served[text_member(stage, "deploymentId")] = true;
  std::erase_if(snapshots, [&](const auto& entry) {
    if (served.contains(entry.first)) return false;
    const auto deployment = deployments.find(entry.first);
    if (deployment == deployments.end()) return true;
    const auto* automatic = deployment->second.if_contains("autoDeployed");
    return automatic && automatic->is_bool() && automatic->as_bool();
  });
}

namespace {

// A route key's path as the 1.0 event's resource names it.
std::string resource_path(const RouteKey& key) {
  if (key.is_default) return "$default";
  std::string out;
  for (const auto& segment : key.segments) {
    out += '/';
    out += segment.kind == RouteKey::Segment::Kind::kLiteral  ? segment.text
           : segment.kind == RouteKey::Segment::Kind::kGreedy ? "{" + segment.text + "+}"
                                                              : "{" + segment.text + "}";
  }
  return out.empty() ? "/" : out;
}

}  // namespace

std::shared_ptr<StageView> new_stage_view(const std::string& name, const json::object& stage,
                                          std::string_view variables_member) {
  auto view = std::make_shared<StageView>();
  view->name = name;
  view->stage = stage;
  view->access_log = access_log_target(stage);
  if (const auto* variables = stage.if_contains(variables_member);
      variables && variables->is_object()) {
    for (const auto& [key, item] : variables->as_object()) {
      if (item.is_string()) view->stage_variables.emplace_back(key, item.as_string());
    }
  }
  return view;
}

void HttpApi::compile() {
  views.clear();
  cors.reset();
  if (const auto* value = api.if_contains("corsConfiguration"); value && value->is_object()) {
    cors = aws::CorsPolicy::from_json(value->as_object(), aws::CorsPolicy::MemberCase::kCamel);
  }
  for (const auto& [name, stage] : stages) {
    auto view = new_stage_view(name, stage, "stageVariables");
    const auto snapshot = snapshots.find(text_member(stage, "deploymentId"));
    if (snapshot != snapshots.end()) {
      view->integrations = object_map(snapshot->second.if_contains("integrations"));
      view->authorizers = object_map(snapshot->second.if_contains("authorizers"));
      for (const auto& [id, route] : object_map(snapshot->second.if_contains("routes"))) {
        auto key = parse_route_key(text_member(route, "routeKey"));
        if (!key) continue;
        CompiledRoute compiled;
        compiled.route_key = text_member(route, "routeKey");
        compiled.route_id = id;
        compiled.key = std::move(*key);
        compiled.resource_path = resource_path(compiled.key);
        if (auto type = text_member(route, "authorizationType"); !type.empty()) {
          compiled.authorization_type = std::move(type);
        }
        compiled.authorizer_id = text_member(route, "authorizerId");
        const auto target = text_member(route, "target");
        if (target.starts_with("integrations/")) {
          compiled.integration_id = target.substr(std::string_view("integrations/").size());
        }
        if (const auto* scopes = route.if_contains("authorizationScopes");
            scopes && scopes->is_array()) {
          for (const auto& scope : scopes->as_array()) {
            if (scope.is_string()) compiled.authorization_scopes.emplace_back(scope.as_string());
          }
        }
        view->routes.push_back(std::move(compiled));
      }
    }
    views[name] = std::move(view);
  }
}

std::string new_id(std::size_t length) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += kAlphabet[pick(random)];
  return out;
}

}  // namespace nimbus::services::apigateway::internal
