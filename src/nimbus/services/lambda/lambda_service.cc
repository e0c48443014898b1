#include "nimbus/services/lambda/lambda_service.h"

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/aws/event_stream.h"
#include "nimbus/aws/protocol.h"
#include "nimbus/core/json_outline.h"
#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"
#include "nimbus/services/lambda/internal/service_impl.h"

namespace nimbus::services::lambda {
namespace internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

// Every operation of the 2015-03-31 model, by method and path, so that an
// operation Nimbus does not implement yet is named in the error.
struct RouteSpec {
  std::string_view method;
  std::string_view path;
  std::string_view operation;
};
constexpr RouteSpec kRoutes[] = {
    {"POST", "/2014-11-13/functions/{FunctionName}/invoke-async", "InvokeAsync"},
    {"POST", "/2015-03-31/event-source-mappings", "CreateEventSourceMapping"},
    {"GET", "/2015-03-31/event-source-mappings", "ListEventSourceMappings"},
    {"DELETE", "/2015-03-31/event-source-mappings/{UUID}", "DeleteEventSourceMapping"},
    {"GET", "/2015-03-31/event-source-mappings/{UUID}", "GetEventSourceMapping"},
    {"PUT", "/2015-03-31/event-source-mappings/{UUID}", "UpdateEventSourceMapping"},
    {"POST", "/2015-03-31/functions", "CreateFunction"},
    {"GET", "/2015-03-31/functions", "ListFunctions"},
    {"DELETE", "/2015-03-31/functions/{FunctionName}", "DeleteFunction"},
    {"GET", "/2015-03-31/functions/{FunctionName}", "GetFunction"},
    {"POST", "/2015-03-31/functions/{FunctionName}/aliases", "CreateAlias"},
    {"GET", "/2015-03-31/functions/{FunctionName}/aliases", "ListAliases"},
    {"DELETE", "/2015-03-31/functions/{FunctionName}/aliases/{Name}", "DeleteAlias"},
    {"GET", "/2015-03-31/functions/{FunctionName}/aliases/{Name}", "GetAlias"},
    {"PUT", "/2015-03-31/functions/{FunctionName}/aliases/{Name}", "UpdateAlias"},
    {"PUT", "/2015-03-31/functions/{FunctionName}/code", "UpdateFunctionCode"},
    {"GET", "/2015-03-31/functions/{FunctionName}/configuration", "GetFunctionConfiguration"},
    {"PUT", "/2015-03-31/functions/{FunctionName}/configuration", "UpdateFunctionConfiguration"},
    {"POST", "/2015-03-31/functions/{FunctionName}/invocations", "Invoke"},
    {"POST", "/2015-03-31/functions/{FunctionName}/policy", "AddPermission"},
    {"GET", "/2015-03-31/functions/{FunctionName}/policy", "GetPolicy"},
    {"DELETE", "/2015-03-31/functions/{FunctionName}/policy/{StatementId}", "RemovePermission"},
    {"GET", "/2015-03-31/functions/{FunctionName}/versions", "ListVersionsByFunction"},
    {"POST", "/2015-03-31/functions/{FunctionName}/versions", "PublishVersion"},
    {"GET", "/2016-08-19/account-settings", "GetAccountSettings"},
    {"GET", "/2017-03-31/tags/{ARN}", "ListTags"},
    {"POST", "/2017-03-31/tags/{ARN}", "TagResource"},
    {"DELETE", "/2017-03-31/tags/{ARN}", "UntagResource"},
    {"DELETE", "/2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency"},
    {"PUT", "/2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency"},
    {"GET", "/2018-10-31/layers", "ListLayers"},
    {"GET", "/2018-10-31/layers/{LayerName}/versions", "ListLayerVersions"},
    {"POST", "/2018-10-31/layers/{LayerName}/versions", "PublishLayerVersion"},
    {"DELETE", "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}", "DeleteLayerVersion"},
    {"GET", "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}", "GetLayerVersion"},
    {"DELETE", "/2019-09-25/functions/{FunctionName}/event-invoke-config",
     "DeleteFunctionEventInvokeConfig"},
    {"GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config",
     "GetFunctionEventInvokeConfig"},
    {"PUT", "/2019-09-25/functions/{FunctionName}/event-invoke-config",
     "PutFunctionEventInvokeConfig"},
    {"POST", "/2019-09-25/functions/{FunctionName}/event-invoke-config",
     "UpdateFunctionEventInvokeConfig"},
    {"GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config/list",
     "ListFunctionEventInvokeConfigs"},
    {"GET", "/2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency"},
    {"DELETE", "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
     "DeleteProvisionedConcurrencyConfig"},
    {"GET", "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
     "GetProvisionedConcurrencyConfig"},
    {"PUT", "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
     "PutProvisionedConcurrencyConfig"},
    {"POST", "/2020-04-22/code-signing-configs", "CreateCodeSigningConfig"},
    {"GET", "/2020-04-22/code-signing-configs", "ListCodeSigningConfigs"},
    {"DELETE", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}",
     "DeleteCodeSigningConfig"},
    {"GET", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "GetCodeSigningConfig"},
    {"PUT", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "UpdateCodeSigningConfig"},
    {"DELETE", "/2020-06-30/functions/{FunctionName}/code-signing-config",
     "DeleteFunctionCodeSigningConfig"},
    {"GET", "/2020-06-30/functions/{FunctionName}/code-signing-config",
     "GetFunctionCodeSigningConfig"},
    {"PUT", "/2020-06-30/functions/{FunctionName}/code-signing-config",
     "PutFunctionCodeSigningConfig"},
    {"POST", "/2021-10-31/functions/{FunctionName}/url", "CreateFunctionUrlConfig"},
    {"DELETE", "/2021-10-31/functions/{FunctionName}/url", "DeleteFunctionUrlConfig"},
    {"GET", "/2021-10-31/functions/{FunctionName}/url", "GetFunctionUrlConfig"},
    {"PUT", "/2021-10-31/functions/{FunctionName}/url", "UpdateFunctionUrlConfig"},
    {"GET", "/2021-10-31/functions/{FunctionName}/urls", "ListFunctionUrlConfigs"},
    {"POST", "/2021-11-15/functions/{FunctionName}/response-streaming-invocations",
     "InvokeWithResponseStream"},
    // Not AWS's: where GetFunction's Code.Location points.
    {"GET", "/_lambda/code/{Zip}", "GetCodeZip"},
};

