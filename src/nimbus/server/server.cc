#include "nimbus/server/server.h"

#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/aws/client.h"
#include "nimbus/aws/credentials.h"
#include "nimbus/aws/router.h"
#include "nimbus/engine/engine.h"
#include "nimbus/env/clock.h"
#include "nimbus/env/data_dir.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/price_book.h"
#include "nimbus/net/http_server.h"
#include "nimbus/server/nimbus_endpoints.h"
#include "nimbus/services/apigateway/apigateway_service.h"
#include "nimbus/services/cloudwatch/cloudwatch_service.h"
#include "nimbus/services/dynamodb/dynamodb_service.h"
#include "nimbus/services/lambda/lambda_service.h"
#include "nimbus/services/logs/logs_service.h"
#include "nimbus/services/sts/sts_service.h"
#include "nimbus/storage/async_store.h"
#include "nimbus/storage/store.h"

namespace nimbus::server {
namespace {

// Members are declared in start order and so destroyed in reverse.
class ServerImpl final : public Server {
 public:
  std::string endpoint() const override { return endpoint_; }
  const std::filesystem::path& data_dir() const override { return data_dir_->path(); }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    spdlog::info("stopping: draining in-flight requests");
    // The HTTP threads keep running until the engine has stopped the
    // instances living on them.
    http_->drain();
    // API Gateway's HTTP_PROXY calls run on its own threads: wait for them.
    apigateway_->stop();
    logs_->stop();
    // Hands its last metered capacity to the journal, flushed below.
    dynamodb_->stop();
    // Services with state stop here, in reverse order of starting. Lambda
    // stops starting asynchronous invocations before the engine stops, and
    // lets go of its worker after (the engine completes what it waited for).
    lambda_->stop_dispatching();
    engine_->stop();
    lambda_->stop();
    http_->stop();
    // Metrics functions logged until they stopped.
    cloudwatch_->stop();
    journal_->flush();
    async_store_->stop();
    if (auto synced = store_->sync(); !synced) {
      spdlog::error("stopping: {}", synced.error().message());
    }
    spdlog::info("stopped");
  }

  ~ServerImpl() override {
    if (http_) stop();
  }

