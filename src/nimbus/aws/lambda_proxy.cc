#include "nimbus/aws/lambda_proxy.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/json_outline.h"
#include "nimbus/core/json_text.h"
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

void QueryParameters::add(std::string key, std::string value) {
  for (auto& [name, list] : values) {
    if (name == key) {
      list.push_back(std::move(value));
      return;
    }
  }
  values.emplace_back(std::move(key), std::vector<std::string>{std::move(value)});
}

const std::string* QueryParameters::last(std::string_view name) const {
  for (const auto& [key, list] : values) {
    if (key == name) return &list.back();
  }
  return nullptr;
}

QueryParameters query_parameters(std::string_view raw_query) {
  QueryParameters out;
  if (raw_query.empty()) return out;
  for (const auto pair : split(raw_query, '&')) {
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto key = percent_decode(pair.substr(0, equals), PlusAsSpace::kYes);
    auto value = equals == std::string_view::npos
                     ? std::optional<std::string>("")
                     : percent_decode(pair.substr(equals + 1), PlusAsSpace::kYes);
    if (!key || !value) continue;
    out.add(std::move(*key), std::move(*value));
  }
  return out;
}

namespace {

std::int64_t epoch_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// "12/Mar/2020:19:03:58 +0000", as API Gateway writes it. Put together from
// the civil date: fmt's chrono formatting goes through the locale's time
// facet, several times the cost, on every request.
std::string request_time(std::chrono::system_clock::time_point time) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss clock(std::chrono::floor<std::chrono::seconds>(time - day));
  const auto two = [](std::string& out, long value) {
    out += static_cast<char>('0' + value / 10 % 10);
    out += static_cast<char>('0' + value % 10);
  };
  std::string out;
  out.reserve(26);
  two(out, static_cast<unsigned>(date.day()));
  out += '/';
  out += kMonths[static_cast<unsigned>(date.month()) - 1];
  out += '/';
  out += std::to_string(static_cast<int>(date.year()));
  out += ':';
  two(out, clock.hours().count());
  out += ':';
  two(out, clock.minutes().count());
  out += ':';
  two(out, clock.seconds().count());
  out += " +0000";
  return out;
}

json::object pairs_object(const std::vector<std::pair<std::string, std::string>>& pairs) {
  json::object out;
  for (const auto& [key, value] : pairs) out[key] = value;
  return out;
}

// Writes pairs as a JSON object: a repeated key once, where it first
// stood, with its last value (as assigning them to an object in turn does).
void append_pairs_object(std::string& out,
                         const std::vector<std::pair<std::string, std::string>>& pairs) {
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& key = pairs[i].first;
    const auto earlier = std::find_if(pairs.begin(), pairs.begin() + static_cast<std::ptrdiff_t>(i),
                                      [&](const auto& pair) { return pair.first == key; });
    if (earlier != pairs.begin() + static_cast<std::ptrdiff_t>(i)) continue;
    const auto last = std::find_if(pairs.rbegin(), pairs.rend(),
                                   [&](const auto& pair) { return pair.first == key; });
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    append_json_string(out, last->second);
  }
  out += '}';
}

// Sets "body" and "isBase64Encoded" as both payload formats do.
void set_body(json::object& event, const net::HttpRequest& request, json::value absent) {
  if (request.body.empty()) {
    event["body"] = std::move(absent);
    event["isBase64Encoded"] = false;
    return;
  }
  const bool text = is_text(request.headers.get("Content-Type").value_or(""));
  event["body"] = text ? request.body : base64_encode(request.body);
  event["isBase64Encoded"] = !text;
}

// The status a function asked for, if it is a real one.
std::optional<int> status_code(const json::value& status) {
  std::optional<std::uint64_t> code;
  if (status.is_int64() && status.as_int64() >= 0) {
    code = static_cast<std::uint64_t>(status.as_int64());
  } else if (status.is_string()) {
    code = parse_uint(status.as_string());
  }
  if (!code || *code < 100 || *code > 599) return std::nullopt;
  return static_cast<int>(*code);
}

