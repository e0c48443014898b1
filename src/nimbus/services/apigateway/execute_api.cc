// Serving HTTP APIs: stage and route selection, CORS, throttling,
// authorisation, and the integrations (Lambda proxy through the in-process
// client; HTTP proxy on the service's own threads).

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/cors.h"
#include "nimbus/aws/lambda_proxy.h"
#include "nimbus/core/json_text.h"
#include "nimbus/core/strings.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"
#include "nimbus/net/http_client.h"
#include "nimbus/services/apigateway/internal/service_impl.h"

namespace nimbus::services::apigateway::internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

std::optional<double> number(const json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_number()) {
    return value->to_number<double>();
  }
  return std::nullopt;
}

// The function an AWS_PROXY integration or authorizer names: a function ARN,
// bare or inside API Gateway's invocation URI.
std::string function_of(std::string_view uri) {
  const auto start = uri.find("/functions/");
  if (uri.starts_with("arn:aws:apigateway:") && start != std::string_view::npos) {
    auto rest = uri.substr(start + std::string_view("/functions/").size());
    if (rest.ends_with("/invocations")) rest.remove_suffix(std::string_view("/invocations").size());
    return std::string(rest);
  }
  return std::string(uri);
}

// The route's ARN, as authorizer policies name it.
std::string route_arn(const aws::RequestContext& context, std::string_view api_id,
                      std::string_view stage, const CompiledRoute& route, std::string_view method,
                      std::string_view path) {
  if (route.key.is_default) {
    return fmt::format("arn:aws:execute-api:{}:{}:{}/{}/$default", context.region,
                       context.account_id, api_id, stage);
  }
  if (path.starts_with('/')) path.remove_prefix(1);
  return fmt::format("arn:aws:execute-api:{}:{}:{}/{}/{}/{}", context.region, context.account_id,
                     api_id, stage, method, path);
}

// IAM's wildcard match: '*' any run, '?' any one character.
bool wildcard_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> strings_of(const json::value& value) {
  std::vector<std::string> out;
  if (value.is_string()) out.emplace_back(value.as_string());
  if (value.is_array()) {
    for (const auto& item : value.as_array()) {
      if (item.is_string()) out.emplace_back(item.as_string());
    }
  }
  return out;
}

enum class PolicyDecision { kAllow, kNoAllow, kExplicitDeny };

// What an IAM policy document says of execute-api:Invoke on `arn`: a
// matching Deny wins, then a matching Allow.
PolicyDecision policy_decision(const json::value& document, std::string_view arn) {
  const auto* object = document.if_object();
  if (object == nullptr) return PolicyDecision::kNoAllow;
  const auto* statements = object->if_contains("Statement");
  if (statements == nullptr) return PolicyDecision::kNoAllow;
  std::vector<const json::object*> list;
  if (statements->is_object()) list.push_back(&statements->as_object());
  if (statements->is_array()) {
    for (const auto& item : statements->as_array()) {
      if (item.is_object()) list.push_back(&item.as_object());
    }
  }
  bool allowed = false;
  for (const auto* statement : list) {
    bool action = false;
    if (const auto* actions = statement->if_contains("Action")) {
      for (const auto& name : strings_of(*actions)) {
        action = action || wildcard_match(name, "execute-api:Invoke");
      }
    }
    bool resource = false;
    if (const auto* resources = statement->if_contains("Resource")) {
      for (const auto& pattern : strings_of(*resources)) {
        resource = resource || wildcard_match(pattern, arn);
      }
    }
    if (!action || !resource) continue;
    const auto effect = text_member(*statement, "Effect");
    if (effect == "Deny") return PolicyDecision::kExplicitDeny;
    if (effect == "Allow") allowed = true;
  }
  return allowed ? PolicyDecision::kAllow : PolicyDecision::kNoAllow;
}

// The values an identity source names ("$request.header.Authorization",
// "$request.querystring.token", "$stageVariables.x", "$context.x", or REST
// APIs' "method.request.header.Authorization", "stageVariables.x", as a
// list or one comma-separated string); nullopt when one is missing or empty.
std::optional<std::vector<std::string>> identity_values(const json::object& authorizer,
                                                        const net::HttpRequest& request,
                                                        const StageView& stage) {
  std::vector<std::string> out;
  const auto* sources = authorizer.if_contains("identitySource");
  if (sources == nullptr) return out;
  std::vector<std::string> names;
  if (sources->is_string()) {
    for (const auto name : split(sources->as_string(), ',')) {
      if (!trim(name).empty()) names.emplace_back(trim(name));
    }
  } else {
    names = strings_of(*sources);
  }
  auto after = [](std::string_view source, std::string_view prefix) {
    return source.starts_with(prefix) ? std::optional(source.substr(prefix.size())) : std::nullopt;
  };
  for (const auto& name : names) {
    const std::string_view source = name;
    std::string value;
    if (auto header = after(source, "$request.header.") ? after(source, "$request.header.")
                                                        : after(source, "method.request.header.")) {
      value = std::string(request.headers.get(*header).value_or(""));
    } else if (auto query = after(source, "$request.querystring.")
                                ? after(source, "$request.querystring.")
                                : after(source, "method.request.querystring.")) {
      auto values = aws::query_values(request, *query);
      if (!values.empty()) value = values.front();
    } else if (auto variable = after(source, "$stageVariables.")
                                   ? after(source, "$stageVariables.")
                                   : after(source, "stageVariables.")) {
      for (const auto& [key, item] : stage.stage_variables) {
        if (key == *variable) value = item;
      }
    } else {
      value = name;  // context variables: present by definition
    }
    if (value.empty()) return std::nullopt;
    out.push_back(std::move(value));
  }
  return out;
}

// A REST API MOCK integration's answer: the request template picks the
// status; its integration response's template is the body, as written (no
// VTL).
net::HttpResponse mock_response(const json::object& integration) {
  std::string status = "200";
  if (const auto* templates = integration.if_contains("requestTemplates");
      templates && templates->is_object()) {
    const auto text = text_member(templates->as_object(), "application/json");
    boost::system::error_code error;
    const auto parsed = json::parse(text, error);
    if (!error && parsed.is_object()) {
      // to_number<double> never throws; an integral code in range is used.
      if (const auto* code = parsed.as_object().if_contains("statusCode");
          code && code->is_number() && code->to_number<double>() >= 100 &&
          code->to_number<double>() < 600) {
        status = std::to_string(static_cast<int>(code->to_number<double>()));
      }
    }
  }
  const auto* responses = integration.if_contains("integrationResponses");
  const auto* chosen =
      responses && responses->is_object() ? responses->as_object().if_contains(status) : nullptr;
  if (chosen == nullptr || !chosen->is_object()) {
    return aws::gateway_message(500, "Internal server error");
  }
  std::string body;
  if (const auto* templates = chosen->as_object().if_contains("responseTemplates");
      templates && templates->is_object()) {
    body = text_member(templates->as_object(), "application/json");
  }
  return net::HttpResponse::with_body(
      parse_uint(status).value_or(200) > 599 ? 500 : static_cast<int>(*parse_uint(status)),
      "application/json", std::move(body));
}

