#pragma once

// Nimbus's own endpoints under /_nimbus/ (health, cost, metrics), in front
// of the AWS router, which gets every other path.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "nimbus/aws/router.h"
#include "nimbus/engine/engine.h"
#include "nimbus/net/http_handler.h"
#include "nimbus/net/http_server.h"

namespace nimbus::storage {
class AsyncStore;
}
namespace nimbus::ledger {
class Journal;
class PrometheusWriter;
}  // namespace nimbus::ledger

namespace nimbus::server {

struct HealthFacts {
  std::string endpoint;
  std::filesystem::path data_dir;
  std::size_t io_threads = 0;
  std::string durability;
};

class NimbusEndpoints final : public net::HttpHandler {
 public:
  NimbusEndpoints(aws::Router& router, const env::Clock& clock);

  // Set once the HTTP server exists, before it serves.
  void set_http_server(const net::HttpServer* server, HealthFacts facts);
  void set_engine(const engine::Engine* engine) { engine_ = engine; }
  // A service's own families for /_nimbus/metrics. Set before serving.
  void add_metrics(std::function<void(ledger::PrometheusWriter&)> source) {
    metrics_sources_.push_back(std::move(source));
  }
  // Where /_nimbus/cost reads usage counters and prices, and
  // /_nimbus/metrics the live counters of usage records. Reports flush the
  // journal first, so they include the work done just before.
  void set_ledger(storage::AsyncStore* store, ledger::Journal* journal,
                  std::filesystem::path price_book) {
    store_ = store;
    journal_ = journal;
    price_book_ = std::move(price_book);
  }

  std::size_t body_limit(const net::HttpRequest& head) const override;
  boost::asio::awaitable<net::HttpResponse> handle(net::HttpRequest request) override;
  net::HttpResponse reject(const net::HttpRequest& head, net::RequestRejection why,
                           std::size_t limit) const override;

  net::HttpResponse health() const;
  boost::asio::awaitable<net::HttpResponse> cost(const net::HttpRequest& request);
  // A function's or API's minute aggregates, by period (nimbus stats).
  boost::asio::awaitable<net::HttpResponse> stats(const net::HttpRequest& request);
  net::HttpResponse metrics() const;

 private:
  aws::Router& router_;
  const env::Clock& clock_;
  std::chrono::steady_clock::time_point started_;
  const net::HttpServer* http_server_ = nullptr;
  const engine::Engine* engine_ = nullptr;
  storage::AsyncStore* store_ = nullptr;
  ledger::Journal* journal_ = nullptr;
  std::filesystem::path price_book_;
  std::vector<std::function<void(ledger::PrometheusWriter&)>> metrics_sources_;
  HealthFacts facts_;
};

}  // namespace nimbus::server
