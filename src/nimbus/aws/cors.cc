#include "nimbus/aws/cors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace nimbus::aws {
namespace json = boost::json;
namespace {

std::vector<std::string> strings(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* list = object.if_contains(key); list && list->is_array()) {
    for (const auto& item : list->as_array()) {
      if (item.is_string()) out.emplace_back(item.as_string());
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& values) {
  return fmt::format("{}", fmt::join(values, ","));
}

}  // namespace

CorsPolicy CorsPolicy::from_json(const json::object& cors, MemberCase member_case) {
  const bool pascal = member_case == MemberCase::kPascal;
  CorsPolicy out;
  out.allow_origins = strings(cors, pascal ? "AllowOrigins" : "allowOrigins");
  out.allow_methods = strings(cors, pascal ? "AllowMethods" : "allowMethods");
  out.allow_headers = strings(cors, pascal ? "AllowHeaders" : "allowHeaders");
  out.expose_headers = strings(cors, pascal ? "ExposeHeaders" : "exposeHeaders");
  if (const auto* value = cors.if_contains(pascal ? "AllowCredentials" : "allowCredentials");
      value && value->is_bool()) {
    out.allow_credentials = value->as_bool();
  }
  if (const auto* value = cors.if_contains(pascal ? "MaxAge" : "maxAge");
      value && (value->is_int64() || value->is_uint64())) {
    out.max_age = value->to_number<std::int64_t>();
  }
  return out;
}

bool CorsPolicy::allows(std::string_view origin) const {
  for (const auto& allowed : allow_origins) {
    if (allowed == "*" || allowed == origin) return true;
  }
  return false;
}

void CorsPolicy::decorate(const net::HttpRequest& request, net::HttpResponse& response) const {
  const auto origin = request.headers.get("Origin");
  if (!origin || origin->empty() || !allows(*origin)) return;
  const bool wildcard = allow_origins.size() == 1 && allow_origins.front() == "*";
  response.headers.set("Access-Control-Allow-Origin", wildcard ? "*" : std::string(*origin));
  if (allow_credentials) response.headers.set("Access-Control-Allow-Credentials", "true");
  if (!expose_headers.empty()) {
    response.headers.set("Access-Control-Expose-Headers", joined(expose_headers));
  }
}

std::optional<net::HttpResponse> CorsPolicy::preflight(const net::HttpRequest& request,
                                                       int status) const {
  if (request.method != "OPTIONS" || !request.headers.contains("Origin") ||
      !request.headers.contains("Access-Control-Request-Method")) {
    return std::nullopt;
  }
  net::HttpResponse response;
  response.status = status;
  decorate(request, response);
  if (!response.headers.contains("Access-Control-Allow-Origin")) return response;
  if (!allow_methods.empty()) {
    response.headers.set("Access-Control-Allow-Methods", joined(allow_methods));
  }
  if (!allow_headers.empty()) {
    response.headers.set("Access-Control-Allow-Headers", joined(allow_headers));
  }
  if (max_age) response.headers.set("Access-Control-Max-Age", std::to_string(*max_age));
  return response;
}

}  // namespace nimbus::aws