// Coroutines that own their arguments, for work spawned elsewhere.
asio::awaitable<Result<net::HttpResponse>> http_call_owned(std::string base,
                                                           net::HttpRequest request,
                                                           std::chrono::milliseconds timeout) {
  co_return net::http_call(base, std::move(request), timeout);
}

asio::awaitable<net::HttpResponse> call_owned(const aws::Client& client,
                                              aws::RequestContext context,
                                              net::HttpRequest request) {
  co_return co_await client.call(context, std::move(request));
}

}  // namespace

asio::awaitable<FunctionAnswer> ApiGatewayServiceImpl::invoke_function(
    const aws::RequestContext& context, const std::string& function, std::string& payload,
    std::chrono::milliseconds timeout) {
  net::HttpRequest invoke;
  invoke.method = "POST";
  invoke.target = fmt::format("/2015-03-31/functions/{}/invocations", function);
  invoke.headers.add("Content-Type", "application/json");
  invoke.body = std::move(payload);
  // Lambda may run longer than the integration waits: race a timer, and let
  // an invocation that loses finish on its own.
  struct Race {
    asio::steady_timer timer;
    std::optional<net::HttpResponse> response;
  };
  const auto executor = co_await asio::this_coro::executor;
  auto race = std::make_shared<Race>(Race{asio::steady_timer(executor), std::nullopt});
  race->timer.expires_after(timeout);
  asio::co_spawn(executor, call_owned(client_, context, std::move(invoke)),
                 [race](std::exception_ptr failure, net::HttpResponse response) {
                   if (failure) {
                     response = aws::gateway_message(500, "Internal Server Error");
                     response.headers.add("X-Amz-Function-Error", "Nimbus");
                   }
                   race->response = std::move(response);
                   race->timer.cancel();
                 });
  // A call that finished without suspending has already answered.
  if (!race->response) co_await race->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  FunctionAnswer answer;
  if (!race->response) {
    answer.outcome = FunctionAnswer::Outcome::kTimedOut;
    answer.reason = "timeout";
    co_return answer;
  }
  answer.response = std::move(*race->response);
  if (answer.response.status != 200) {
    answer.outcome = FunctionAnswer::Outcome::kFailed;
    answer.reason =
        fmt::format("Lambda answered {}: {}", answer.response.status, answer.response.body);
  } else if (answer.response.headers.contains("X-Amz-Function-Error")) {
    answer.outcome = FunctionAnswer::Outcome::kFailed;
    answer.reason = fmt::format("the function failed: {}", answer.response.body);
    boost::system::error_code parse_error;
    const auto failure = json::parse(answer.response.body, parse_error);
    answer.function_error = !parse_error && failure.is_object()
                                ? text_member(failure.as_object(), "errorMessage")
                                : std::string("(unreadable)");
  }
  co_return answer;
}

asio::awaitable<net::HttpResponse> ApiGatewayServiceImpl::proxy_to_function(
    const aws::RequestContext& context, const std::string& log_label, const std::string& function,
    std::string payload, std::chrono::milliseconds timeout, PayloadFormat format,
    const ProxyFailures& failures, Served& served) {
  const auto relayed = std::chrono::steady_clock::now();
  auto answer = co_await invoke_function(context, function, payload, timeout);
  served.integration_latency = std::chrono::steady_clock::now() - relayed;
  ExecutionLog* log = served.execution_log ? &*served.execution_log : nullptr;
  if (answer.outcome == FunctionAnswer::Outcome::kTimedOut) {
    if (log) log->error("Execution failed due to a timeout error");
    served.gateway_response = "INTEGRATION_TIMEOUT";
    co_return failures.timed_out;
  }
  if (log) {
    log->info(fmt::format(
        "Received response. Status: {}, Integration latency: {} ms", answer.response.status,
        std::chrono::duration_cast<std::chrono::milliseconds>(*served.integration_latency)
            .count()));
    log->data(
        fmt::format("Endpoint response body before transformations: {}", answer.response.body));
  }
  if (answer.response.status == 413) {
    if (log) log->error("Execution failed due to configuration error: Request Entity Too Large");
    served.gateway_response = "REQUEST_TOO_LARGE";
    co_return aws::gateway_message(413, "Request Entity Too Large");
  }
  if (answer.outcome == FunctionAnswer::Outcome::kFailed) {
    spdlog::info("apigateway {}: {} [{}]", log_label, answer.reason, context.request_id);
    if (log && answer.response.status == 200) {
      log->error(fmt::format(
          "Lambda execution failed with status 200 due to customer function error: {}. Lambda "
          "request id: {}",
          answer.function_error, answer.response.headers.get("x-amzn-RequestId").value_or("")));
    } else if (log) {
      log->error(fmt::format("Execution failed due to an internal error: Lambda answered {}",
                             answer.response.status));
    }
    served.gateway_response = "DEFAULT_5XX";
    co_return failures.failed;
  }
  if (format == PayloadFormat::kV2) co_return aws::proxy_response_v2(answer.response.body);
  auto mapped = aws::proxy_response_v1(answer.response.body);
  if (!mapped) {
    if (log)
      log->error("Execution failed due to configuration error: Malformed Lambda proxy response");
    spdlog::info("apigateway {}: malformed Lambda proxy response [{}]", log_label,
                 context.request_id);
    served.gateway_response = "DEFAULT_5XX";
    co_return failures.failed;
  }
  co_return std::move(*mapped);
}

asio::awaitable<std::optional<net::HttpResponse>> ApiGatewayServiceImpl::authorize(
    const aws::RequestContext& context, net::HttpRequest& request, const std::string& api_id,
    const StageView& stage, const CompiledRoute& route, const std::string& arn,
    aws::ProxyRequestFacts& facts) {
  if (route.authorization_type == "AWS_IAM") {
    if (context.caller.access_key_id.empty() || context.caller.anonymous) {
      co_return aws::gateway_message(403, "Forbidden");
    }
    facts.caller_access_key = context.caller.access_key_id;
    facts.caller_arn = context.caller.arn;
    json::object iam{{"accessKey", context.caller.access_key_id},
                     {"accountId", context.account_id},
                     {"callerId", context.caller.user_id},
                     {"userArn", context.caller.arn},
                     {"userId", context.caller.user_id}};
    facts.authorizer = json::object{{"iam", std::move(iam)}};
    co_return std::nullopt;
  }
  if (route.authorization_type != "CUSTOM" && route.authorization_type != "JWT") {
    co_return std::nullopt;
  }
  const auto found = stage.authorizers.find(route.authorizer_id);
  if (found == stage.authorizers.end()) {
    co_return aws::gateway_message(500, "Internal Server Error");
  }
  const json::object& authorizer = found->second;
  if (route.authorization_type == "JWT") {
    co_return co_await authorize_jwt(context, request, stage, route, authorizer, facts);
  }
  auto identity = identity_values(authorizer, request, stage);
  if (!identity) co_return aws::gateway_message(401, "Unauthorized");

  const bool simple = [&] {
    const auto* value = authorizer.if_contains("enableSimpleResponses");
    return value && value->is_bool() && value->as_bool();
  }();
  json::object event;
  if (text_member(authorizer, "authorizerPayloadFormatVersion") == "1.0") {
    event = aws::proxy_event_v1(request, facts, aws::HeaderNames::kLowerCase);
    event["methodArn"] = arn;
    event["identitySource"] = fmt::format("{}", fmt::join(*identity, ","));
  } else {
    event = aws::proxy_event_v2(request, facts);
    event["routeArn"] = arn;
    json::array sources;
    for (const auto& value : *identity) sources.emplace_back(value);
    event["identitySource"] = std::move(sources);
  }
  event["type"] = "REQUEST";
  event.erase("body");
  event.erase("isBase64Encoded");
  std::string function_error;
  auto decision = co_await ask_authorizer(context, api_id, route.authorizer_id, authorizer,
                                          *identity, event, function_error);
  if (!decision) co_return aws::gateway_message(500, "Internal Server Error");
  const json::object& answer = *decision;
  bool allowed = false;
  if (simple) {
    const auto* value = answer.if_contains("isAuthorized");
    allowed = value && value->is_bool() && value->as_bool();
  } else if (const auto* policy = answer.if_contains("policyDocument")) {
    allowed = policy_decision(*policy, arn) == PolicyDecision::kAllow;
  }
  if (!allowed) co_return aws::gateway_message(403, "Forbidden");
  json::object lambda_context;
  if (const auto* value = answer.if_contains("context"); value && value->is_object()) {
    lambda_context = value->as_object();
  }
  if (!simple) {
    if (const auto* principal = answer.if_contains("principalId")) {
      lambda_context["principalId"] = *principal;
    }
  }
  facts.authorizer = json::object{{"lambda", std::move(lambda_context)}};
  co_return std::nullopt;
}