constexpr std::string_view kPathPrefixes[] = {
    "/2014-11-13/functions",
    "/2015-03-31/functions",
    "/2015-03-31/event-source-mappings",
    "/2016-08-19/account-settings",
    "/2017-03-31/tags",
    "/2017-10-31/functions",
    "/2018-10-31/layers",
    "/2019-09-25/functions",
    "/2019-09-30/functions",
    "/2020-04-22/code-signing-configs",
    "/2020-06-30/functions",
    "/2021-10-31/functions",
    "/2021-11-15/functions",
    "/_lambda",
};

// A direct upload of a 50 MB zip, base64 in JSON, as Lambda sizes it.
constexpr std::size_t kMaxRequestBytes = 69'905'067;
constexpr std::size_t kMaxAsyncPayloadBytes = 1024 * 1024;

AwsError request_too_large(std::size_t limit, std::string_view operation) {
  return AwsError(
      "RequestTooLargeException",
      fmt::format("Request must be smaller than {} bytes for the {} operation", limit, operation),
      413);
}

std::string fingerprint(const engine::FunctionConfig& config) {
  json::object out;
  out["runtime"] = config.runtime;
  out["handler"] = config.handler;
  out["code"] = config.code_dir.string();
  out["memory"] = config.memory_mb;
  out["timeout"] = config.timeout.count();
  json::array environment;
  for (const auto& [key, value] : config.environment) environment.push_back({key, value});
  out["environment"] = std::move(environment);
  out["reserved"] =
      config.reserved_concurrency ? static_cast<std::int64_t>(*config.reserved_concurrency) : -1;
  out["provisioned"] = config.provisioned_concurrency;
  return json::serialize(out);
}

std::string member(const json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_string()) {
    return std::string(value->as_string());
  }
  return {};
}

}  // namespace

Reply json_reply(int status, const json::value& body) {
  return aws::rest_json_response(status, body);
}

Reply empty_reply(int status) { return aws::rest_empty_response(status); }

AwsError precondition_failed() {
  return AwsError("PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the "
                  "GetFunction/GetAlias API to retrieve the latest Revision Id",
                  412);
}

