// Function URLs: their configuration (Create/Get/Update/Delete/
// ListFunctionUrlConfigs) and their invocation. A URL is
// http://<url-id>.lambda-url.<region>.localhost:<port>/ (curl and browsers
// resolve *.localhost to the loopback address), or, for clients that cannot
// set the Host, <endpoint>/_lambda/url/<url-id>/. The function gets the
// payload format 2.0 event and its answer becomes the HTTP response.

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/aws_time.h"
#include "nimbus/aws/cors.h"
#include "nimbus/aws/lambda_proxy.h"
#include "nimbus/core/strings.h"
#include "nimbus/services/lambda/internal/service_impl.h"

namespace nimbus::services::lambda::internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

constexpr std::string_view kUrlPathPrefix = "/_lambda/url/";

std::string new_url_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(32, 'a');
  for (auto& c : id) c = kAlphabet[random() % kAlphabet.size()];
  return id;
}

// What clients see: the stored configuration without Nimbus's own fields.
json::object url_view(json::object configuration) {
  configuration.erase("UrlId");
  return configuration;
}

AwsError url_not_found() {
  return resource_not_found("The resource you requested does not exist.");
}

Result<std::string> check_auth_type(const json::object& body, bool required) {
  auto auth = get_string(body, "AuthType");
  if (!auth) return auth.error();
  if (!*auth) {
    if (required) return missing("authType");
    return std::string();
  }
  if (**auth != "NONE" && **auth != "AWS_IAM") {
    return validation_error(**auth, "authType",
                            "Member must satisfy enum value set: [NONE, AWS_IAM]");
  }
  return **auth;
}

Result<std::string> check_invoke_mode(const json::object& body) {
  auto mode = get_string(body, "InvokeMode");
  if (!mode) return mode.error();
  if (!*mode) return std::string();
  if (**mode != "BUFFERED" && **mode != "RESPONSE_STREAM") {
    return validation_error(**mode, "invokeMode",
                            "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]");
  }
  return **mode;
}

// The Cors shape: lists of strings, AllowCredentials a boolean, MaxAge
// 0..86400 seconds.
Result<const json::object*> check_cors(const json::object& body) {
  auto cors = get_object(body, "Cors");
  if (!cors || !*cors) return cors;
  for (const auto& [key, value] : **cors) {
    if (key == "AllowOrigins" || key == "AllowMethods" || key == "AllowHeaders" ||
        key == "ExposeHeaders") {
      bool strings = value.is_array();
      if (strings) {
        for (const auto& item : value.as_array()) strings = strings && item.is_string();
      }
      if (!strings) return wrong_type(key, "a list of strings");
    } else if (key == "AllowCredentials") {
      if (!value.is_bool()) return wrong_type(key, "a boolean");
    } else if (key == "MaxAge") {
      if (!value.is_int64() || value.as_int64() < 0 || value.as_int64() > 86400) {
        return validation_error(json::serialize(value), "cors.maxAge",
                                "Member must have value less than or equal to 86400");
      }
    } else {
      return wrong_type(key, "a member of Cors");
    }
  }
  return *cors;
}

// Qualifiers a URL can be attached to: $LATEST (none given) or an alias.
Result<std::string> url_qualifier(const FunctionRef& ref) {
  if (ref.qualifier.empty() || ref.qualifier == kLatest) return std::string(kLatest);
  if (is_version_number(ref.qualifier)) {
    return invalid_parameter("Function URLs can only be attached to $LATEST or an alias.");
  }
  return ref.qualifier;
}

net::HttpResponse message_response(int status, std::string_view message) {
  return net::HttpResponse::with_body(status, "application/json",
                                      json::serialize(json::object{{"Message", message}}));
}

// A streamed answer: awslambda.HttpResponseStream.from() sends a JSON
// prelude (statusCode, headers, cookies) and eight NUL bytes before the body;
// any other stream is the body, with the content type the function set.
constexpr std::string_view kHttpIntegration = "application/vnd.awslambda.http-integration-response";
constexpr std::string_view kPreludeEnd("\0\0\0\0\0\0\0\0", 8);

// The response a prelude describes, without its body; none if it is not one.
std::optional<net::HttpResponse> prelude_response(std::string_view prelude_text) {
  boost::system::error_code error;
  auto prelude = json::parse(prelude_text, error);
  if (error || !prelude.is_object()) return std::nullopt;
  // The prelude has the structured response's shape, without the body.
  auto& object = prelude.as_object();
  object.erase("body");
  object.erase("isBase64Encoded");
  auto response = aws::proxy_response_v2(json::serialize(object));
  response.body.clear();
  return response;
}

net::HttpResponse streamed_url_response(const engine::InvokeResult& result) {
  if (result.content_type != kHttpIntegration) {
    return net::HttpResponse::with_body(200, result.content_type, result.payload);
  }
  const std::string_view payload = result.payload;
  const auto separator = payload.find(kPreludeEnd);
  if (separator == std::string_view::npos) return message_response(502, "Internal Server Error");
  auto response = prelude_response(payload.substr(0, separator));
  if (!response) return message_response(502, "Internal Server Error");
  response->body = std::string(payload.substr(separator + kPreludeEnd.size()));
  return std::move(*response);
}