asio::awaitable<std::optional<json::object>> ApiGatewayServiceImpl::ask_authorizer(
    const aws::RequestContext& context, const std::string& api_id, const std::string& authorizer_id,
    const json::object& authorizer, const std::vector<std::string>& identity, json::object& event,
    std::string& function_error) {
  const auto ttl = std::chrono::seconds(
      static_cast<std::int64_t>(number(authorizer, "authorizerResultTtlInSeconds").value_or(0)));
  const bool cacheable = ttl.count() > 0 && !identity.empty();
  const std::string cache_key =
      fmt::format("{}/{}/{}", api_id, authorizer_id, fmt::join(identity, "\x1f"));
  const auto now = std::chrono::steady_clock::now();
  if (cacheable) {
    std::lock_guard lock(mutex_);
    if (const auto cached = authorizer_cache_.find(cache_key);
        cached != authorizer_cache_.end() && cached->second.first > now) {
      co_return cached->second.second.as_object();
    }
  }
  const std::string function = function_of(text_member(authorizer, "authorizerUri"));
  std::string payload = json::serialize(event);
  const std::chrono::milliseconds timeout = std::chrono::seconds(10);
  auto answer = co_await invoke_function(context, function, payload, timeout);
  if (answer.outcome != FunctionAnswer::Outcome::kAnswered) {
    spdlog::info("apigateway {}: authorizer {} failed: {} [{}]", api_id, authorizer_id,
                 answer.reason, context.request_id);
    function_error = std::move(answer.function_error);
    co_return std::nullopt;
  }
  boost::system::error_code parse_error;
  auto parsed = json::parse(answer.response.body, parse_error);
  if (parse_error || !parsed.is_object()) co_return std::nullopt;
  if (cacheable) {
    std::lock_guard lock(mutex_);
    if (authorizer_cache_.size() > 10'000) authorizer_cache_.clear();
    authorizer_cache_[cache_key] = {now + ttl, parsed};
  }
  co_return std::move(parsed.as_object());
}

Result<std::shared_ptr<const TokenPattern>> ApiGatewayServiceImpl::token_pattern(
    const std::string& expression) {
  std::lock_guard lock(mutex_);
  if (const auto found = token_patterns_.find(expression); found != token_patterns_.end()) {
    return found->second;
  }
  auto compiled = TokenPattern::compile(expression);
  if (!compiled) return compiled.error();
  if (token_patterns_.size() > 1000) token_patterns_.clear();
  token_patterns_.emplace(expression, *compiled);
  return *compiled;
}

asio::awaitable<std::optional<net::HttpResponse>> ApiGatewayServiceImpl::authorize_rest(
    const aws::RequestContext& context, net::HttpRequest& request, const std::string& api_id,
    const StageView& stage, const CompiledRoute& route, const std::string& arn,
    aws::ProxyRequestFacts& facts, std::optional<std::string>& usage_identifier_key) {
  const auto found = stage.authorizers.find(route.authorizer_id);
  if (found == stage.authorizers.end()) {
    co_return aws::gateway_message(500, "Internal server error");
  }
  const json::object& authorizer = found->second;
  const bool token = text_member(authorizer, "type") == "TOKEN";
  auto identity = identity_values(authorizer, request, stage);
  if (!identity || (token && identity->empty())) {
    co_return aws::gateway_message(401, "Unauthorized");
  }
  // A token its identityValidationExpression refuses never reaches the
  // authorizer.
  if (const auto expression = text_member(authorizer, "identityValidationExpression");
      token && !expression.empty()) {
    auto pattern = token_pattern(expression);
    if (!pattern || !(*pattern)->matches(identity->front())) {
      co_return aws::gateway_message(401, "Unauthorized");
    }
  }
  json::object event;
  if (token) {
    event = json::object{
        {"type", "TOKEN"}, {"authorizationToken", identity->front()}, {"methodArn", arn}};
  } else {
    event = aws::proxy_event_v1(request, facts, aws::HeaderNames::kAsSent);
    event["type"] = "REQUEST";
    event["methodArn"] = arn;
    event.erase("body");
    event.erase("isBase64Encoded");
    event.erase("version");
  }
  std::string function_error;
  auto decision = co_await ask_authorizer(context, api_id, route.authorizer_id, authorizer,
                                          *identity, event, function_error);
  // A function that throws "Unauthorized" asks for a 401, as on AWS.
  if (function_error == "Unauthorized") co_return aws::gateway_message(401, "Unauthorized");
  if (!decision) {
    auto failure = aws::gateway_message(500, "");
    failure.body = R"({"message":null})";
    co_return failure;
  }
  const auto* policy = decision->if_contains("policyDocument");
  const auto verdict = policy ? policy_decision(*policy, arn) : PolicyDecision::kNoAllow;
  if (verdict != PolicyDecision::kAllow) {
    co_return net::HttpResponse::with_body(
        403, "application/json",
        verdict == PolicyDecision::kExplicitDeny
            ? R"({"Message":"User is not authorized to access this resource with an explicit deny"})"
            : R"({"Message":"User is not authorized to access this resource"})");
  }
  // REST APIs put the context's keys beside principalId.
  json::object passed;
  if (const auto* value = decision->if_contains("context"); value && value->is_object()) {
    passed = value->as_object();
  }
  if (const auto* principal = decision->if_contains("principalId"))
    passed["principalId"] = *principal;
  facts.authorizer = std::move(passed);
  if (const auto* key = decision->if_contains("usageIdentifierKey"); key && key->is_string()) {
    usage_identifier_key = std::string(key->as_string());
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<net::HttpResponse>> ApiGatewayServiceImpl::authorize_jwt(
    const aws::RequestContext& context, const net::HttpRequest& request, const StageView& stage,
    const CompiledRoute& route, const json::object& authorizer, aws::ProxyRequestFacts& facts) {
  auto unauthorized = [](std::string_view error, std::string_view reason) {
    auto response =
        aws::gateway_message(error == "insufficient_scope" ? 403 : 401,
                             error == "insufficient_scope" ? "Forbidden" : "Unauthorized");
    response.headers.set(
        "www-authenticate",
        fmt::format(R"(Bearer scope="" error="{}" error_description="{}")", error, reason));
    return response;
  };
  json::object sources = authorizer;
  if (const auto* given = authorizer.if_contains("identitySource");
      given == nullptr || !given->is_array() || given->as_array().empty()) {
    sources["identitySource"] = json::array{"$request.header.Authorization"};
  }
  auto identity = identity_values(sources, request, stage);
  if (!identity || identity->empty()) co_return aws::gateway_message(401, "Unauthorized");
  std::string_view token = identity->front();
  if (token.size() > 7 && iequals(token.substr(0, 7), "Bearer ")) token.remove_prefix(7);

  const auto& config = authorizer.at("jwtConfiguration").as_object();
  JwtPolicy policy;
  policy.issuer = text_member(config, "issuer");
  for (const auto& audience : strings_of(config.at("audience")))
    policy.audience.push_back(audience);
  policy.required_scopes = route.authorization_scopes;
  const auto header = peek_jwt(token);
  if (!header) co_return unauthorized("invalid_token", "the token is not a JWT");
  const std::string issuer = policy.issuer;
  const std::string kid = header->kid;
  auto keys = co_await issuer_keys(context, issuer, kid);
  if (!keys) {
    spdlog::info("apigateway: JWT issuer {}: {} [{}]", issuer, keys.error().message(),
                 context.request_id);
    co_return unauthorized("invalid_token", "the issuer's keys could not be fetched");
  }
  auto verdict = verify_jwt(token, **keys, policy, context.received);
  if (auto* rejection = std::get_if<JwtRejection>(&verdict)) {
    co_return unauthorized(rejection->failure == JwtFailure::kInsufficientScope
                               ? "insufficient_scope"
                               : "invalid_token",
                           rejection->reason);
  }
  auto& claims = std::get<JwtClaims>(verdict);
  json::value scopes = nullptr;
  if (!claims.scopes.empty()) {
    json::array list;
    for (const auto& scope : claims.scopes) list.emplace_back(scope);
    scopes = std::move(list);
  }
  facts.authorizer = json::object{
      {"jwt", json::object{{"claims", std::move(claims.claims)}, {"scopes", std::move(scopes)}}}};
  co_return std::nullopt;
}

asio::awaitable<Result<std::shared_ptr<const JwkSet>>> ApiGatewayServiceImpl::issuer_keys(
    const aws::RequestContext& context, const std::string& issuer, const std::string& kid) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    const auto cached = jwks_cache_.find(issuer);
    // Keys are kept an hour; a key id they lack refetches, at most once a minute.
    if (cached != jwks_cache_.end() && now - cached->second.fetched < std::chrono::hours(1) &&
        (cached->second.keys->find(kid) != nullptr ||
         now - cached->second.fetched < std::chrono::minutes(1))) {
      co_return cached->second.keys;
    }
  }
  // OpenID discovery, as API Gateway does it: the issuer's configuration
  // names the key set.
  std::string discovery = issuer;
  if (discovery.ends_with('/')) discovery.pop_back();
  discovery += "/.well-known/openid-configuration";
  auto document = co_await fetch(context, discovery);
  if (!document) co_return document.error();
  boost::system::error_code error;
  const auto parsed = json::parse(*document, error);
  const std::string jwks_uri =
      !error && parsed.is_object() ? text_member(parsed.as_object(), "jwks_uri") : std::string();
  if (jwks_uri.empty()) {
    co_return AwsError::internal(fmt::format("{} names no jwks_uri", discovery));
  }
  auto jwks = co_await fetch(context, jwks_uri);
  if (!jwks) co_return jwks.error();
  auto keys = JwkSet::parse(*jwks);
  if (!keys) co_return keys.error();
  std::lock_guard lock(mutex_);
  if (jwks_cache_.size() > 1000) jwks_cache_.clear();
  jwks_cache_[issuer] = {*keys, now};
  co_return *keys;
}

asio::awaitable<Result<std::string>> ApiGatewayServiceImpl::fetch(
    const aws::RequestContext& context, const std::string& url) {
  (void)context;
  const auto scheme_end = url.find("://");
  if (!is_http_url(url) || scheme_end == std::string::npos) {
    co_return AwsError::internal(fmt::format("{}: not an http:// or https:// URL", url));
  }
  const auto path_start = url.find('/', scheme_end + 3);
  net::HttpRequest request;
  request.method = "GET";
  request.target = path_start == std::string::npos ? std::string("/") : url.substr(path_start);
  request.headers.add("Accept", "application/json");
  auto call =
      http_call_owned(url.substr(0, path_start), std::move(request), std::chrono::seconds(5));
  auto result = co_await asio::co_spawn(http_pool_, std::move(call), asio::use_awaitable);
  if (!result) co_return result.error();
  if (result->status != 200) {
    co_return AwsError::internal(fmt::format("{} answered {}", url, result->status));
  }
  co_return std::move(result->body);
}

void ApiGatewayServiceImpl::meter(const aws::RequestContext& context, const std::string& api_id,
                                  const net::HttpRequest& request, std::size_t bytes_in,
                                  const net::HttpResponse& response, const Served& served,
                                  std::chrono::steady_clock::time_point started) {
  // execute() found the API (or not): no second look-up per request.
  if (served.api == Served::Api::kNone) return;
  const bool http_api = served.api == Served::Api::kHttp;
  // HTTP APIs bill a request per 512 KB of it; REST APIs one per request.
  constexpr std::size_t kHttpMeteringBytes = 512 * 1024;
  const auto billed = static_cast<std::int64_t>(
      http_api ? std::max<std::size_t>(1, (bytes_in + kHttpMeteringBytes - 1) / kHttpMeteringBytes)
               : 1);
  const auto bytes = static_cast<std::int64_t>(bytes_in + response.body.size());
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  ledger::Usage usage;
  usage.service = "apigateway";
  usage.resource = api_id;
  usage.id = context.request_id;
  usage.time_us =
      std::chrono::duration_cast<std::chrono::microseconds>(context.received.time_since_epoch())
          .count();
  usage.quantities = {
      {std::string(http_api ? ledger::meter::kHttpApiRequests : ledger::meter::kRestApiRequests),
       billed},
      {std::string(ledger::meter::kApiGatewayBytes), bytes},
      {std::string(ledger::meter::kApiGatewayRequests), 1},
      {std::string(ledger::meter::kApiGateway4xx), response.status / 100 == 4 ? 1 : 0},
      {std::string(ledger::meter::kApiGateway5xx), response.status / 100 == 5 ? 1 : 0}};
  usage.observations.emplace_back(ledger::observation::kApiGatewayLatency, latency_ms / 1000);
  std::optional<double> integration_ms;
  if (served.integration_latency) {
    integration_ms = std::chrono::duration<double, std::milli>(*served.integration_latency).count();
    usage.observations.emplace_back(ledger::observation::kApiGatewayIntegrationLatency,
                                    *integration_ms / 1000);
  }
  // CloudWatch's Stage and ApiName dimensions (meters.h): the statistics
  // again under the stage's names, after the API's own.
  if (served.stage) {
    const std::size_t quantities = usage.quantities.size();
    const std::size_t observations = usage.observations.size();
    // Copies of the vectors' own elements: no reallocation under them.
    usage.quantities.reserve(3 * quantities + 1);
    usage.observations.reserve(3 * observations);
    auto again = [&](std::string_view stage, std::string_view route) {
      auto named = [&](const std::string& name) {
        std::string out;
        out.reserve(name.size() + 2 + stage.size() + route.size());
        out += name;
        out += ledger::meter::kApiGatewayStageSeparator;
        out += stage;
        if (!route.empty()) {
          out += ledger::meter::kApiGatewayStageSeparator;
          out += route;
        }
        return out;
      };
      // From the second: the first (HTTP or REST requests) is the billed one.
      for (std::size_t i = 1; i < quantities; ++i) {
        usage.quantities.emplace_back(named(usage.quantities[i].first), usage.quantities[i].second);
      }
      for (std::size_t i = 0; i < observations; ++i) {
        usage.observations.emplace_back(named(usage.observations[i].first),
                                        usage.observations[i].second);
      }
    };
    again(served.stage->name, {});
    // Detailed metrics (HTTP APIs' Route dimension), where enabled.
    if (served.detailed_metrics) again(served.stage->name, served.metrics_route);
  }
  if (!http_api) {
    usage.quantities.emplace_back(
        fmt::format("{}{}", ledger::meter::kApiGatewayApiName, served.rest_api_name), 1);
  }
  // Written out directly: this runs for every request, and a document built
  // only to be serialised costs several times as much.
  std::string& detail = usage.detail_json;
  detail.reserve(200 + api_id.size() + request.target.size());
  detail += R"({"apiId":)";
  append_json_string(detail, api_id);
  detail += http_api ? R"(,"api":"HTTP","method":)" : R"(,"api":"REST","method":)";
  append_json_string(detail, request.method);
  detail += R"(,"path":)";
  append_json_string(detail, request.path());
  detail += R"(,"status":)";
  append_json_number(detail, response.status);
  detail += R"(,"latencyMs":)";
  append_json_number(detail, latency_ms);
  if (integration_ms) {
    detail += R"(,"integrationLatencyMs":)";
    append_json_number(detail, *integration_ms);
  }
  detail += R"(,"bytesIn":)";
  append_json_number(detail, bytes_in);
  detail += R"(,"bytesOut":)";
  append_json_number(detail, response.body.size());
  detail += '}';
  journal_.append_usage(std::move(usage));
}

std::optional<std::string> ApiGatewayServiceImpl::gateway_response_source(
    const aws::RequestContext& context, const net::HttpRequest& request, const Served& served,
    std::string_view name) {
  constexpr std::string_view kHeader = "method.request.header.";
  constexpr std::string_view kQuery = "method.request.querystring.";
  constexpr std::string_view kPath = "method.request.path.";
  constexpr std::string_view kStageVariable = "stageVariables.";
  if (name.starts_with(kHeader)) {
    const auto value = request.headers.get(name.substr(kHeader.size()));
    if (!value) return std::nullopt;
    return std::string(*value);
  }
  if (name.starts_with(kQuery)) {
    const auto parameters = aws::query_parameters(request.query());
    const std::string* value = parameters.last(name.substr(kQuery.size()));
    if (value == nullptr) return std::nullopt;
    return *value;
  }
  const auto find_in = [](const std::vector<std::pair<std::string, std::string>>& pairs,
                          std::string_view key) -> std::optional<std::string> {
    for (const auto& [pair_name, value] : pairs) {
      if (pair_name == key) return value;
    }
    return std::nullopt;
  };
  if (name.starts_with(kPath)) return find_in(served.path_parameters, name.substr(kPath.size()));
  if (name.starts_with(kStageVariable)) {
    if (!served.stage) return std::nullopt;
    return find_in(served.stage->stage_variables, name.substr(kStageVariable.size()));
  }
  if (name == "$context.requestId" || name == "$context.extendedRequestId") {
    return context.request_id;
  }
  if (name == "$context.httpMethod") return request.method;
  if (name == "$context.resourcePath" && !served.resource_path.empty()) {
    return served.resource_path;
  }
  if (name == "$context.stage" && served.stage) return served.stage->name;
  if (name == "$context.accountId") return context.account_id;
  if (name == "$context.identity.sourceIp") return request.remote_address;
  return std::nullopt;
}

void ApiGatewayServiceImpl::write_execution_log(const std::string& api_id,
                                                const net::HttpResponse& response, Served& served) {
  ExecutionLog& log = *served.execution_log;
  if (served.integration_latency && log.data_traced()) {
    log.data(fmt::format("Method response body after transformations: {}", response.body));
    log.data(
        fmt::format("Method response headers: {}", ExecutionLog::headers_text(response.headers)));
  }
  if (served.integration_latency && !log.failed()) log.info("Successfully completed execution");
  const std::string completed = fmt::format("Method completed with status: {}", response.status);
  // At ERROR level, a failed request's lines end with its status too.
  if (log.failed()) {
    log.error(completed);
  } else {
    log.info(completed);
  }
  const auto lines = log.take();
  if (lines.empty() || !served.stage) return;
  const std::string group = ExecutionLog::group(api_id, served.stage->name);
  {
    std::lock_guard lock(access_log_mutex_);
    if (access_log_streams_.insert(group + '\0' + execution_log_stream_).second) {
      journal_.create_stream(group, execution_log_stream_, lines.front().timestamp_ms);
    }
  }
  journal_.append(group, execution_log_stream_, lines, nullptr);
}

void ApiGatewayServiceImpl::write_access_log(const aws::RequestContext& context,
                                             const std::string& api_id,
                                             const net::HttpRequest& request, std::size_t bytes_in,
                                             const net::HttpResponse& response,
                                             const Served& served,
                                             std::chrono::steady_clock::time_point started) {
  const AccessLogTarget& target = *served.stage->access_log;
  const auto received_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(context.received.time_since_epoch())
          .count();
  const auto latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  const std::string host(request.headers.get("Host").value_or(""));
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "requestId" || name == "extendedRequestId") return context.request_id;
    if (name == "apiId") return api_id;
    if (name == "accountId") return options_.account_id;
    if (name == "stage") return served.stage->name;
    if (name == "routeKey") return served.route_key;
    if (name == "resourcePath") return served.resource_path;
    if (name == "httpMethod") return request.method;
    if (name == "path") return std::string(request.path());
    if (name == "protocol") return std::string("HTTP/1.1");
    if (name == "status") return std::to_string(response.status);
    if (name == "responseLength") return std::to_string(response.body.size());
    if (name == "dataProcessed") return std::to_string(bytes_in + response.body.size());
    if (name == "responseLatency") return std::to_string(latency_ms);
    if (name == "integrationLatency" || name == "integration.latency") {
      if (!served.integration_latency) return std::nullopt;
      return std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(*served.integration_latency)
              .count());
    }
    if (name == "requestTimeEpoch") return std::to_string(received_ms);
    if (name == "requestTime") {
      return fmt::format("{:%d/%b/%Y:%H:%M:%S} +0000",
                         std::chrono::floor<std::chrono::seconds>(context.received));
    }
    if (name == "identity.sourceIp") return request.remote_address;
    if (name == "identity.userAgent") {
      return std::string(request.headers.get("User-Agent").value_or(""));
    }
    if (name == "domainName") return host.substr(0, host.rfind(':'));
    if (name == "domainPrefix") return host.substr(0, host.find('.'));
    if (name == "error.message" && response.status >= 400) {
      boost::system::error_code ec;
      auto body = json::parse(response.body, ec);
      if (!ec && body.is_object()) {
        if (const auto* message = body.as_object().if_contains("message");
            message && message->is_string()) {
          return std::string(message->as_string());
        }
      }
    }
    return std::nullopt;
  };
  // One stream per API and stage, made once.
  const std::string stream = fmt::format("{}_{}", api_id, served.stage->name);
  {
    std::lock_guard lock(access_log_mutex_);
    if (access_log_streams_.insert(target.group + '\0' + stream).second) {
      journal_.create_stream(target.group, stream, received_ms);
    }
  }
  journal_.append_log(ledger::LogEvent{target.group, stream, received_ms,
                                       render_access_log(target.format, lookup)});
}