LambdaServiceImpl::LambdaServiceImpl(LambdaServiceOptions options, storage::AsyncStore& store,
                                     engine::Engine& engine)
    : options_(std::move(options)),
      scope_{options_.region, options_.account_id},
      store_(store),
      engine_(engine),
      code_(options_.code_dir) {
  descriptor_.name = "lambda";
  descriptor_.signing_name = "lambda";
  descriptor_.protocol = aws::Protocol::kRestJson;
  for (const auto prefix : kPathPrefixes) descriptor_.path_prefixes.emplace_back(prefix);
  descriptor_.max_request_bytes = kMaxRequestBytes;
  descriptor_.host_labels = {"lambda-url"};
  // Code.Location URLs carry their own expiring token, like a presigned URL.
  descriptor_.public_path_prefixes = {"/_lambda/url", "/_lambda/code"};
  std::random_device entropy;
  for (int i = 0; i < 32; ++i) code_url_secret_ += static_cast<char>(entropy() & 0xff);
  for (const auto& route : kRoutes) {
    routes_.add(route.method, route.path, std::string(route.operation));
  }
}

Result<void> LambdaServiceImpl::open() {
  if (auto opened = code_.open(); !opened) return opened;
  auto catalog = Catalog::open(store_.store(), kFunctionsKeyspace);
  if (!catalog) return catalog.error();
  catalog_ = std::move(*catalog);
  // Code whose directory a crash lost is unpacked again from its zip.
  for (const auto& hash : referenced_code(*catalog_)) {
    if (auto unpacked = code_.ensure_unpacked(hash); !unpacked) {
      spdlog::error("lambda: {}", unpacked.error().message());
    }
  }
  code_.collect(referenced_code(*catalog_));
  for (const auto& record : catalog_->all()) sync_engine(nullptr, record.get());
  catalog_->set_listener([this](const FunctionRecord* before, const FunctionRecord* after) {
    sync_engine(before, after);
  });

  AsyncInvokerOptions async_options;
  async_options.retry_delay = options_.async_retry_delay;
  auto async = AsyncInvoker::open(
      store_, async_options,
      [this](const AsyncInvocation& invocation) { return run_async(invocation); },
      [this](const AsyncInvocation& invocation) { return async_policy(invocation); },
      [this](const AsyncInvocation& invocation, const std::string& version) {
        return scope_.qualified_arn(invocation.function, version);
      });
  if (!async) return async.error();
  async_ = std::move(*async);
  async_->start();
  spdlog::info("lambda: {} functions, {} queued asynchronous invocations", catalog_->all().size(),
               async_->queued());
  return ok();
}

// Invocations are refused before their body is read: 6 MB synchronous,
// 1 MB asynchronous, as Lambda's limits; everything else may carry a 50 MB zip.
std::size_t LambdaServiceImpl::body_limit(const net::HttpRequest& head) const {
  if (url_target(head)) return engine::kMaxSyncPayloadBytes;
  const auto route = routes_.match(head.method, head.path());
  if (!route) return kMaxRequestBytes;
  if (route->operation == "InvokeAsync") return kMaxAsyncPayloadBytes;
  if (route->operation == "Invoke" || route->operation == "InvokeWithResponseStream") {
    return head.headers.get("X-Amz-Invocation-Type") == "Event" ? kMaxAsyncPayloadBytes
                                                                : engine::kMaxSyncPayloadBytes;
  }
  return kMaxRequestBytes;
}

AwsError LambdaServiceImpl::body_too_large(const net::HttpRequest& head, std::size_t limit) const {
  const auto route = routes_.match(head.method, head.path());
  if (!url_target(head) && route &&
      (route->operation == "Invoke" || route->operation == "InvokeWithResponseStream" ||
       route->operation == "InvokeAsync")) {
    return request_too_large(limit, limit == kMaxAsyncPayloadBytes ? "InvokeAsync" : "Invoke");
  }
  return AwsError::request_entity_too_large(limit);
}

void LambdaServiceImpl::set_endpoint_url(std::string url) {
  std::lock_guard lock(mutex_);
  endpoint_url_ = std::move(url);
}

void LambdaServiceImpl::stop_dispatching() {
  if (async_) async_->stop_dispatching();
}

void LambdaServiceImpl::stop() {
  if (async_) async_->stop();
}

std::string LambdaServiceImpl::code_token(std::string_view hex, std::int64_t expires) const {
  return hex_encode(aws::hmac_sha256(code_url_secret_, fmt::format("{}\n{}", hex, expires)));
}

// Like Lambda's presigned S3 URL: valid for ten minutes, for anyone holding it.
std::string LambdaServiceImpl::code_location(const json::object& configuration) const {
  const std::string hex = code_hex(configuration);
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       600;
  std::lock_guard lock(mutex_);
  return fmt::format("{}/_lambda/code/{}.zip?expires={}&token={}", endpoint_url_, hex, expires,
                     code_token(hex, expires));
}