// The body a structured response carries, base64-decoded when it says so.
std::optional<std::string> response_body(const json::object& object) {
  const auto* body = object.if_contains("body");
  if (body == nullptr || body->is_null()) return std::string();
  std::string text = value_text(*body);
  const auto* encoded = object.if_contains("isBase64Encoded");
  if (encoded && encoded->is_bool() && encoded->as_bool()) {
    auto decoded = base64_decode(text);
    if (!decoded) return std::nullopt;
    return std::move(*decoded);
  }
  return text;
}

// Memory for a document read and dropped within one call: taken from a
// buffer on the stack first, then in growing blocks, and given back all at
// once, so neither parsing nor destroying it frees key by key.
class ScratchJson {
 public:
  json::storage_ptr storage() { return json::storage_ptr(&resource_); }

 private:
  unsigned char buffer_[2048];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
};

net::HttpResponse internal_server_error() { return gateway_message(500, "Internal Server Error"); }

}  // namespace

ProxyRequestFacts proxy_facts(const RequestContext& context, const net::HttpRequest& request,
                              std::string api_id, std::string raw_path) {
  ProxyRequestFacts facts;
  facts.raw_path = std::move(raw_path);
  facts.account_id = context.account_id;
  facts.domain_name = std::string(request.headers.get("Host").value_or(""));
  facts.domain_prefix = api_id;
  facts.api_id = std::move(api_id);
  facts.request_id = context.request_id;
  facts.time = context.received;
  return facts;
}

net::HttpResponse gateway_message(int status, std::string_view message) {
  return net::HttpResponse::with_body(status, "application/json",
                                      json::serialize(json::object{{"message", message}}));
}

std::string proxy_event_v2_json(const net::HttpRequest& request, const ProxyRequestFacts& facts) {
  // Written out directly: the event is built for every request, and a
  // document built only to be serialised cost ~27k instructions of it.
  // Headers are lower-cased, a repeated one joined with "," where it first
  // stood; cookies are split out.
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.size());
  std::vector<std::string_view> cookies;
  std::size_t header_bytes = 0;
  for (const auto& [name, value] : request.headers) {
    header_bytes += name.size() + value.size() + 6;
    std::string key = to_lower(name);
    if (key == "cookie") {
      for_each_part(value, ';', [&](std::string_view piece) {
        const auto cookie = trim(piece);
        if (!cookie.empty()) cookies.push_back(cookie);
      });
      continue;
    }
    const auto existing = std::find_if(headers.begin(), headers.end(),
                                       [&](const auto& header) { return header.first == key; });
    if (existing != headers.end()) {
      existing->second += ',';
      existing->second += value;
    } else {
      headers.emplace_back(std::move(key), value);
    }
  }
  const bool text_body =
      request.body.empty() || is_text(request.headers.get("Content-Type").value_or(""));
  const std::string_view raw_query = request.query();

  std::string out;
  out.reserve(640 + 2 * header_bytes + (request.body.size() * 4) / 3 + raw_query.size() * 2);
  // A member written after `prefix` (its comma and name) with a string value.
  const auto member = [&out](std::string_view prefix, std::string_view value) {
    out += prefix;
    append_json_string(out, value);
  };
  member(R"({"version":"2.0","routeKey":)", facts.route_key);
  member(R"(,"rawPath":)", facts.raw_path);
  member(R"(,"rawQueryString":)", raw_query);
  if (!cookies.empty()) {
    out += R"(,"cookies":[)";
    for (std::size_t i = 0; i < cookies.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, cookies[i]);
    }
    out += ']';
  }
  out += R"(,"headers":{)";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, headers[i].first);
    out += ':';
    append_json_string(out, headers[i].second);
  }
  out += '}';
  if (const auto parameters = query_parameters(raw_query); !parameters.values.empty()) {
    out += R"(,"queryStringParameters":{)";
    for (std::size_t i = 0; i < parameters.values.size(); ++i) {
      const auto& [key, values] = parameters.values[i];
      if (i > 0) out += ',';
      append_json_string(out, key);
      out += ':';
      append_json_string(out, fmt::format("{}", fmt::join(values, ",")));
    }
    out += '}';
  }
  member(R"(,"requestContext":{"accountId":)", facts.account_id);
  member(R"(,"apiId":)", facts.api_id);
  member(R"(,"domainName":)", facts.domain_name);
  member(R"(,"domainPrefix":)", facts.domain_prefix);
  member(R"(,"http":{"method":)", request.method);
  member(R"(,"path":)", facts.raw_path);
  member(R"(,"protocol":"HTTP/1.1","sourceIp":)", request.remote_address);
  member(R"(,"userAgent":)", request.headers.get("User-Agent").value_or(""));
  member(R"(},"requestId":)", facts.request_id);
  member(R"(,"routeKey":)", facts.route_key);
  member(R"(,"stage":)", facts.stage);
  member(R"(,"time":)", request_time(facts.time));
  out += R"(,"timeEpoch":)";
  append_json_number(out, epoch_ms(facts.time));
  if (facts.authorizer) {
    out += R"(,"authorizer":)";
    out += json::serialize(*facts.authorizer);
  }
  out += '}';
  if (!facts.path_parameters.empty()) {
    out += R"(,"pathParameters":)";
    append_pairs_object(out, facts.path_parameters);
  }
  if (!facts.stage_variables.empty()) {
    out += R"(,"stageVariables":)";
    append_pairs_object(out, facts.stage_variables);
  }
  if (request.body.empty()) {
    // No body member at all.
  } else if (text_body) {
    member(R"(,"body":)", request.body);
  } else {
    member(R"(,"body":)", base64_encode(request.body));
  }
  out += text_body ? R"(,"isBase64Encoded":false})" : R"(,"isBase64Encoded":true})";
  return out;
}

