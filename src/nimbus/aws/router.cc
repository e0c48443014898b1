#include "nimbus/aws/router.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/aws/sigv4.h"
#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"

namespace nimbus::aws {
namespace {

std::string_view target_prefix(std::string_view target) {
  const auto dot = target.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : target.substr(0, dot);
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || prefix.ends_with('/') || path[prefix.size()] == '/';
}

// IAM user ids are "AIDA" plus 17 upper-case characters; derive a stable one.
std::string user_id_for(std::string_view access_key_id) {
  std::string id = "AIDA" + sha256_hex(access_key_id).substr(0, 17);
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return id;
}

}  // namespace

Result<AuthMode> parse_auth_mode(std::string_view name) {
  if (name == "off") return AuthMode::kOff;
  if (name == "sigv4") return AuthMode::kSigV4;
  return AwsError::validation(fmt::format("unknown auth mode '{}' (off or sigv4)", name));
}

std::string_view to_string(AuthMode mode) { return mode == AuthMode::kOff ? "off" : "sigv4"; }

std::string_view to_string(ServiceState state) {
  switch (state) {
    case ServiceState::kStarting:
      return "starting";
    case ServiceState::kRunning:
      return "running";
    case ServiceState::kStopping:
      return "stopping";
    case ServiceState::kStopped:
      return "stopped";
  }
  return "unknown";
}

Router::Router(RouterOptions options, const CredentialStore& credentials, const env::Clock& clock)
    : options_(std::move(options)), credentials_(credentials), clock_(clock) {}

Result<void> Router::add(Service& service) {
  const auto& descriptor = service.descriptor();
  for (const auto& prefix : descriptor.target_prefixes) {
    if (by_target_prefix_.contains(prefix)) {
      return AwsError::internal(fmt::format("X-Amz-Target prefix {} claimed twice", prefix));
    }
  }
  for (const auto& prefix : descriptor.path_prefixes) {
    for (const auto& [existing, owner] : by_path_prefix_) {
      if (existing == prefix) {
        return AwsError::internal(fmt::format("path prefix {} claimed twice", prefix));
      }
    }
  }
  for (const auto& label : descriptor.host_labels) {
    if (by_host_label_.contains(label)) {
      return AwsError::internal(fmt::format("host label {} claimed twice", label));
    }
  }
  services_.push_back(&service);
  for (const auto& label : descriptor.host_labels) by_host_label_[label] = &service;
  for (const auto& prefix : descriptor.public_path_prefixes) {
    by_public_path_prefix_.emplace_back(prefix, &service);
  }
  for (const auto& prefix : descriptor.target_prefixes) by_target_prefix_[prefix] = &service;
  by_signing_name_[descriptor.signing_name].push_back(&service);
  for (const auto& prefix : descriptor.path_prefixes)
    by_path_prefix_.emplace_back(prefix, &service);
  std::stable_sort(by_path_prefix_.begin(), by_path_prefix_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return ok();
}

Service* Router::route_public(const net::HttpRequest& head) const {
  if (!by_host_label_.empty()) {
    if (const auto host = head.headers.get("Host")) {
      // "<id>.<label>.<region>...": the second label names the service.
      const auto first_dot = host->find('.');
      if (first_dot != std::string_view::npos) {
        const auto rest = host->substr(first_dot + 1);
        const auto label = rest.substr(0, rest.find('.'));
        const auto it = by_host_label_.find(std::string(label));
        if (it != by_host_label_.end()) return it->second;
      }
    }
  }
  const auto path = head.path();
  for (const auto& [prefix, service] : by_public_path_prefix_) {
    if (path_has_prefix(path, prefix)) return service;
  }
  return nullptr;
}

Service* Router::route(const net::HttpRequest& head) const {
  if (Service* service = route_public(head)) return service;
  if (const auto target = head.headers.get("X-Amz-Target")) {
    const auto it = by_target_prefix_.find(std::string(target_prefix(*target)));
    // A target no service claims is an unknown operation, whatever the path says.
    return it == by_target_prefix_.end() ? nullptr : it->second;
  }
  const auto path = head.path();
  if (const auto signing = signing_service(head)) {
    const auto it = by_signing_name_.find(*signing);
    if (it != by_signing_name_.end()) {
      if (it->second.size() == 1) return it->second.front();
      for (Service* candidate : it->second) {
        for (const auto& prefix : candidate->descriptor().path_prefixes) {
          if (path_has_prefix(path, prefix)) return candidate;
        }
      }
    }
  }
  for (const auto& [prefix, service] : by_path_prefix_) {
    if (path_has_prefix(path, prefix)) return service;
  }
  return nullptr;
}

Protocol Router::protocol_for(const net::HttpRequest& head, const Service* service) const {
  if (service != nullptr) return service->descriptor().protocol;
  if (head.headers.contains("X-Amz-Target")) return Protocol::kJson11;
  const auto content_type = head.headers.get("Content-Type").value_or("");
  if (starts_with_icase(content_type, "application/x-www-form-urlencoded") ||
      head.query().find("Action=") != std::string_view::npos) {
    return Protocol::kQuery;
  }
  return Protocol::kJson11;
}

std::size_t Router::body_limit(const net::HttpRequest& head) const {
  if (const Service* service = route(head)) {
    const auto limit = service->body_limit(head);
    if (limit > 0) return std::min(limit, options_.max_body_bytes);
  }
  return options_.max_body_bytes;
}

net::HttpResponse Router::reject(const net::HttpRequest& head, net::RequestRejection why,
                                 std::size_t limit) const {
  const auto request_id = new_request_id();
  const AwsError error = [&] {
    switch (why) {
      case net::RequestRejection::kBodyTooLarge:
        if (const Service* service = route(head)) return service->body_too_large(head, limit);
        return AwsError::request_entity_too_large(limit);
      case net::RequestRejection::kHeadersTooLarge:
        return AwsError("RequestHeaderFieldsTooLarge",
                        fmt::format("Request headers must be smaller than {} bytes.", limit), 431);
      case net::RequestRejection::kMalformed:
        break;
    }
    return AwsError("BadRequest", "The request is not valid HTTP/1.1.", 400);
  }();
  spdlog::info("refused {} {}: {} [{}]", head.method, head.path(), error.code(), request_id);
  return error_response(protocol_for(head, route(head)), error, request_id);
}

Caller Router::caller_for(std::string_view access_key_id) const {
  if (const AccessKey* key = credentials_.find(access_key_id)) {
    return {key->access_key_id,
            fmt::format("arn:aws:iam::{}:user/{}", options_.account_id, key->user_name),
            user_id_for(key->access_key_id)};
  }
  // Unknown keys with auth off act as the account's root, as a local AWS would.
  return {std::string(access_key_id), fmt::format("arn:aws:iam::{}:root", options_.account_id),
          options_.account_id};
}

Result<Caller> Router::authenticate(const net::HttpRequest& request,
                                    const std::optional<SigV4Signature>& signature,
                                    RequestContext& context) const {
  if (options_.auth == AuthMode::kOff) {
    if (signature) {
      if (!signature->credential.region.empty()) context.region = signature->credential.region;
      return caller_for(signature->credential.access_key_id);
    }
    return caller_for("");
  }
  if (!signature) return AwsError::missing_authentication_token();
  const AccessKey* key = credentials_.find(signature->credential.access_key_id);
  if (key == nullptr) return AwsError::unrecognized_client();
  if (auto verified = verify_signature(request, *signature, key->secret_access_key, clock_.now());
      !verified) {
    return verified.error();
  }
  context.region = signature->credential.region;
  return caller_for(key->access_key_id);
}

boost::asio::awaitable<net::HttpResponse> Router::handle_safely(Service& service,
                                                                const RequestContext& context,
                                                                net::HttpRequest& request,
                                                                Protocol protocol) const {
  net::HttpResponse response;
  try {
    response = co_await service.handle(context, request);
  } catch (const std::exception& e) {
    spdlog::error("{} {} {} threw: {} [{}]", service.descriptor().name, request.method,
                  request.path(), e.what(), context.request_id);
    response = error_response(protocol, AwsError::internal("An internal error occurred."),
                              context.request_id);
  }
  const auto header = request_id_header(protocol);
  if (!response.headers.contains(header)) {
    response.headers.add(std::string(header), context.request_id);
  }
  co_return response;
}

boost::asio::awaitable<net::HttpResponse> Router::dispatch(const RequestContext& context,
                                                           net::HttpRequest& request) const {
  Service* service = route(request);
  const Protocol protocol = protocol_for(request, service);
  if (service == nullptr) {
    co_return error_response(protocol,
                             AwsError("UnknownOperationException",
                                      fmt::format("No service at this endpoint answers {} {}",
                                                  request.method, request.path()),
                                      404),
                             context.request_id);
  }
  co_return co_await handle_safely(*service, context, request, protocol);
}

boost::asio::awaitable<net::HttpResponse> Router::handle(net::HttpRequest request) {
  const auto started = clock_.steady_now();
  RequestContext context;
  context.request_id = new_request_id();
  context.region = options_.region;
  context.account_id = options_.account_id;
  context.received = clock_.now();

  // A signature that cannot even be parsed is refused whatever the auth
  // mode: with auth off only the secret goes unchecked.
  auto found = find_signature(request);
  Service* service = route(request);
  const bool public_endpoint = service != nullptr && route_public(request) == service;
  // On a public endpoint the Authorization header may be the application's
  // own (a bearer token for an API's authorizer): what is not a SigV4
  // signature there leaves the request unsigned.
  if (public_endpoint && found && !*found) found.reset();
  net::HttpResponse response;
  const Protocol protocol = protocol_for(request, service);
  if (found && !*found) {
    response = error_response(protocol, found->error(), context.request_id);
  } else if (!found && options_.auth == AuthMode::kSigV4 && public_endpoint) {
    // Public endpoints take unsigned requests; the service decides.
    context.caller.anonymous = true;
    response = co_await handle_safely(*service, context, request, protocol);
  } else if (!found && options_.auth == AuthMode::kSigV4) {
    // Unsigned requests learn nothing, not even whether the operation exists.
    response =
        error_response(protocol, AwsError::missing_authentication_token(), context.request_id);
  } else if (service == nullptr) {
    const auto target = request.headers.get("X-Amz-Target");
    response =
        error_response(protocol,
                       target ? AwsError::unknown_operation(*target)
                              : AwsError("UnknownOperationException",
                                         fmt::format("No service at this endpoint answers {} {}",
                                                     request.method, request.path()),
                                         404),
                       context.request_id);
  } else if (auto caller = authenticate(
                 request, found ? std::optional<SigV4Signature>(std::move(**found)) : std::nullopt,
                 context);
             !caller) {
    response = error_response(service->descriptor().protocol, caller.error(), context.request_id);
  } else {
    context.caller = std::move(*caller);
    response = co_await handle_safely(*service, context, request, protocol);
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    const auto elapsed = std::chrono::duration<double, std::milli>(clock_.steady_now() - started);
    spdlog::debug("{} {} {} -> {} in {:.3f} ms [{}]", service ? service->descriptor().name : "-",
                  request.method, request.target, response.status, elapsed.count(),
                  context.request_id);
  }
  co_return response;
}

}  // namespace nimbus::aws