// The engine runs one FunctionConfig per version; it is told about every
// change, in commit order (the catalog calls this under its writer lock).
void LambdaServiceImpl::sync_engine(const FunctionRecord* before, const FunctionRecord* after) {
  std::map<std::string, engine::FunctionConfig> wanted;
  if (after != nullptr) {
    auto add = [&](const json::object& configuration) {
      engine::FunctionConfig config;
      config.name = after->name;
      config.version = member(configuration, "Version");
      config.arn = scope_.function_arn(after->name);
      config.runtime = member(configuration, "Runtime");
      config.handler = member(configuration, "Handler");
      config.code_dir = code_.dir(code_hex(configuration));
      if (const auto* memory = configuration.if_contains("MemorySize")) {
        config.memory_mb = memory->to_number<std::uint32_t>();
      }
      if (const auto* architectures = configuration.if_contains("Architectures");
          architectures != nullptr && architectures->is_array() &&
          !architectures->as_array().empty() && architectures->as_array()[0].is_string()) {
        config.architecture = architectures->as_array()[0].as_string();
      }
      if (const auto* timeout = configuration.if_contains("Timeout")) {
        config.timeout = std::chrono::seconds(timeout->to_number<std::int64_t>());
      }
      if (const auto* environment = configuration.if_contains("Environment")) {
        if (const auto* variables = environment->as_object().if_contains("Variables")) {
          for (const auto& [key, value] : variables->as_object()) {
            config.environment.emplace_back(std::string(key), std::string(value.as_string()));
          }
        }
      }
      config.reserved_concurrency = after->reserved_concurrency;
      for (const auto& [qualifier, count] : after->provisioned_concurrency) {
        if (after->resolve_version(qualifier) == config.version) {
          config.provisioned_concurrency += count;
        }
      }
      wanted.emplace(config.key(), std::move(config));
    };
    add(after->latest);
    for (const auto& [number, configuration] : after->versions) add(configuration);
  }
  std::vector<std::string> removed;
  if (before != nullptr) {
    std::vector<std::string> keys{before->name + ":" + std::string(kLatest)};
    for (const auto& [number, configuration] : before->versions) {
      keys.push_back(before->name + ":" + std::to_string(number));
    }
    for (auto& key : keys) {
      if (!wanted.contains(key)) removed.push_back(std::move(key));
    }
  }
  std::lock_guard lock(mutex_);
  if (before != nullptr) {
    for (const auto& [qualifier, url] : before->url_configs) {
      url_index_.erase(std::string(url.at("UrlId").as_string()));
    }
  }
  if (after != nullptr) {
    for (const auto& [qualifier, url] : after->url_configs) {
      url_index_[std::string(url.at("UrlId").as_string())] = {after->name, qualifier};
    }
  }
  for (const auto& key : removed) {
    engine_fingerprints_.erase(key);
    engine_.remove_function(key);
  }
  for (auto& [key, config] : wanted) {
    auto print = fingerprint(config);
    auto& known = engine_fingerprints_[key];
    if (known == print) continue;
    if (auto put = engine_.put_function(std::move(config)); !put) {
      spdlog::error("lambda: the engine refused {}: {}", key, put.error().message());
      continue;
    }
    known = std::move(print);
  }
}

asio::awaitable<net::HttpResponse> LambdaServiceImpl::handle(const aws::RequestContext& context,
                                                             net::HttpRequest& request) {
  if (auto target = url_target(request)) {
    co_return co_await invoke_url(context, request, std::move(target->first),
                                  std::move(target->second));
  }
  auto route = routes_.match(request.method, request.path());
  if (!route) {
    co_return aws::error_response(
        descriptor_.protocol,
        AwsError("UnknownOperationException",
                 fmt::format("Lambda has no operation at {} {}", request.method, request.path()),
                 404),
        context.request_id);
  }
  Call call{context, request, *route, {}};
  const bool raw_body = route->operation == "Invoke" || route->operation == "InvokeAsync" ||
                        route->operation == "InvokeWithResponseStream";
  if (!raw_body && !trim(request.body).empty()) {
    boost::system::error_code error;
    auto parsed = json::parse(request.body, error);
    if (error || !parsed.is_object()) {
      co_return aws::error_response(
          descriptor_.protocol,
          AwsError("InvalidRequestContentException",
                   fmt::format("Could not parse request body into json: {}",
                               error ? error.message() : "the body is not a JSON object"),
                   400),
          context.request_id);
    }
    call.body = std::move(parsed.as_object());
  }
  auto reply = co_await dispatch(call);
  if (!reply) {
    co_return aws::error_response(descriptor_.protocol, reply.error(), context.request_id);
  }
  co_return std::move(*reply);
}