// The rest of a RESPONSE_STREAM URL's answer, sent as the function writes
// it; a function error after the stream began just ends the body.
std::shared_ptr<net::BodyStream> url_body(std::shared_ptr<InvocationStream> stream,
                                          std::string first) {
  return stream_body(
      std::move(stream), std::move(first), [](std::string bytes) { return bytes; },
      [](const Result<engine::InvokeResult>&) { return std::string(); });
}

}  // namespace

std::string LambdaServiceImpl::function_url(const std::string& url_id) const {
  std::string port = "80";
  {
    std::lock_guard lock(mutex_);
    const auto colon = endpoint_url_.rfind(':');
    if (colon != std::string::npos && colon > 5) port = endpoint_url_.substr(colon + 1);
  }
  return fmt::format("http://{}.lambda-url.{}.localhost:{}/", url_id, scope_.region, port);
}

std::optional<std::pair<std::string, std::string>> LambdaServiceImpl::url_target(
    const net::HttpRequest& request) const {
  const std::string_view path = request.path();
  if (path.starts_with(kUrlPathPrefix)) {
    auto rest = path.substr(kUrlPathPrefix.size());
    const auto slash = rest.find('/');
    std::string id(rest.substr(0, slash));
    std::string inner = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    return std::make_pair(std::move(id), std::move(inner));
  }
  if (const auto host = request.headers.get("Host")) {
    const auto first_dot = host->find('.');
    if (first_dot != std::string_view::npos &&
        host->substr(first_dot + 1).starts_with("lambda-url.")) {
      return std::make_pair(std::string(host->substr(0, first_dot)), std::string(path));
    }
  }
  return std::nullopt;
}

asio::awaitable<Reply> LambdaServiceImpl::create_url_config(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto qualifier = url_qualifier(*ref);
  if (!qualifier) co_return qualifier.error();
  auto auth = check_auth_type(call.body, true);
  if (!auth) co_return auth.error();
  auto mode = check_invoke_mode(call.body);
  if (!mode) co_return mode.error();
  auto cors = check_cors(call.body);
  if (!cors) co_return cors.error();
  json::object created;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!record.resolve_version(*qualifier)) return function_not_found(scope_, *ref);
    const std::string arn =
        scope_.qualified_arn(ref->name, *qualifier == kLatest ? "" : *qualifier);
    if (record.url_configs.contains(*qualifier)) {
      return resource_conflict(fmt::format(
          "Failed to create function url config for [functionArn = {}]. Error message:  "
          "FunctionUrlConfig exists for this Lambda function",
          arn));
    }
    const std::string id = new_url_id();
    const std::string now = aws::format_iso8601(std::chrono::system_clock::now());
    json::object config{{"FunctionUrl", function_url(id)},
                        {"FunctionArn", arn},
                        {"AuthType", *auth},
                        {"CreationTime", now},
                        {"LastModifiedTime", now},
                        {"InvokeMode", mode->empty() ? "BUFFERED" : *mode},
                        {"UrlId", id}};
    if (*cors) config["Cors"] = **cors;
    record.url_configs[*qualifier] = config;
    created = url_view(std::move(config));
    created.erase("LastModifiedTime");
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(201, created);
}

asio::awaitable<Reply> LambdaServiceImpl::get_url_config(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto qualifier = url_qualifier(*ref);
  if (!qualifier) co_return qualifier.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  const auto it = (*record)->url_configs.find(*qualifier);
  if (it == (*record)->url_configs.end()) co_return url_not_found();
  co_return json_reply(200, url_view(it->second));
}

asio::awaitable<Reply> LambdaServiceImpl::update_url_config(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto qualifier = url_qualifier(*ref);
  if (!qualifier) co_return qualifier.error();
  auto auth = check_auth_type(call.body, false);
  if (!auth) co_return auth.error();
  auto mode = check_invoke_mode(call.body);
  if (!mode) co_return mode.error();
  auto cors = check_cors(call.body);
  if (!cors) co_return cors.error();
  json::object updated;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    const auto it = record.url_configs.find(*qualifier);
    if (it == record.url_configs.end()) return url_not_found();
    json::object config = it->second;
    if (!auth->empty()) config["AuthType"] = *auth;
    if (!mode->empty()) config["InvokeMode"] = *mode;
    if (*cors) config["Cors"] = **cors;
    config["LastModifiedTime"] = aws::format_iso8601(std::chrono::system_clock::now());
    record.url_configs[*qualifier] = config;
    updated = url_view(std::move(config));
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(200, updated);
}

asio::awaitable<Reply> LambdaServiceImpl::delete_url_config(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto qualifier = url_qualifier(*ref);
  if (!qualifier) co_return qualifier.error();
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!record.url_configs.contains(*qualifier)) return url_not_found();
    record.url_configs.erase(*qualifier);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::list_url_configs(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  json::array configs;
  for (const auto& [qualifier, config] : (*record)->url_configs)
    configs.push_back(url_view(config));
  co_return json_reply(200, json::object{{"FunctionUrlConfigs", std::move(configs)}});
}

