#include "nimbus/services/apigateway/internal/gateway_responses.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace nimbus::services::apigateway::internal {

namespace json = boost::json;

namespace {

// API Gateway's defaults: each type's status code (0: none, the fallbacks).
struct TypeDefault {
  std::string_view type;
  int status;
};
constexpr std::array<TypeDefault, 21> kTypes = {{
    {"ACCESS_DENIED", 403},
    {"API_CONFIGURATION_ERROR", 500},
    {"AUTHORIZER_CONFIGURATION_ERROR", 500},
    {"AUTHORIZER_FAILURE", 500},
    {"BAD_REQUEST_BODY", 400},
    {"BAD_REQUEST_PARAMETERS", 400},
    {"DEFAULT_4XX", 0},
    {"DEFAULT_5XX", 0},
    {"EXPIRED_TOKEN", 403},
    {"INTEGRATION_FAILURE", 504},
    {"INTEGRATION_TIMEOUT", 504},
    {"INVALID_API_KEY", 403},
    {"INVALID_SIGNATURE", 403},
    {"MISSING_AUTHENTICATION_TOKEN", 403},
    {"QUOTA_EXCEEDED", 429},
    {"REQUEST_TOO_LARGE", 413},
    {"RESOURCE_NOT_FOUND", 404},
    {"THROTTLED", 429},
    {"UNAUTHORIZED", 401},
    {"UNSUPPORTED_MEDIA_TYPE", 415},
    {"WAF_FILTERED", 403},
}};

constexpr std::string_view kDefaultTemplate = R"({"message":$context.error.messageString})";

const json::object* find(const std::map<std::string, json::object>& customized,
                         std::string_view type) {
  const auto it = customized.find(std::string(type));
  return it == customized.end() ? nullptr : &it->second;
}

std::string text_of(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The generated error's message: {"message": ...} or {"Message": ...}.
std::optional<std::string> message_of(const std::string& body) {
  boost::system::error_code ec;
  const auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  for (const auto* name : {"message", "Message"}) {
    if (const auto* value = parsed.as_object().if_contains(name)) {
      if (value->is_string()) return std::string(value->as_string());
      if (value->is_null()) return std::nullopt;
    }
  }
  return std::nullopt;
}

// Renders "$context.<name>" (and "${context.<name>}") references; a
// reference without a value renders empty.
std::string render(std::string_view text, const GatewayLookup& context) {
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    const bool braced = text.substr(at).starts_with("${context.");
    if (!braced && !text.substr(at).starts_with("$context.")) {
      out += text[at++];
      continue;
    }
    std::size_t end = at + (braced ? 10 : 9);
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                 text[end] == '.' || text[end] == '_')) {
      ++end;
    }
    std::string_view name = text.substr(at + (braced ? 10 : 9), end - at - (braced ? 10 : 9));
    // A sentence's full stop is not part of the name.
    while (!braced && name.ends_with('.')) {
      name.remove_suffix(1);
      --end;
    }
    if (braced) {
      if (end >= text.size() || text[end] != '}') {
        out += text[at++];
        continue;
      }
      ++end;
    }
    out += context(fmt::format("$context.{}", name)).value_or("");
    at = end;
  }
  return out;
}

}  // namespace

bool is_gateway_response_type(std::string_view type) {
  return std::any_of(kTypes.begin(), kTypes.end(),
                     [&](const TypeDefault& known) { return known.type == type; });
}

const std::vector<std::string_view>& gateway_response_types() {
  static const std::vector<std::string_view> types = [] {
    std::vector<std::string_view> out;
    for (const auto& known : kTypes) out.push_back(known.type);
    return out;
  }();
  return types;
}

json::object default_gateway_response(std::string_view type) {
  json::object out{{"responseType", type},
                   {"responseParameters", json::object()},
                   {"responseTemplates", json::object{{"application/json", kDefaultTemplate}}},
                   {"defaultResponse", true}};
  for (const auto& known : kTypes) {
    if (known.type == type && known.status != 0) out["statusCode"] = std::to_string(known.status);
  }
  return out;
}

net::HttpResponse customize_gateway_response(const std::map<std::string, json::object>& customized,
                                             std::string_view type, net::HttpResponse generated,
                                             const GatewayLookup& lookup) {
  const json::object* own = find(customized, type);
  const json::object* fallback =
      find(customized, generated.status >= 500 ? "DEFAULT_5XX" : "DEFAULT_4XX");
  if (own == nullptr && fallback == nullptr) return generated;
  const json::object& applied = own != nullptr ? *own : *fallback;

  // The error, for the template: messageString is the message as a JSON
  // string (quotes included), as API Gateway renders it.
  const auto message = message_of(generated.body);
  const GatewayLookup context = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "$context.error.message") return message;
    if (name == "$context.error.messageString") {
      return message ? json::serialize(json::value(*message)) : std::string("null");
    }
    if (name == "$context.error.responseType") return std::string(type);
    return lookup(name);
  };

  net::HttpResponse out;
  // The customization's status code (a fallback's changes every type it
  // stands in for), else the type's own.
  const std::string code = text_of(applied, "statusCode");
  out.status = code.empty() ? generated.status : std::stoi(code);
  std::string template_text(kDefaultTemplate);
  if (const auto* templates = applied.if_contains("responseTemplates");
      templates && templates->is_object()) {
    if (const auto* json_template = templates->as_object().if_contains("application/json");
        json_template && json_template->is_string()) {
      template_text = std::string(json_template->as_string());
    }
  }
  out.headers = generated.headers;
  out.headers.set("Content-Type", "application/json");
  if (const auto* parameters = applied.if_contains("responseParameters");
      parameters && parameters->is_object()) {
    for (const auto& [key, value] : parameters->as_object()) {
      constexpr std::string_view kHeader = "gatewayresponse.header.";
      if (!std::string_view(key).starts_with(kHeader) || !value.is_string()) continue;
      const std::string_view expression = value.as_string();
      std::optional<std::string> header_value;
      if (expression.size() >= 2 && expression.front() == '\'' && expression.back() == '\'') {
        header_value = std::string(expression.substr(1, expression.size() - 2));
      } else {
        header_value = lookup(expression);
      }
      if (header_value)
        out.headers.set(std::string_view(key).substr(kHeader.size()), *header_value);
    }
  }
  out.body = render(template_text, context);
  return out;
}

}  // namespace nimbus::services::apigateway::internal