  Result<void> start(const ServerConfig& config) {
    auto auth = aws::parse_auth_mode(config.auth);
    if (!auth) return auth.error();
    if (!config.credentials_file.empty()) {
      auto loaded = aws::CredentialStore::load_file(config.credentials_file);
      if (!loaded) return loaded.error();
      credentials_ = std::move(*loaded);
    }
    if (*auth == aws::AuthMode::kSigV4 && credentials_.size() == 0) {
      return AwsError::validation(
          "--auth sigv4 needs --credentials-file naming at least one access key");
    }
    if (config.account_id.size() != 12 ||
        config.account_id.find_first_not_of("0123456789") != std::string::npos) {
      return AwsError::validation(
          fmt::format("account id '{}' must be 12 digits", config.account_id));
    }
    if (config.region.empty()) return AwsError::validation("region must not be empty");

    if (config.durability != "wal" && config.durability != "sync") {
      return AwsError::validation(
          fmt::format("unknown durability '{}' (wal or sync)", config.durability));
    }

    auto data_dir = env::DataDirectory::open(config.data_dir);
    if (!data_dir) return data_dir.error();
    data_dir_ = std::move(*data_dir);

    storage::StoreOptions store_options;
    store_options.path = data_dir_->path() / "store";
    store_options.durability = config.durability == "sync" ? storage::Durability::kSync
                                                           : storage::Durability::kProcessCrash;
    auto store = storage::Store::open(store_options);
    if (!store) return store.error();
    store_ = std::move(*store);
    async_store_ = std::make_unique<storage::AsyncStore>(*store_, storage::AsyncStoreOptions{});
    auto journal =
        ledger::Journal::open(*store_, {.metering = config.metering, .logs = config.function_logs});
    if (!journal) return journal.error();
    journal_ = std::move(*journal);

    if (config.isolation != "namespaces" && config.isolation != "process") {
      return AwsError::validation(
          fmt::format("unknown isolation '{}' (namespaces or process)", config.isolation));
    }
    engine::EngineOptions engine_options;
    engine_options.work_dir = data_dir_->path() / "engine";
    engine_options.runtimes_dir = config.runtimes_dir.empty()
                                      ? std::filesystem::path(NIMBUS_RUNTIMES_DIR)
                                      : config.runtimes_dir;
    engine_options.node_path = config.node_path;
    engine_options.init_path = NIMBUS_INIT_PATH;
    // Functions must not see the store or each other's code.
    engine_options.hidden_paths = {std::filesystem::absolute(data_dir_->path())};
    engine_options.python_path = config.python_path;
    engine_options.region = config.region;
    engine_options.account_id = config.account_id;
    engine_options.max_concurrency = config.max_concurrency;
    engine_options.memory_budget_mb = config.memory_budget_mb;
    engine_options.prepared_sandboxes = config.prepared_sandboxes;
    engine_options.cgroups = config.cgroups;
    engine_options.idle_timeout = config.function_idle_timeout;
    engine_options.isolation = config.isolation == "process" ? engine::Isolation::kProcess
                                                             : engine::Isolation::kNamespaces;
    if (const auto* key = credentials_.first(); key != nullptr) {
      engine_options.access_key_id = key->access_key_id;
      engine_options.secret_access_key = key->secret_access_key;
    }
    // Functions call back into Nimbus: the configured address; with port 0
    // (tests) the real one is set once the listener is bound.
    engine_options.endpoint_url = fmt::format("http://{}:{}", config.host, config.port);
    auto engine = engine::Engine::start(engine_options, *journal_);
    if (!engine) return engine.error();
    engine_ = std::move(*engine);

    // The router exists before the services so that services can call one
    // another through the in-process client; services join it below.
    router_ = std::make_unique<aws::Router>(
        aws::RouterOptions{*auth, config.region, config.account_id, config.max_body_bytes},
        credentials_, clock_);
    client_ = std::make_unique<aws::Client>(*router_);

    services::lambda::LambdaServiceOptions lambda_options;
    lambda_options.code_dir = data_dir_->path() / "lambda" / "code";
    lambda_options.region = config.region;
    lambda_options.account_id = config.account_id;
    lambda_options.account_concurrency = config.max_concurrency;
    lambda_options.async_retry_delay = config.lambda_async_retry_delay;
    lambda_options.code_storage_bytes = config.lambda_code_storage_bytes;
    auto lambda = services::lambda::LambdaService::start(lambda_options, *async_store_, *engine_);
    if (!lambda) return lambda.error();
    lambda_ = std::move(*lambda);

    sts_ = services::sts::make_sts_service();

    services::apigateway::ApiGatewayServiceOptions apigateway_options;
    apigateway_options.region = config.region;
    apigateway_options.account_id = config.account_id;
    apigateway_options.account_rate_limit = config.apigateway_rate_limit;
    apigateway_options.account_burst_limit = config.apigateway_burst_limit;
    auto apigateway = services::apigateway::ApiGatewayService::start(
        apigateway_options, *async_store_, *client_, *journal_);
    if (!apigateway) return apigateway.error();
    apigateway_ = std::move(*apigateway);

    services::logs::LogsServiceOptions logs_options;
    logs_options.region = config.region;
    logs_options.account_id = config.account_id;
    auto logs = services::logs::LogsService::start(logs_options, *async_store_, *journal_);
    if (!logs) return logs.error();
    logs_ = std::move(*logs);

    auto cloudwatch = services::cloudwatch::CloudWatchService::start(*async_store_, *journal_);
    if (!cloudwatch) return cloudwatch.error();
    cloudwatch_ = std::move(*cloudwatch);

    services::dynamodb::DynamoDbServiceOptions dynamodb_options;
    dynamodb_options.region = config.region;
    dynamodb_options.account_id = config.account_id;
    dynamodb_options.expiry_interval = config.dynamodb_ttl_interval;
    auto dynamodb =
        services::dynamodb::DynamoDbService::start(dynamodb_options, *async_store_, *journal_);
    if (!dynamodb) return dynamodb.error();
    dynamodb_ = std::move(*dynamodb);

    for (aws::Service* service :
         {static_cast<aws::Service*>(sts_.get()), static_cast<aws::Service*>(lambda_.get()),
          static_cast<aws::Service*>(apigateway_.get()), static_cast<aws::Service*>(logs_.get()),
          static_cast<aws::Service*>(cloudwatch_.get()),
          static_cast<aws::Service*>(dynamodb_.get())}) {
      if (auto added = router_->add(*service); !added) return added.error();
    }
    endpoints_ = std::make_unique<NimbusEndpoints>(*router_, clock_);
    endpoints_->set_engine(engine_.get());
    endpoints_->add_metrics([dynamodb = dynamodb_.get()](ledger::PrometheusWriter& out) {
      dynamodb->write_metrics(out);
    });
    auto price_book = prepare_price_book(config);
    if (!price_book) return price_book.error();
    endpoints_->set_ledger(async_store_.get(), journal_.get(), *price_book);

    net::HttpServerOptions http_options;
    http_options.host = config.host;
    http_options.port = config.port;
    http_options.io_threads = config.io_threads;
    http_options.max_header_bytes = config.max_header_bytes;
    http_options.idle_timeout = config.idle_timeout;
    http_options.drain_timeout = config.shutdown_timeout;
    auto http = net::HttpServer::start(http_options, *endpoints_);
    if (!http) return http.error();
    http_ = std::move(*http);

    const bool ipv6 = http_->host().find(':') != std::string::npos;
    endpoint_ = ipv6 ? fmt::format("http://[{}]:{}", http_->host(), http_->port())
                     : fmt::format("http://{}:{}", http_->host(), http_->port());
    engine_->set_endpoint_url(endpoint_);
    // Instances live on the HTTP threads: an invocation and its answer
    // cross no thread (the engine's own keeps the blocking work).
    engine_->set_event_loops(http_->event_loops());
    lambda_->set_endpoint_url(endpoint_);
    apigateway_->set_endpoint_url(endpoint_);
    endpoints_->set_http_server(
        http_.get(), {endpoint_, data_dir_->path(), http_->io_threads(), config.durability});
    return ok();
  }