asio::awaitable<Reply> LambdaServiceImpl::dispatch(Call& call) {
  const std::string_view op = call.route.operation;
  if (op == "Invoke" || op == "InvokeWithResponseStream" || op == "InvokeAsync") {
    co_return co_await invoke(call);
  }
  if (op == "CreateFunction") co_return co_await create_function(call);
  if (op == "GetFunction") co_return co_await get_function(call);
  if (op == "GetFunctionConfiguration") co_return co_await get_function_configuration(call);
  if (op == "ListFunctions") co_return co_await list_functions(call);
  if (op == "UpdateFunctionCode") co_return co_await update_function_code(call);
  if (op == "UpdateFunctionConfiguration") co_return co_await update_function_configuration(call);
  if (op == "DeleteFunction") co_return co_await delete_function(call);
  if (op == "PublishVersion") co_return co_await publish_version(call);
  if (op == "ListVersionsByFunction") co_return co_await list_versions(call);
  if (op == "CreateAlias") co_return co_await create_alias(call);
  if (op == "GetAlias") co_return co_await get_alias(call);
  if (op == "UpdateAlias") co_return co_await update_alias(call);
  if (op == "DeleteAlias") co_return co_await delete_alias(call);
  if (op == "ListAliases") co_return co_await list_aliases(call);
  if (op == "PutFunctionEventInvokeConfig") co_return co_await put_event_invoke_config(call, false);
  if (op == "UpdateFunctionEventInvokeConfig")
    co_return co_await put_event_invoke_config(call, true);
  if (op == "GetFunctionEventInvokeConfig") co_return co_await get_event_invoke_config(call);
  if (op == "DeleteFunctionEventInvokeConfig") co_return co_await delete_event_invoke_config(call);
  if (op == "ListFunctionEventInvokeConfigs") co_return co_await list_event_invoke_configs(call);
  if (op == "PutFunctionConcurrency") co_return co_await put_concurrency(call);
  if (op == "GetFunctionConcurrency") co_return co_await get_concurrency(call);
  if (op == "DeleteFunctionConcurrency") co_return co_await delete_concurrency(call);
  if (op == "PutProvisionedConcurrencyConfig") {
    // The model puts List=ALL on the same path: that is the list operation.
    if (!call.query("List").empty()) co_return co_await list_provisioned(call);
    co_return co_await put_provisioned(call);
  }
  if (op == "GetProvisionedConcurrencyConfig") {
    if (!call.query("List").empty()) co_return co_await list_provisioned(call);
    co_return co_await get_provisioned(call);
  }
  if (op == "DeleteProvisionedConcurrencyConfig") co_return co_await delete_provisioned(call);
  if (op == "GetAccountSettings") co_return co_await get_account_settings(call);
  if (op == "AddPermission") co_return co_await add_permission(call);
  if (op == "GetPolicy") co_return co_await get_policy(call);
  if (op == "RemovePermission") co_return co_await remove_permission(call);
  if (op == "TagResource") co_return co_await tag_resource(call);
  if (op == "UntagResource") co_return co_await untag_resource(call);
  if (op == "ListTags") co_return co_await list_tags(call);
  if (op == "GetCodeZip") co_return co_await get_code_zip(call);
  if (op == "CreateFunctionUrlConfig") co_return co_await create_url_config(call);
  if (op == "GetFunctionUrlConfig") co_return co_await get_url_config(call);
  if (op == "UpdateFunctionUrlConfig") co_return co_await update_url_config(call);
  if (op == "DeleteFunctionUrlConfig") co_return co_await delete_url_config(call);
  if (op == "ListFunctionUrlConfigs") co_return co_await list_url_configs(call);
  co_return AwsError("NotImplementedException",
                     fmt::format("Nimbus does not implement Lambda's {} operation yet.", op), 501,
                     Fault::kServer);
}