json::object proxy_event_v2(const net::HttpRequest& request, const ProxyRequestFacts& facts) {
  // Read back from the one writer. Header bytes need not be UTF-8; as a
  // document built from them would, the object keeps them as they are.
  json::parse_options options;
  options.allow_invalid_utf8 = true;
  return json::parse(proxy_event_v2_json(request, facts), {}, options).as_object();
}

json::object proxy_event_v1(const net::HttpRequest& request, const ProxyRequestFacts& facts,
                            HeaderNames names) {
  json::object headers;
  json::object multi_headers;
  for (const auto& [name, value] : request.headers) {
    std::string key = names == HeaderNames::kLowerCase ? to_lower(name) : name;
    headers[key] = value;
    auto& list = multi_headers[key];
    if (!list.is_array()) list = json::array();
    list.as_array().emplace_back(value);
  }
  const auto parameters = query_parameters(request.query());
  json::value query = nullptr;
  json::value multi_query = nullptr;
  if (!parameters.values.empty()) {
    json::object single;
    json::object multi;
    for (const auto& [key, values] : parameters.values) {
      single[key] = values.back();
      json::array list;
      for (const auto& value : values) list.emplace_back(value);
      multi[key] = std::move(list);
    }
    query = std::move(single);
    multi_query = std::move(multi);
  }
  const bool signed_request = !facts.caller_arn.empty();
  auto or_null = [](const std::string& text) -> json::value {
    if (text.empty()) return nullptr;
    return json::value(text);
  };
  json::object identity{
      {"accessKey", or_null(facts.caller_access_key)},
      {"accountId", signed_request ? json::value(facts.account_id) : json::value(nullptr)},
      {"apiKey", or_null(facts.api_key)},
      {"apiKeyId", or_null(facts.api_key_id)},
      {"caller", or_null(facts.caller_arn)},
      {"cognitoAuthenticationProvider", nullptr},
      {"cognitoAuthenticationType", nullptr},
      {"cognitoIdentityId", nullptr},
      {"cognitoIdentityPoolId", nullptr},
      {"principalOrgId", nullptr},
      {"sourceIp", request.remote_address},
      {"user", or_null(facts.caller_arn)},
      {"userAgent", request.headers.get("User-Agent").value_or("")},
      {"userArn", or_null(facts.caller_arn)}};
  const std::string resource = facts.resource_path.empty() ? facts.raw_path : facts.resource_path;
  json::object context{{"accountId", facts.account_id},
                       {"apiId", facts.api_id},
                       {"domainName", facts.domain_name},
                       {"domainPrefix", facts.domain_prefix},
                       {"extendedRequestId", facts.request_id},
                       {"httpMethod", request.method},
                       {"identity", std::move(identity)},
                       {"path", facts.context_path.empty() ? facts.raw_path : facts.context_path},
                       {"protocol", "HTTP/1.1"},
                       {"requestId", facts.request_id},
                       {"requestTime", request_time(facts.time)},
                       {"requestTimeEpoch", epoch_ms(facts.time)},
                       {"resourceId", or_null(facts.resource_id)},
                       {"resourcePath", resource},
                       {"stage", facts.stage}};
  context["authorizer"] = facts.authorizer
                              ? json::value(*facts.authorizer)
                              : json::value(json::object{{"claims", nullptr}, {"scopes", nullptr}});
  json::object event;
  event["version"] = "1.0";
  event["resource"] = resource;
  event["path"] = facts.raw_path;
  event["httpMethod"] = request.method;
  event["headers"] = std::move(headers);
  event["multiValueHeaders"] = std::move(multi_headers);
  event["queryStringParameters"] = std::move(query);
  event["multiValueQueryStringParameters"] = std::move(multi_query);
  event["requestContext"] = std::move(context);
  event["pathParameters"] = facts.path_parameters.empty()
                                ? json::value(nullptr)
                                : json::value(pairs_object(facts.path_parameters));
  event["stageVariables"] = facts.stage_variables.empty()
                                ? json::value(nullptr)
                                : json::value(pairs_object(facts.stage_variables));
  set_body(event, request, nullptr);
  return event;
}