// A RESPONSE_STREAM URL's answer: headers once the function has begun
// streaming (and sent its prelude), then the body as it comes.
asio::awaitable<net::HttpResponse> LambdaServiceImpl::stream_url(std::string key,
                                                                 std::string payload,
                                                                 engine::InvokeOptions options) {
  const auto executor = co_await asio::this_coro::executor;
  auto stream = InvocationStream::start(engine_, std::move(key), std::move(payload),
                                        std::move(options), executor);
  std::string head;  // what came before the prelude's end
  for (;;) {
    const auto state = stream->state();
    if (state.finished) break;
    if (state.started) {
      head += stream->take().bytes;
      if (state.content_type != kHttpIntegration) {
        auto response = net::HttpResponse::with_body(200, state.content_type, "");
        response.stream = url_body(stream, std::move(head));
        co_return response;
      }
      if (const auto end = head.find(kPreludeEnd); end != std::string::npos) {
        auto response = prelude_response(std::string_view(head).substr(0, end));
        if (!response) co_return message_response(502, "Internal Server Error");
        response->stream = url_body(stream, head.substr(end + kPreludeEnd.size()));
        co_return std::move(*response);
      }
    }
    co_await changed_since(*stream, state.version);
  }
  // Over before the head could be sent: answered whole, as a buffered URL.
  const auto& result = *stream->take().result;
  if (!result) {
    co_return result.error().http_status() == 429 ? message_response(429, "Rate Exceeded.")
                                                  : message_response(502, "Internal Server Error");
  }
  if (!result->function_error.empty()) co_return message_response(502, "Internal Server Error");
  if (result->streamed) co_return streamed_url_response(*result);
  co_return aws::proxy_response_v2(result->payload);
}

asio::awaitable<net::HttpResponse> LambdaServiceImpl::invoke_url(const aws::RequestContext& context,
                                                                 net::HttpRequest& request,
                                                                 std::string url_id,
                                                                 std::string path) {
  std::pair<std::string, std::string> target;
  {
    std::lock_guard lock(mutex_);
    const auto it = url_index_.find(url_id);
    if (it == url_index_.end()) co_return message_response(404, "Not Found");
    target = it->second;
  }
  auto record = catalog_->find(target.first);
  if (!record) co_return message_response(404, "Not Found");
  const auto config_it = record->url_configs.find(target.second);
  if (config_it == record->url_configs.end()) co_return message_response(404, "Not Found");
  const json::object& config = config_it->second;
  // AWS_IAM URLs need a signed request (the router verified it if present).
  if (config.at("AuthType").as_string() == "AWS_IAM" && context.caller.anonymous) {
    co_return message_response(403, "Forbidden");
  }
  std::optional<aws::CorsPolicy> cors;
  if (const auto* value = config.if_contains("Cors"); value && value->is_object()) {
    cors = aws::CorsPolicy::from_json(value->as_object(), aws::CorsPolicy::MemberCase::kPascal);
    // CORS preflight is answered by the URL itself, as on AWS.
    if (auto preflight = cors->preflight(request, 200)) co_return std::move(*preflight);
  }

  FunctionRef ref{target.first, target.second == kLatest ? std::string() : target.second};
  auto version = pick_version(*record, ref);
  if (!version) co_return message_response(404, "Not Found");
  const auto facts = aws::proxy_facts(context, request, url_id, path.empty() ? "/" : path);
  std::string payload = aws::proxy_event_v2_json(request, facts);
  if (payload.size() > engine::kMaxSyncPayloadBytes) {
    co_return message_response(413, "Request Entity Too Large");
  }
  engine::InvokeOptions options;
  options.request_id = context.request_id;
  options.invoked_arn = scope_.qualified_arn(ref.name, ref.qualifier);
  std::string key = ref.name + ":" + *version;
  const auto* mode = config.if_contains("InvokeMode");
  if (mode != nullptr && mode->is_string() && mode->get_string() == "RESPONSE_STREAM") {
    auto response = co_await stream_url(std::move(key), std::move(payload), std::move(options));
    response.headers.set("x-amzn-RequestId", context.request_id);
    if (cors) cors->decorate(request, response);
    co_return response;
  }
  auto result = co_await engine_.invoke(std::move(key), std::move(payload), std::move(options));
  net::HttpResponse response;
  if (!result) {
    response = result.error().http_status() == 429 ? message_response(429, "Rate Exceeded.")
                                                   : message_response(502, "Internal Server Error");
  } else if (!result->function_error.empty()) {
    response = message_response(502, "Internal Server Error");
  } else if (result->streamed) {
    response = streamed_url_response(*result);
  } else {
    response = aws::proxy_response_v2(result->payload);
  }
  response.headers.set("x-amzn-RequestId", context.request_id);
  if (cors) cors->decorate(request, response);
  co_return response;
}

}  // namespace nimbus::services::lambda::internal