Result<FunctionRef> LambdaServiceImpl::function_ref(const Call& call,
                                                    std::size_t max_length) const {
  auto ref = parse_function_name(call.label("FunctionName"), scope_, max_length);
  if (!ref) return ref.error();
  const auto qualifier = call.query("Qualifier");
  if (!qualifier.empty()) {
    const bool valid =
        qualifier.size() <= 128 && qualifier.find_first_not_of(
                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
                                       "UVWXYZ0123456789$_-") == std::string::npos;
    if (!valid) {
      return validation_error(qualifier, "qualifier",
                              "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)");
    }
  }
  return merge_qualifier(std::move(*ref), qualifier);
}

Result<std::shared_ptr<const FunctionRecord>> LambdaServiceImpl::find(
    const FunctionRef& ref) const {
  auto record = catalog_->find(ref.name);
  if (!record) return function_not_found(scope_, {ref.name, ""});
  return record;
}

Result<std::string> LambdaServiceImpl::pick_version(const FunctionRecord& record,
                                                    const FunctionRef& ref) const {
  if (ref.qualifier.empty() || ref.qualifier == kLatest) return std::string(kLatest);
  if (is_version_number(ref.qualifier)) {
    if (record.configuration(ref.qualifier) == nullptr) return function_not_found(scope_, ref);
    return ref.qualifier;
  }
  const auto alias = record.aliases.find(ref.qualifier);
  if (alias == record.aliases.end()) return function_not_found(scope_, ref);
  std::string version = member(alias->second, "FunctionVersion");
  if (const auto* routing = alias->second.if_contains("RoutingConfig")) {
    if (const auto* weights = routing->as_object().if_contains("AdditionalVersionWeights")) {
      thread_local std::mt19937_64 random{std::random_device{}()};
      double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random);
      for (const auto& [other, weight] : weights->as_object()) {
        const double share = weight.to_number<double>();
        if (draw < share) return std::string(other);
        draw -= share;
      }
    }
  }
  return version;
}

asio::awaitable<Reply> LambdaServiceImpl::invoke(Call& call) {
  auto ref = function_ref(call);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  auto version = pick_version(**record, *ref);
  if (!version) co_return version.error();

  // The 2014 InvokeAsync API is an Event invocation answered {"Status":202}.
  const bool legacy_async = call.route.operation == "InvokeAsync";
  const std::string type =
      legacy_async
          ? std::string("Event")
          : std::string(
                call.request.headers.get("X-Amz-Invocation-Type").value_or("RequestResponse"));
  const bool streaming = call.route.operation == "InvokeWithResponseStream";
  if (streaming && type != "RequestResponse" && type != "DryRun") {
    co_return validation_error(type, "invocationType",
                               "Member must satisfy enum value set: [RequestResponse, DryRun]");
  }
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    co_return validation_error(
        type, "invocationType",
        "Member must satisfy enum value set: [Event, RequestResponse, DryRun]");
  }
  const std::string log_type =
      std::string(call.request.headers.get("X-Amz-Log-Type").value_or("None"));
  if (log_type != "None" && log_type != "Tail") {
    co_return validation_error(log_type, "logType",
                               "Member must satisfy enum value set: [Tail, None]");
  }
  std::string payload = std::move(call.request.body);
  if (trim(payload).empty()) payload = "{}";
  const std::size_t limit = type == "Event" ? kMaxAsyncPayloadBytes : engine::kMaxSyncPayloadBytes;
  if (payload.size() > limit) {
    co_return request_too_large(limit, type == "Event" ? "InvokeAsync" : "Invoke");
  }
  {
    // Checked, not built: the function gets the bytes as sent.
    boost::system::error_code error;
    outline_json(payload, {}, error);
    if (error) {
      co_return AwsError("InvalidRequestContentException",
                         fmt::format("Could not parse request body into json: Could not parse "
                                     "payload into json: {}",
                                     error.message()),
                         400);
    }
  }
  // Clients send the client context base64-encoded; the Runtime API hands
  // the function the JSON itself.
  const std::string encoded_context =
      std::string(call.request.headers.get("X-Amz-Client-Context").value_or(""));
  if (encoded_context.size() > 3583) {
    co_return validation_error("...", "clientContext",
                               "Member must have length less than or equal to 3583");
  }
  std::string client_context;
  if (!encoded_context.empty()) {
    auto decoded = aws::base64_decode(encoded_context);
    boost::system::error_code error;
    json::value parsed;
    if (decoded) parsed = json::parse(*decoded, error);
    if (!decoded || error) {
      co_return AwsError("InvalidRequestContentException",
                         "Client context must be a valid Base64-encoded JSON object.", 400);
    }
    // Written compactly: it travels in a header (Lambda-Runtime-Client-Context),
    // where a line break from the client's formatting would end it.
    client_context = json::serialize(parsed);
  }

  if (type == "DryRun") co_return empty_reply(204);
  if (type == "Event") {
    AsyncInvocation invocation;
    invocation.request_id = call.context.request_id;
    invocation.function = ref->name;
    invocation.qualifier = ref->qualifier;
    invocation.payload = std::move(payload);
    invocation.client_context = client_context;
    auto queued = co_await async_->enqueue(std::move(invocation));
    if (!queued) co_return queued.error();
    if (legacy_async) co_return json_reply(202, json::object{{"Status", 202}});
    co_return empty_reply(202);
  }

  engine::InvokeOptions options;
  options.request_id = call.context.request_id;
  options.invoked_arn = scope_.qualified_arn(ref->name, ref->qualifier);
  options.client_context = client_context;
  options.log_tail = log_type == "Tail" ? engine::LogTail::kTail : engine::LogTail::kNone;
  if (auto trace = call.request.headers.get("X-Amzn-Trace-Id"))
    options.trace_id = std::string(*trace);
  std::string key = ref->name + ":" + *version;
  if (streaming) {
    co_return co_await invoke_streaming(std::move(key), std::move(payload), std::move(options),
                                        *version, log_type == "Tail");
  }
  auto result = co_await engine_.invoke(std::move(key), std::move(payload), std::move(options));
  if (!result) co_return result.error();
  if (result->streamed && result->payload.size() > engine::kMaxSyncPayloadBytes) {
    // A streamed answer past what a buffered Invoke may return.
    result->function_error = "Unhandled";
    result->payload = json::serialize(json::object{
        {"errorType", "Function.ResponseSizeTooLarge"},
        {"errorMessage", fmt::format("Response payload size exceeded maximum allowed payload "
                                     "size ({} bytes).",
                                     engine::kMaxSyncPayloadBytes)}});
  }
  auto response = net::HttpResponse::with_body(200, "application/json", std::move(result->payload));
  response.headers.add("X-Amz-Executed-Version", *version);
  if (!result->function_error.empty()) {
    response.headers.add("X-Amz-Function-Error", result->function_error);
  }
  if (log_type == "Tail")
    response.headers.add("X-Amz-Log-Result", aws::base64_encode(result->log_tail));
  co_return response;
}