net::HttpResponse proxy_response_v2(std::string_view payload) {
  // Only a string or a structured answer needs its document; anything else
  // (not JSON, or JSON without a statusCode) is the body as it stands.
  const auto outline = outline_json(payload, "statusCode");
  if (!outline || (outline->kind != json::kind::string &&
                   !(outline->kind == json::kind::object && outline->has_member))) {
    return net::HttpResponse::with_body(200, "application/json", std::string(payload));
  }
  ScratchJson scratch;
  boost::system::error_code error;
  const auto value = json::parse(payload, error, scratch.storage());
  if (error) return internal_server_error();  // the outline read it as JSON: not reached
  if (value.is_string()) {
    return net::HttpResponse::with_body(200, "application/json", std::string(value.as_string()));
  }
  const auto* object = &value.as_object();
  const auto status = status_code(object->at("statusCode"));
  auto body = response_body(*object);
  if (!status || !body) return internal_server_error();
  net::HttpResponse response;
  response.status = *status;
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
  response.body = std::move(*body);
  if (!response.headers.contains("Content-Type")) {
    response.headers.add("Content-Type", "application/json");
  }
  return response;
}

std::optional<net::HttpResponse> proxy_response_v1(std::string_view payload) {
  ScratchJson scratch;
  boost::system::error_code error;
  const auto value = json::parse(payload, error, scratch.storage());
  const auto* object = error ? nullptr : value.if_object();
  if (object == nullptr) return std::nullopt;
  const auto* status_value = object->if_contains("statusCode");
  const auto status = status_value ? status_code(*status_value) : std::nullopt;
  auto body = response_body(*object);
  if (!status || !body) return std::nullopt;
  net::HttpResponse response;
  response.status = *status;
  // Both maps are merged; where both name a header, multiValueHeaders wins.
  const auto* headers = object->if_contains("headers");
  const auto* multi = object->if_contains("multiValueHeaders");
  if ((headers && !headers->is_null() && !headers->is_object()) ||
      (multi && !multi->is_null() && !multi->is_object())) {
    return std::nullopt;
  }
  std::map<std::string, bool> in_multi;
  if (multi && multi->is_object()) {
    for (const auto& [name, values] : multi->as_object()) in_multi[to_lower(name)] = true;
  }
  if (headers && headers->is_object()) {
    for (const auto& [name, header_value] : headers->as_object()) {
      if (in_multi.contains(to_lower(name))) continue;
      response.headers.add(std::string(name), value_text(header_value));
    }
  }
  if (multi && multi->is_object()) {
    for (const auto& [name, values] : multi->as_object()) {
      if (!values.is_array()) return std::nullopt;
      for (const auto& item : values.as_array()) {
        response.headers.add(std::string(name), value_text(item));
      }
    }
  }
  response.body = std::move(*body);
  if (!response.headers.contains("Content-Type")) {
    response.headers.add("Content-Type", "application/json");
  }
  return response;
}

}  // namespace nimbus::aws
