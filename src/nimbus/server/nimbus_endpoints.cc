#include "nimbus/server/nimbus_endpoints.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::server {
namespace {

constexpr std::string_view kPrefix = "/_nimbus/";
constexpr std::size_t kOwnBodyLimit = 64 * 1024;

net::HttpResponse json(int status, const boost::json::object& body) {
  auto response =
      net::HttpResponse::with_body(status, "application/json", boost::json::serialize(body));
  response.headers.add("Cache-Control", "no-store");
  return response;
}

}  // namespace

NimbusEndpoints::NimbusEndpoints(aws::Router& router, const env::Clock& clock)
    : router_(router), clock_(clock), started_(clock.steady_now()) {}

void NimbusEndpoints::set_http_server(const net::HttpServer* server, HealthFacts facts) {
  http_server_ = server;
  facts_ = std::move(facts);
}

std::size_t NimbusEndpoints::body_limit(const net::HttpRequest& head) const {
  if (head.path().starts_with(kPrefix)) return kOwnBodyLimit;
  return router_.body_limit(head);
}

net::HttpResponse NimbusEndpoints::reject(const net::HttpRequest& head, net::RequestRejection why,
                                          std::size_t limit) const {
  return router_.reject(head, why, limit);
}

boost::asio::awaitable<net::HttpResponse> NimbusEndpoints::handle(net::HttpRequest request) {
  const auto path = request.path();
  if (!path.starts_with(kPrefix)) co_return co_await router_.handle(std::move(request));
  if (path == "/_nimbus/health") {
    if (request.method != "GET" && request.method != "HEAD") {
      auto response = json(405, {{"message", "Method Not Allowed"}});
      response.headers.add("Allow", "GET, HEAD");
      co_return response;
    }
    co_return health();
  }
  co_return json(404, {{"message", "Not Found"}});
}

net::HttpResponse NimbusEndpoints::health() const {
  boost::json::object services;
  for (const auto* service : router_.services()) {
    services[service->descriptor().name] = aws::to_string(service->state());
  }
  boost::json::object body;
  body["status"] = "running";
  body["version"] = NIMBUS_VERSION;
  body["uptime_seconds"] = std::chrono::duration<double>(clock_.steady_now() - started_).count();
  body["endpoint"] = facts_.endpoint;
  body["data_dir"] = facts_.data_dir.string();
  body["region"] = router_.options().region;
  body["account_id"] = router_.options().account_id;
  body["auth"] = aws::to_string(router_.options().auth);
  body["durability"] = facts_.durability;
  body["services"] = std::move(services);
  if (http_server_ != nullptr) {
    const auto stats = http_server_->stats();
    body["http"] = {{"io_threads", facts_.io_threads},
                    {"connections_accepted", stats.connections_accepted},
                    {"open_connections", stats.open_connections},
                    {"requests", stats.requests},
                    {"rejected", stats.rejected}};
  }
  if (engine_ != nullptr) {
    const auto stats = engine_->stats();
    body["functions"] = {{"isolation", stats.isolation},
                         {"cgroups", stats.cgroups},
                         {"functions", stats.functions},
                         {"instances", stats.instances},
                         {"starting", stats.starting},
                         {"idle", stats.idle},
                         {"busy", stats.busy},
                         {"pending", stats.pending},
                         {"memory_reserved_mb", stats.memory_reserved_mb},
                         {"invocations", stats.invocations},
                         {"cold_starts", stats.cold_starts},
                         {"throttles", stats.throttles},
                         {"instance_exits", stats.instance_exits}};
  }
  return json(200, body);
}

}  // namespace nimbus::server