namespace {

// InvokeWithResponseStream's events: the function's bytes as PayloadChunk
// events of at most 64 KiB.
std::string payload_events(std::string_view bytes) {
  constexpr std::size_t kChunk = 64 * 1024;
  std::string events;
  for (std::size_t at = 0; at < bytes.size(); at += kChunk) {
    events +=
        aws::encode_event("PayloadChunk", "application/octet-stream", bytes.substr(at, kChunk));
  }
  return events;
}

// The InvokeComplete event that ends the stream: the function's error, if
// any, and the log tail when asked for.
std::string complete_event(const Result<engine::InvokeResult>& result, bool tail) {
  json::object complete;
  if (!result) {
    complete["ErrorCode"] = result.error().code();
    complete["ErrorDetails"] = result.error().message();
  } else if (!result->function_error.empty()) {
    boost::system::error_code error;
    const auto document = json::parse(result->payload, error);
    const auto* object = error ? nullptr : document.if_object();
    complete["ErrorCode"] = object ? member(*object, "errorType") : result->function_error;
    complete["ErrorDetails"] = object ? member(*object, "errorMessage") : result->payload;
  }
  if (tail && result) complete["LogResult"] = aws::base64_encode(result->log_tail);
  return aws::encode_event("InvokeComplete", "application/json", json::serialize(complete));
}

}  // namespace