asio::awaitable<net::HttpResponse> ApiGatewayServiceImpl::execute(
    const aws::RequestContext& context, net::HttpRequest& request, std::string api_id,
    std::string path, Served& served) {
  const auto record = catalog_->find(api_id);
  if (!record) {
    if (const auto rest = rest_catalog_->find(api_id)) {
      served.api = Served::Api::kRest;
      co_return co_await execute_rest(context, request, *rest, path, served);
    }
    co_return aws::gateway_message(404, "Not Found");
  }
  served.api = Served::Api::kHttp;
  if (const auto* disabled = record->api.if_contains("disableExecuteApiEndpoint");
      disabled && disabled->is_bool() && disabled->as_bool()) {
    co_return aws::gateway_message(403, "Forbidden");
  }
  // A first segment that names a stage selects it; anything else goes to
  // $default, whose paths have no stage segment.
  std::shared_ptr<const StageView> stage;
  std::string route_path = path;
  {
    const auto end = path.find('/', 1);
    const std::string first = path.substr(1, end == std::string::npos ? end : end - 1);
    const auto named =
        first.empty() || first == "$default" ? record->views.end() : record->views.find(first);
    if (named != record->views.end()) {
      stage = named->second;
      route_path = end == std::string::npos ? std::string("/") : path.substr(end);
    } else if (const auto fallback = record->views.find("$default");
               fallback != record->views.end()) {
      stage = fallback->second;
    }
  }
  if (!stage) co_return aws::gateway_message(404, "Not Found");
  served.stage = stage;

  const std::optional<aws::CorsPolicy>& cors = record->cors;
  if (cors) {
    // API Gateway answers preflight requests itself, routes or not.
    if (auto preflight = cors->preflight(request, 204)) {
      preflight->headers.set("apigw-requestid", context.request_id);
      co_return std::move(*preflight);
    }
  }
  auto finish = [&](net::HttpResponse response) {
    response.headers.set("apigw-requestid", context.request_id);
    if (cors) cors->decorate(request, response);
    return response;
  };

  const auto match = match_route(stage->routes, request.method, route_path);
  if (!match) co_return finish(aws::gateway_message(404, "Not Found"));
  const CompiledRoute& route = *match->route;
  served.route_key = route.route_key;
  served.resource_path = route.resource_path;
  // The stage's route settings: its defaults, then this route's own.
  const json::value* default_settings = stage->stage.if_contains("defaultRouteSettings");
  const json::value* route_settings = nullptr;
  if (const auto* all = stage->stage.if_contains("routeSettings"); all && all->is_object()) {
    route_settings = all->as_object().if_contains(route.route_key);
  }
  for (const auto* settings : {default_settings, route_settings}) {
    if (settings == nullptr || !settings->is_object()) continue;
    if (const auto* enabled = settings->as_object().if_contains("detailedMetricsEnabled");
        enabled && enabled->is_bool()) {
      served.detailed_metrics = enabled->as_bool();
    }
  }
  if (served.detailed_metrics) served.metrics_route = route.route_key;

  // Throttling: the account's bucket, then the stage's for this route.
  const auto now = std::chrono::steady_clock::now();
  BucketLimits limits{options_.account_rate_limit, options_.account_burst_limit};
  if (!throttle_.take("account", limits, now)) {
    co_return finish(aws::gateway_message(429, "Too Many Requests"));
  }
  std::optional<BucketLimits> route_limits;
  for (const auto* settings : {default_settings, route_settings}) {
    overlay_limits(settings, "throttlingRateLimit", "throttlingBurstLimit", limits, route_limits);
  }
  if (route_limits && !throttle_.take(fmt::format("{}/{}/{}", api_id, stage->name, route.route_key),
                                      *route_limits, now)) {
    co_return finish(aws::gateway_message(429, "Too Many Requests"));
  }

  auto facts = aws::proxy_facts(context, request, api_id, path);
  facts.route_key = route.route_key;
  facts.stage = stage->name;
  facts.path_parameters = match->path_parameters;
  facts.stage_variables = stage->stage_variables;
  facts.resource_path = route.resource_path;
  // Only Lambda authorizers are shown the route's ARN.
  const std::string arn =
      route.authorization_type == "CUSTOM"
          ? route_arn(context, api_id, stage->name, route, request.method, route_path)
          : std::string();
  if (auto refused = co_await authorize(context, request, api_id, *stage, route, arn, facts)) {
    co_return finish(std::move(*refused));
  }

  const auto integration_it = stage->integrations.find(route.integration_id);
  if (integration_it == stage->integrations.end()) {
    co_return finish(aws::gateway_message(404, "Not Found"));
  }
  const json::object& integration = integration_it->second;
  const auto timeout = std::chrono::milliseconds(
      static_cast<std::int64_t>(number(integration, "timeoutInMillis").value_or(30'000)));
  const auto type = text_member(integration, "integrationType");
  if (type == "HTTP_PROXY") {
    auto forwarded =
        co_await forward_http(context, request, integration, *match, route_path, timeout, served);
    co_return finish(std::move(forwarded));
  }
  const bool v1 = text_member(integration, "payloadFormatVersion") == "1.0";
  std::string event =
      v1 ? json::serialize(aws::proxy_event_v1(request, facts, aws::HeaderNames::kLowerCase))
         : aws::proxy_event_v2_json(request, facts);
  const std::string function = function_of(text_member(integration, "integrationUri"));
  const std::string log_label = fmt::format("{} {}", api_id, route.route_key);
  const PayloadFormat format = v1 ? PayloadFormat::kV1 : PayloadFormat::kV2;
  static const ProxyFailures kHttpApiFailures{aws::gateway_message(503, "Service Unavailable"),
                                              aws::gateway_message(500, "Internal Server Error")};
  auto response = co_await proxy_to_function(context, log_label, function, std::move(event),
                                             timeout, format, kHttpApiFailures, served);
  co_return finish(std::move(response));
}

asio::awaitable<net::HttpResponse> ApiGatewayServiceImpl::forward_http(
    const aws::RequestContext& context, const net::HttpRequest& request,
    const json::object& integration, const RouteMatch& match, const std::string& route_path,
    std::chrono::milliseconds timeout, Served& served) {
  std::string uri = text_member(integration, "integrationUri");
  const auto scheme_end = uri.find("://");
  if (!is_http_url(uri) || scheme_end == std::string::npos) {
    spdlog::info("apigateway: HTTP_PROXY to {} is not served (not http:// or https://) [{}]", uri,
                 context.request_id);
    co_return aws::gateway_message(500, "Internal Server Error");
  }
  // Path variables in the URI ({proxy}) take the route's values; the
  // $default route appends the whole request path, as API Gateway does.
  for (const auto& [name, value] : match.path_parameters) {
    for (const auto& placeholder : {"{" + name + "}", "{" + name + "+}"}) {
      for (auto at = uri.find(placeholder); at != std::string::npos; at = uri.find(placeholder)) {
        uri.replace(at, placeholder.size(), value);
      }
    }
  }
  const auto path_start = uri.find('/', scheme_end + 3);
  const std::string base = uri.substr(0, path_start);
  std::string target = path_start == std::string::npos ? std::string() : uri.substr(path_start);
  if (match.route->key.is_default) {
    if (target.ends_with('/')) target.pop_back();
    target += route_path;
  }
  if (target.empty()) target = "/";
  const auto query = request.query();
  if (!query.empty()) {
    target += (target.find('?') == std::string::npos ? "?" : "&") + std::string(query);
  }
  net::HttpRequest forwarded;
  const auto method = text_member(integration, "integrationMethod");
  forwarded.method = method.empty() || method == "ANY" ? request.method : method;
  forwarded.target = std::move(target);
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "Host") || iequals(name, "Content-Length") || iequals(name, "Connection")) {
      continue;
    }
    forwarded.headers.add(name, value);
  }
  forwarded.body = request.body;
  // The HTTP client blocks: it runs on the service's own threads.
  auto call = http_call_owned(base, std::move(forwarded), timeout);
  const auto relayed = std::chrono::steady_clock::now();
  auto result = co_await asio::co_spawn(http_pool_, std::move(call), asio::use_awaitable);
  served.integration_latency = std::chrono::steady_clock::now() - relayed;
  ExecutionLog* log = served.execution_log ? &*served.execution_log : nullptr;
  if (!result) {
    spdlog::info("apigateway: HTTP_PROXY {}: {} [{}]", base, result.error().message(),
                 context.request_id);
    const bool timed_out = result.error().message().find("timed out") != std::string::npos ||
                           result.error().message().find("timeout") != std::string::npos;
    if (log) {
      log->error(timed_out ? std::string("Execution failed due to a timeout error")
                           : fmt::format("Execution failed due to an internal error: {}",
                                         result.error().message()));
    }
    served.gateway_response = timed_out ? "INTEGRATION_TIMEOUT" : "INTEGRATION_FAILURE";
    co_return timed_out ? aws::gateway_message(504, "Gateway Timeout")
                        : aws::gateway_message(502, "Bad Gateway");
  }
  if (log) {
    log->info(fmt::format(
        "Received response. Status: {}, Integration latency: {} ms", result->status,
        std::chrono::duration_cast<std::chrono::milliseconds>(*served.integration_latency)
            .count()));
    if (log->data_traced()) {
      log->data(fmt::format("Endpoint response headers: {}",
                            ExecutionLog::headers_text(result->headers)));
      log->data(fmt::format("Endpoint response body before transformations: {}", result->body));
    }
  }
  co_return std::move(*result);
}

