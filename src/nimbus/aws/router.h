#pragma once

// The router: recognises which service a request is for, authenticates it
// and hands it over. It recognises a service, in this order, by the
// X-Amz-Target prefix, by the service in the SigV4 credential scope, and by
// the path — as the AWS SDKs address services — and knows none by name.
// Services are added by the composition root before serving starts; after
// that the router is immutable and shared by every I/O thread.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "nimbus/aws/credentials.h"
#include "nimbus/aws/service.h"
#include "nimbus/aws/sigv4.h"
#include "nimbus/env/clock.h"
#include "nimbus/net/http_handler.h"

namespace nimbus::aws {

enum class AuthMode { kOff, kSigV4 };
Result<AuthMode> parse_auth_mode(std::string_view name);
std::string_view to_string(AuthMode mode);

struct RouterOptions {
  AuthMode auth = AuthMode::kOff;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::size_t max_body_bytes = 72 * 1024 * 1024;
};

class Router final : public net::HttpHandler {
 public:
  Router(RouterOptions options, const CredentialStore& credentials, const env::Clock& clock);

  // Fails if the service claims a target prefix or path prefix another
  // service already has.
  Result<void> add(Service& service);
  const std::vector<Service*>& services() const { return services_; }
  const RouterOptions& options() const { return options_; }
  const env::Clock& clock() const { return clock_; }

  // The service a request is for, from its head alone; nullptr if none.
  Service* route(const net::HttpRequest& head) const;
  // The service whose public endpoint (host or path) the request is for.
  Service* route_public(const net::HttpRequest& head) const;

  // A request one service makes of another on a caller's behalf (see
  // client.h): routed like any other, not authenticated again. Unknown
  // paths get the routing error.
  boost::asio::awaitable<net::HttpResponse> dispatch(const RequestContext& context,
                                                     net::HttpRequest& request) const;

  std::size_t body_limit(const net::HttpRequest& head) const override;
  boost::asio::awaitable<net::HttpResponse> handle(net::HttpRequest request) override;
  net::HttpResponse reject(const net::HttpRequest& head, net::RequestRejection why,
                           std::size_t limit) const override;

 private:
  // Who signed the request, or the AWS error that refuses it.
  Result<Caller> authenticate(const net::HttpRequest& request,
                              const std::optional<SigV4Signature>& signature,
                              RequestContext& context) const;
  Caller caller_for(std::string_view access_key_id) const;
  boost::asio::awaitable<net::HttpResponse> handle_safely(Service& service,
                                                          const RequestContext& context,
                                                          net::HttpRequest& request,
                                                          Protocol protocol) const;
  // The routed service's protocol, or a guess from the request's shape.
  Protocol protocol_for(const net::HttpRequest& head, const Service* service) const;

  RouterOptions options_;
  const CredentialStore& credentials_;
  const env::Clock& clock_;
  std::vector<Service*> services_;
  std::unordered_map<std::string, Service*> by_target_prefix_;
  std::unordered_map<std::string, std::vector<Service*>> by_signing_name_;
  std::vector<std::pair<std::string, Service*>> by_path_prefix_;  // longest first
  std::unordered_map<std::string, Service*> by_host_label_;
  std::vector<std::pair<std::string, Service*>> by_public_path_prefix_;
};

}  // namespace nimbus::aws