// InvokeWithResponseStream: errors before the function answers are plain
// errors; once it streams, the answer is sent as the function writes it.
asio::awaitable<Reply> LambdaServiceImpl::invoke_streaming(std::string key, std::string payload,
                                                           engine::InvokeOptions options,
                                                           std::string version, bool tail) {
  const auto executor = co_await asio::this_coro::executor;
  auto stream = InvocationStream::start(engine_, std::move(key), std::move(payload),
                                        std::move(options), executor);
  auto state = stream->state();
  while (!state.started && !state.finished) {
    co_await changed_since(*stream, state.version);
    state = stream->state();
  }
  net::HttpResponse response;
  if (state.started) {
    response.headers.add("Content-Type", state.content_type);
    // PayloadChunk events as the bytes arrive, then InvokeComplete.
    response.stream = stream_body(
        stream, std::string(), [](std::string bytes) { return payload_events(bytes); },
        [tail](const Result<engine::InvokeResult>& result) {
          return complete_event(result, tail);
        });
  } else {
    // Over before any streaming: a buffered handler, or a refusal.
    const auto& result = *stream->take().result;
    if (!result) co_return result.error();
    std::string events =
        result->function_error.empty() ? payload_events(result->payload) : std::string();
    events += complete_event(result, tail);
    response = net::HttpResponse::with_body(
        200, result->streamed ? result->content_type : "application/octet-stream",
        std::move(events));
  }
  response.headers.add("X-Amz-Executed-Version", version);
  co_return response;
}

asio::awaitable<Result<engine::InvokeResult>> LambdaServiceImpl::run_async(
    const AsyncInvocation& invocation) {
  auto record = catalog_->find(invocation.function);
  if (!record) co_return function_not_found(scope_, {invocation.function, invocation.qualifier});
  auto version = pick_version(*record, {invocation.function, invocation.qualifier});
  if (!version) co_return version.error();
  engine::InvokeOptions options;
  options.request_id = invocation.request_id;
  options.invoked_arn = scope_.qualified_arn(invocation.function, invocation.qualifier);
  options.client_context = invocation.client_context;
  std::string key = invocation.function + ":" + *version;
  std::string payload = invocation.payload;
  auto result = co_await engine_.invoke(std::move(key), std::move(payload), std::move(options));
  if (result) result->executed_version = *version;
  co_return result;
}

std::optional<AsyncPolicy> LambdaServiceImpl::async_policy(
    const AsyncInvocation& invocation) const {
  auto record = catalog_->find(invocation.function);
  if (!record) return std::nullopt;
  const std::string qualifier =
      invocation.qualifier.empty() ? std::string(kLatest) : invocation.qualifier;
  if (!record->resolve_version(qualifier)) return std::nullopt;
  AsyncPolicy policy;
  const auto it = record->event_invoke_configs.find(qualifier);
  if (it == record->event_invoke_configs.end()) return policy;
  const auto& config = it->second;
  if (const auto* retries = config.if_contains("MaximumRetryAttempts")) {
    policy.maximum_retry_attempts = retries->to_number<std::uint32_t>();
  }
  if (const auto* age = config.if_contains("MaximumEventAgeInSeconds")) {
    policy.maximum_event_age = std::chrono::seconds(age->to_number<std::int64_t>());
  }
  if (const auto* destinations = config.if_contains("DestinationConfig")) {
    const auto& object = destinations->as_object();
    if (const auto* success = object.if_contains("OnSuccess")) {
      policy.on_success = member(success->as_object(), "Destination");
    }
    if (const auto* failure = object.if_contains("OnFailure")) {
      policy.on_failure = member(failure->as_object(), "Destination");
    }
  }
  return policy;
}

asio::awaitable<Reply> LambdaServiceImpl::get_code_zip(Call& call) {
  std::string name = call.label("Zip");
  if (!name.ends_with(".zip") || name.size() != 68 ||
      name.substr(0, 64).find_first_not_of("0123456789abcdef") != std::string::npos) {
    co_return resource_not_found("The code you requested does not exist.");
  }
  const std::string hex = name.substr(0, 64);
  const auto expires = parse_uint(call.query("expires"));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!expires || static_cast<std::int64_t>(*expires) < now ||
      call.query("token") != code_token(hex, static_cast<std::int64_t>(*expires))) {
    co_return AwsError("AccessDeniedException", "The code URL has expired or is not valid.", 403);
  }
  auto bytes = co_await store_.run([this, &hex](storage::Store&) { return code_.read_zip(hex); });
  if (!bytes) co_return bytes.error();
  if (!*bytes) co_return resource_not_found("The code you requested does not exist.");
  co_return net::HttpResponse::with_body(200, "application/zip", std::move(**bytes));
}

}  // namespace internal

Result<std::unique_ptr<LambdaService>> LambdaService::start(LambdaServiceOptions options,
                                                            storage::AsyncStore& store,
                                                            engine::Engine& engine) {
  auto service = std::make_unique<internal::LambdaServiceImpl>(std::move(options), store, engine);
  if (auto opened = service->open(); !opened) return opened.error();
  return std::unique_ptr<LambdaService>(std::move(service));
}

}  // namespace nimbus::services::lambda
