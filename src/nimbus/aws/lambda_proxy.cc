#include "nimbus/aws/lambda_proxy.h"

#include <map>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/strings.h"

namespace nimbus::aws {
namespace json = boost::json;
namespace {

bool is_text(std::string_view content_type) {
  const std::string type = to_lower(content_type);
  return type.empty() || type.starts_with("text/") || type.find("json") != std::string::npos ||
         type.find("xml") != std::string::npos || type.find("javascript") != std::string::npos ||
         type.starts_with("application/x-www-form-urlencoded");
}

std::string value_text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  return json::serialize(value);
}

}  // namespace

json::object proxy_event_v2(const net::HttpRequest& request, const ProxyRequestFacts& facts) {
  json::object headers;
  json::array cookies;
  for (const auto& [name, value] : request.headers) {
    std::string key = to_lower(name);
    if (key == "cookie") {
      for (auto cookie : split(value, ';')) {
        cookie = trim(cookie);
        if (!cookie.empty()) cookies.emplace_back(cookie);
      }
      continue;
    }
    if (auto* existing = headers.if_contains(key)) {
      existing->as_string() = std::string(existing->as_string()) + "," + value;
    } else {
      headers[key] = value;
    }
  }
  const std::string raw_query(request.query());
  std::map<std::string, std::string> parameters;
  if (!raw_query.empty()) {
    for (const auto pair : split(raw_query, '&')) {
      if (pair.empty()) continue;
      const auto equals = pair.find('=');
      auto key = percent_decode(pair.substr(0, equals), PlusAsSpace::kYes);
      auto value = equals == std::string_view::npos
                       ? std::optional<std::string>("")
                       : percent_decode(pair.substr(equals + 1), PlusAsSpace::kYes);
      if (!key || !value) continue;
      auto [it, inserted] = parameters.emplace(*key, *value);
      if (!inserted) it->second += "," + *value;
    }
  }
  const auto epoch_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(facts.time.time_since_epoch()).count();
  const auto content_type = request.headers.get("Content-Type").value_or("");

  json::object event;
  event["version"] = "2.0";
  event["routeKey"] = "$default";
  event["rawPath"] = facts.raw_path;
  event["rawQueryString"] = raw_query;
  if (!cookies.empty()) event["cookies"] = std::move(cookies);
  event["headers"] = std::move(headers);
  if (!parameters.empty()) {
    json::object query;
    for (auto& [key, value] : parameters) query[key] = std::move(value);
    event["queryStringParameters"] = std::move(query);
  }
  json::object http{{"method", request.method},
                    {"path", facts.raw_path},
                    {"protocol", "HTTP/1.1"},
                    {"sourceIp", request.remote_address},
                    {"userAgent", request.headers.get("User-Agent").value_or("")}};
  event["requestContext"] = {
      {"accountId", facts.account_id},
      {"apiId", facts.api_id},
      {"domainName", facts.domain_name},
      {"domainPrefix", facts.domain_prefix},
      {"http", std::move(http)},
      {"requestId", facts.request_id},
      {"routeKey", "$default"},
      {"stage", "$default"},
      {"time", fmt::format("{:%d/%b/%Y:%H:%M:%S} +0000",
                           std::chrono::floor<std::chrono::seconds>(facts.time))},
      {"timeEpoch", epoch_ms}};
  if (!request.body.empty()) {
    const bool text = is_text(content_type);
    event["body"] = text ? request.body : base64_encode(request.body);
    event["isBase64Encoded"] = !text;
  } else {
    event["isBase64Encoded"] = false;
  }
  return event;
}

net::HttpResponse proxy_response_v2(std::string_view payload) {
  boost::system::error_code error;
  const auto value = json::parse(payload, error);
  if (error) {
    // Not JSON: the bytes are the body.
    return net::HttpResponse::with_body(200, "application/json", std::string(payload));
  }
  const auto* object = value.if_object();
  if (object == nullptr || !object->contains("statusCode")) {
    if (value.is_string()) {
      return net::HttpResponse::with_body(200, "application/json", std::string(value.as_string()));
    }
    return net::HttpResponse::with_body(200, "application/json", std::string(payload));
  }
  net::HttpResponse response;
  const auto& status = object->at("statusCode");
  if (status.is_int64()) {
    const auto code = status.as_int64();
    response.status = code >= 100 && code <= 599 ? static_cast<int>(code) : 500;
  } else if (status.is_uint64()) {
    response.status = 500;  // only past INT64_MAX is a number stored unsigned
  } else if (status.is_string()) {
    const auto code = parse_uint(status.as_string()).value_or(500);
    response.status = code >= 100 && code <= 599 ? static_cast<int>(code) : 500;
  } else {
    response.status = 500;
  }
  if (response.status < 100 || response.status > 599) response.status = 500;
  if (const auto* headers = object->if_contains("headers"); headers && headers->is_object()) {
    for (const auto& [name, header_value] : headers->as_object()) {
      response.headers.add(std::string(name), value_text(header_value));
    }
  }
  if (const auto* cookies = object->if_contains("cookies"); cookies && cookies->is_array()) {
    for (const auto& cookie : cookies->as_array()) {
      response.headers.add("Set-Cookie", value_text(cookie));
    }
  }
  if (const auto* body = object->if_contains("body"); body && !body->is_null()) {
    std::string text = value_text(*body);
    const auto* encoded = object->if_contains("isBase64Encoded");
    if (encoded && encoded->is_bool() && encoded->as_bool()) {
      auto decoded = base64_decode(text);
      text = decoded ? std::move(*decoded) : std::string();
    }
    response.body = std::move(text);
  }
  if (!response.headers.contains("Content-Type")) {
    response.headers.add("Content-Type", "application/json");
  }
  return response;
}

}  // namespace nimbus::aws