asio::awaitable<net::HttpResponse> ApiGatewayServiceImpl::execute_rest(
    const aws::RequestContext& context, net::HttpRequest& request, const RestApiRecord& record,
    const std::string& path, Served& served) {
  // REST APIs answer their own way: lower-case "server error", and a path
  // no method matches is "Missing Authentication Token". A response the
  // gateway makes itself has a gateway response type, which the deployed
  // stage may have customized.
  auto answer = [&](net::HttpResponse response, std::string_view type = {}) {
    if (!type.empty()) served.gateway_response = type;
    if (served.gateway_response && served.stage && !served.stage->gateway_responses.empty()) {
      response = customize_gateway_response(
          served.stage->gateway_responses, *served.gateway_response, std::move(response),
          [&](std::string_view name) {
            return gateway_response_source(context, request, served, name);
          });
    }
    response.headers.set("x-amzn-RequestId", context.request_id);
    response.headers.set("x-amz-apigw-id", context.request_id.substr(0, 16));
    return response;
  };
  served.rest_api_name = text_member(record.api, "name");
  if (const auto* disabled = record.api.if_contains("disableExecuteApiEndpoint");
      disabled && disabled->is_bool() && disabled->as_bool()) {
    co_return answer(aws::gateway_message(403, "Forbidden"));
  }
  const auto end = path.find('/', 1);
  const std::string stage_name = path.substr(1, end == std::string::npos ? end : end - 1);
  const auto view = record.views.find(stage_name);
  if (stage_name.empty() || view == record.views.end()) {
    co_return answer(aws::gateway_message(403, "Forbidden"));
  }
  const StageView& stage = *view->second;
  served.stage = view->second;
  const std::string route_path = end == std::string::npos ? std::string("/") : path.substr(end);
  const auto match = match_route(stage.routes, request.method, route_path);
  if (!match || match->route->key.is_default) {
    co_return answer(aws::gateway_message(403, "Missing Authentication Token"),
                     "MISSING_AUTHENTICATION_TOKEN");
  }
  const CompiledRoute& route = *match->route;
  served.route_key = route.resource_path;
  served.resource_path = route.resource_path;
  served.path_parameters = match->path_parameters;
  const auto now = std::chrono::steady_clock::now();
  const BucketLimits account{options_.account_rate_limit, options_.account_burst_limit};
  if (!throttle_.take("account", account, now)) {
    co_return answer(aws::gateway_message(429, "Too Many Requests"), "THROTTLED");
  }
  // The stage's method settings: "*/*" for every method, then this
  // method's own (named by its method as defined: "ANY" for an ANY
  // method), each overriding what it sets.
  if (const auto* settings = stage.stage.if_contains("methodSettings");
      settings && settings->is_object()) {
    const std::string key =
        fmt::format("{}/{}", std::string_view(route.route_key).substr(1), route.key.method);
    std::optional<BucketLimits> limits;
    ExecutionLog::Settings log_settings;
    for (const auto* name : {"*/*", key.c_str()}) {
      const json::value* method_settings = settings->as_object().if_contains(name);
      overlay_limits(method_settings, "throttlingRateLimit", "throttlingBurstLimit", account,
                     limits);
      ExecutionLog::overlay(method_settings, log_settings);
      if (const auto* enabled = method_settings && method_settings->is_object()
                                    ? method_settings->as_object().if_contains("metricsEnabled")
                                    : nullptr;
          enabled && enabled->is_bool()) {
        served.detailed_metrics = enabled->as_bool();
      }
    }
    // Detailed metrics are kept as "<METHOD> <resource path>", the method
    // as the API defines it (CloudWatch's Method and Resource).
    if (served.detailed_metrics) {
      served.metrics_route = fmt::format("{} {}", route.key.method, route.resource_path);
    }
    if (limits &&
        !throttle_.take(fmt::format("rest/{}/{}/{}", record.id, stage.name, key), *limits, now)) {
      co_return answer(aws::gateway_message(429, "Too Many Requests"), "THROTTLED");
    }
    served.execution_log = ExecutionLog::start(log_settings, context.request_id);
    if (served.execution_log) {
      served.execution_log->info(fmt::format("Extended Request Id: {}", context.request_id));
    }
  }
  ExecutionLog* log = served.execution_log ? &*served.execution_log : nullptr;
  auto facts = aws::proxy_facts(context, request, record.id, route_path);
  facts.context_path = path;
  facts.stage = stage.name;
  facts.resource_path = route.resource_path;
  facts.resource_id = route.route_id;
  facts.path_parameters = match->path_parameters;
  facts.stage_variables = stage.stage_variables;
  if (route.authorization_type == "AWS_IAM") {
    if (context.caller.access_key_id.empty() || context.caller.anonymous) {
      co_return answer(aws::gateway_message(403, "Missing Authentication Token"),
                       "MISSING_AUTHENTICATION_TOKEN");
    }
    facts.caller_access_key = context.caller.access_key_id;
    facts.caller_arn = context.caller.arn;
  }
  std::optional<std::string> usage_identifier_key;
  if (route.authorization_type == "CUSTOM") {
    const std::string arn =
        fmt::format("arn:aws:execute-api:{}:{}:{}/{}/{}{}", context.region, context.account_id,
                    record.id, stage.name, request.method, route_path);
    if (log) {
      log->info(fmt::format("Starting authorizer: {} for request: {}", route.authorizer_id,
                            context.request_id));
    }
    if (auto refused = co_await authorize_rest(context, request, record.id, stage, route, arn,
                                               facts, usage_identifier_key)) {
      if (log && refused->status >= 500) {
        log->error("Execution failed due to configuration error: Authorizer error");
      } else if (log) {
        log->info(fmt::format("Unauthorized request: {}", context.request_id));
      }
      const auto status = refused->status;
      co_return answer(std::move(*refused), status == 401   ? "UNAUTHORIZED"
                                            : status == 403 ? "ACCESS_DENIED"
                                                            : "AUTHORIZER_FAILURE");
    }
    if (log) log->info("Successfully completed authorizer execution");
  }
  const auto found = stage.integrations.find(route.integration_id);
  if (found == stage.integrations.end()) {
    co_return answer(aws::gateway_message(500, "Internal server error"), "API_CONFIGURATION_ERROR");
  }
  const json::object& integration = found->second;
  if (const auto* required = integration.if_contains("apiKeyRequired");
      required && required->is_bool() && required->as_bool()) {
    if (auto refused = check_api_key(request, record, stage.name, usage_identifier_key, facts)) {
      const bool quota =
          refused->status == 429 && refused->body.find("Limit Exceeded") != std::string::npos;
      const auto status = refused->status;
      co_return answer(std::move(*refused), status == 403 ? "INVALID_API_KEY"
                                            : quota       ? "QUOTA_EXCEEDED"
                                                          : "THROTTLED");
    }
  }
  const auto type = text_member(integration, "type");
  const auto timeout = std::chrono::milliseconds(
      static_cast<std::int64_t>(number(integration, "timeoutInMillis").value_or(29'000)));
  if (log) {
    log->info(fmt::format("Starting execution for request: {}", context.request_id));
    log->info(fmt::format("HTTP Method: {}, Resource Path: {}", request.method, route_path));
    if (log->data_traced()) {
      // As the 1.0 event's queryStringParameters: a repeated name's last value.
      std::vector<std::pair<std::string, std::string>> query;
      for (const auto& [name, values] : aws::query_parameters(request.query()).values) {
        query.emplace_back(name, values.back());
      }
      log->data(
          fmt::format("Method request path: {}", ExecutionLog::map_text(match->path_parameters)));
      log->data(fmt::format("Method request query string: {}", ExecutionLog::map_text(query)));
      log->data(
          fmt::format("Method request headers: {}", ExecutionLog::headers_text(request.headers)));
      log->data(fmt::format("Method request body before transformations: {}", request.body));
    }
  }
  if (type == "MOCK") {
    // The gateway answers for the integration: its latency is the time to
    // pick and fill the response.
    const auto relayed = std::chrono::steady_clock::now();
    auto mocked = mock_response(integration);
    served.integration_latency = std::chrono::steady_clock::now() - relayed;
    co_return answer(std::move(mocked));
  }
  if (type == "HTTP_PROXY") {
    const json::object as_http_api{{"integrationUri", text_member(integration, "uri")},
                                   {"integrationMethod", text_member(integration, "httpMethod")}};
    if (log) {
      log->info(fmt::format("Endpoint request URI: {}", text_member(integration, "uri")));
      log->info(fmt::format("Sending request to {}", text_member(integration, "uri")));
    }
    auto forwarded =
        co_await forward_http(context, request, as_http_api, *match, route_path, timeout, served);
    co_return answer(std::move(forwarded));
  }
  std::string event =
      json::serialize(aws::proxy_event_v1(request, facts, aws::HeaderNames::kAsSent));
  const std::string function = function_of(text_member(integration, "uri"));
  if (log) {
    // Lambda's own endpoint, as API Gateway calls it.
    const std::string uri = text_member(integration, "uri");
    const auto path_at = uri.find(":lambda:path");
    const std::string endpoint =
        fmt::format("https://lambda.{}.amazonaws.com{}", context.region,
                    path_at == std::string::npos ? std::string_view()
                                                 : std::string_view(uri).substr(path_at + 12));
    log->info(fmt::format("Endpoint request URI: {}", endpoint));
    log->data(fmt::format("Endpoint request body after transformations: {}", event));
    log->info(fmt::format("Sending request to {}", endpoint));
  }
  const std::string log_label = fmt::format("{} {} {}", record.id, request.method, route.route_key);
  const PayloadFormat format = PayloadFormat::kV1;
  static const ProxyFailures kRestApiFailures{
      aws::gateway_message(504, "Endpoint request timed out"),
      aws::gateway_message(502, "Internal server error")};
  auto response = co_await proxy_to_function(context, log_label, function, std::move(event),
                                             timeout, format, kRestApiFailures, served);
  co_return answer(std::move(response));
}

}  // namespace nimbus::services::apigateway::internal
