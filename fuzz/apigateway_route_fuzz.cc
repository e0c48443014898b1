// API Gateway route keys (outside input: CreateRoute's routeKey) and request
// paths matched against them. Input layout: route keys, one per line, then
// a blank line, then "METHOD /path".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/strings.h"
#include "nimbus/services/apigateway/internal/model.h"

namespace internal = nimbus::services::apigateway::internal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto blank = input.find("\n\n");
  std::vector<internal::CompiledRoute> routes;
  for (const auto line : nimbus::split(input.substr(0, blank), '\n')) {
    auto key = internal::parse_route_key(line);
    if (!key) continue;
    internal::CompiledRoute route;
    route.route_key = std::string(line);
    route.key = std::move(*key);
    routes.push_back(std::move(route));
  }
  if (blank == std::string_view::npos) return 0;
  const auto request = input.substr(blank + 2);
  const auto space = request.find(' ');
  const auto method = request.substr(0, space);
  const auto path =
      space == std::string_view::npos ? std::string_view("/") : request.substr(space + 1);
  const auto match = internal::match_route(routes, method, path);
  // A match is one of the routes, and a named method matches only itself.
  if (match) {
    if (match->route < routes.data() || match->route >= routes.data() + routes.size()) {
      __builtin_trap();
    }
    const auto& key = match->route->key;
    if (!key.is_default && key.method != "ANY" && key.method != method) __builtin_trap();
  }
  return 0;
}