 private:
  // The price book's path; the shipped one is written there when missing,
  // for users to edit. A book that does not parse is reported now and by
  // every cost report, but does not stop the server: it is only prices.
  Result<std::filesystem::path> prepare_price_book(const ServerConfig& config) {
    std::filesystem::path path =
        config.price_book.empty() ? data_dir_->path() / "price-book.yaml" : config.price_book;
    std::error_code ec;
    if (config.price_book.empty() && !std::filesystem::exists(path, ec)) {
      std::ofstream out(path);
      out << ledger::PriceBook::default_text();
      if (!out) return AwsError::internal(fmt::format("cannot write {}", path.string()));
    }
    if (auto book = ledger::PriceBook::load(path); !book) {
      spdlog::warn("cost reports will fail until this is fixed: {}", book.error().message());
    }
    return path;
  }

  env::SystemClock clock_;
  aws::CredentialStore credentials_;
  std::unique_ptr<env::DataDirectory> data_dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::AsyncStore> async_store_;
  std::unique_ptr<ledger::Journal> journal_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<aws::Router> router_;
  std::unique_ptr<aws::Client> client_;
  std::unique_ptr<services::lambda::LambdaService> lambda_;
  std::unique_ptr<aws::Service> sts_;
  std::unique_ptr<services::apigateway::ApiGatewayService> apigateway_;
  std::unique_ptr<services::logs::LogsService> logs_;
  std::unique_ptr<services::dynamodb::DynamoDbService> dynamodb_;
  std::unique_ptr<services::cloudwatch::CloudWatchService> cloudwatch_;
  std::unique_ptr<NimbusEndpoints> endpoints_;
  std::unique_ptr<net::HttpServer> http_;
  std::string endpoint_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const ServerConfig& config) {
  auto server = std::make_unique<ServerImpl>();
  if (auto started = server->start(config); !started) return started.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace nimbus::server
