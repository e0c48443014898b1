#pragma once

// The Lambda service's implementation, shared by its source files:
// lambda_service.cc (routing, Invoke, the engine's view of functions),
// control_plane.cc (the operations that read and change functions) and
// function_urls.cc (function URLs and their invocation).

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/aws/rest_protocol.h"
#include "nimbus/engine/engine.h"
#include "nimbus/services/lambda/internal/async_invoker.h"
#include "nimbus/services/lambda/internal/catalog.h"
#include "nimbus/services/lambda/internal/code_store.h"
#include "nimbus/services/lambda/internal/invocation_stream.h"
#include "nimbus/services/lambda/internal/model.h"
#include "nimbus/services/lambda/lambda_service.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::services::lambda::internal {

// One request as an operation sees it.
using Call = aws::RestCall;

using Reply = Result<net::HttpResponse>;

class LambdaServiceImpl final : public LambdaService {
 public:
  LambdaServiceImpl(LambdaServiceOptions options, storage::AsyncStore& store,
                    engine::Engine& engine);
  Result<void> open();

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }
  boost::asio::awaitable<net::HttpResponse> handle(const aws::RequestContext& context,
                                                   net::HttpRequest& request) override;
  std::size_t body_limit(const net::HttpRequest& head) const override;
  AwsError body_too_large(const net::HttpRequest& head, std::size_t limit) const override;
  void set_endpoint_url(std::string url) override;
  void stop_dispatching() override;
  void stop() override;

 private:
  boost::asio::awaitable<Reply> dispatch(Call& call);

  // lambda_service.cc
  boost::asio::awaitable<Reply> invoke(Call& call);
  boost::asio::awaitable<Reply> get_code_zip(Call& call);
  boost::asio::awaitable<Reply> invoke_streaming(std::string key, std::string payload,
                                                 engine::InvokeOptions options, std::string version,
                                                 bool tail);
  boost::asio::awaitable<Result<engine::InvokeResult>> run_async(const AsyncInvocation& invocation);
  std::optional<AsyncPolicy> async_policy(const AsyncInvocation& invocation) const;
  // The version an invocation of `qualifier` runs, alias weights applied.
  Result<std::string> pick_version(const FunctionRecord& record, const FunctionRef& ref) const;
  void sync_engine(const FunctionRecord* before, const FunctionRecord* after);

  // control_plane.cc
  boost::asio::awaitable<Reply> create_function(Call& call);
  boost::asio::awaitable<Reply> get_function(Call& call);
  boost::asio::awaitable<Reply> get_function_configuration(Call& call);
  boost::asio::awaitable<Reply> list_functions(Call& call);
  boost::asio::awaitable<Reply> update_function_code(Call& call);
  boost::asio::awaitable<Reply> update_function_configuration(Call& call);
  boost::asio::awaitable<Reply> delete_function(Call& call);
  boost::asio::awaitable<Reply> publish_version(Call& call);
  boost::asio::awaitable<Reply> list_versions(Call& call);
  boost::asio::awaitable<Reply> create_alias(Call& call);
  boost::asio::awaitable<Reply> get_alias(Call& call);
  boost::asio::awaitable<Reply> update_alias(Call& call);
  boost::asio::awaitable<Reply> delete_alias(Call& call);
  boost::asio::awaitable<Reply> list_aliases(Call& call);
  boost::asio::awaitable<Reply> put_event_invoke_config(Call& call, bool merge);
  boost::asio::awaitable<Reply> get_event_invoke_config(Call& call);
  boost::asio::awaitable<Reply> delete_event_invoke_config(Call& call);
  boost::asio::awaitable<Reply> list_event_invoke_configs(Call& call);
  boost::asio::awaitable<Reply> put_concurrency(Call& call);
  boost::asio::awaitable<Reply> get_concurrency(Call& call);
  boost::asio::awaitable<Reply> delete_concurrency(Call& call);
  boost::asio::awaitable<Reply> put_provisioned(Call& call);
  boost::asio::awaitable<Reply> get_provisioned(Call& call);
  boost::asio::awaitable<Reply> delete_provisioned(Call& call);
  boost::asio::awaitable<Reply> list_provisioned(Call& call);
  boost::asio::awaitable<Reply> get_account_settings(Call& call);
  boost::asio::awaitable<Reply> add_permission(Call& call);
  boost::asio::awaitable<Reply> get_policy(Call& call);
  boost::asio::awaitable<Reply> remove_permission(Call& call);
  boost::asio::awaitable<Reply> tag_resource(Call& call);
  boost::asio::awaitable<Reply> untag_resource(Call& call);
  boost::asio::awaitable<Reply> list_tags(Call& call);

  // function_urls.cc
  boost::asio::awaitable<Reply> create_url_config(Call& call);
  boost::asio::awaitable<Reply> get_url_config(Call& call);
  boost::asio::awaitable<Reply> update_url_config(Call& call);
  boost::asio::awaitable<Reply> delete_url_config(Call& call);
  boost::asio::awaitable<Reply> list_url_configs(Call& call);
  // A request to a function URL, by host or by /_lambda/url/<id>/ path.
  boost::asio::awaitable<net::HttpResponse> stream_url(std::string key, std::string payload,
                                                       engine::InvokeOptions options);
  boost::asio::awaitable<net::HttpResponse> invoke_url(const aws::RequestContext& context,
                                                       net::HttpRequest& request,
                                                       std::string url_id, std::string path);
  // The URL id a request addresses, and the path after it; nullopt if none.
  std::optional<std::pair<std::string, std::string>> url_target(
      const net::HttpRequest& request) const;
  std::string function_url(const std::string& url_id) const;

  // Runs `mutation` on the function's record on a storage thread, serialised
  // with every other change (Catalog::mutate). Takes a reference and a
  // capture-by-reference lambda: GCC 12 destroys non-trivial argument
  // temporaries of a co_await expression twice.
  template <class Mutation>
  boost::asio::awaitable<Result<void>> mutate(const std::string& name, Mutation mutation) {
    co_return co_await store_.run([this, &name, &mutation](storage::Store&) -> Result<void> {
      return catalog_->mutate(name, mutation);
    });
  }
  // Changes an existing function's record: `edit(record)` changes a copy,
  // which is stored if it returns ok; ResourceNotFoundException if the
  // function does not exist.
  template <class Edit>
  boost::asio::awaitable<Result<void>> update(const std::string& name, Edit edit) {
    auto mutation = [this, &name,
                     &edit](const FunctionRecord* current) -> Result<Catalog::Outcome> {
      if (current == nullptr) return function_not_found(scope_, {name, ""});
      FunctionRecord record = *current;
      if (auto edited = edit(record); !edited) return edited.error();
      return Catalog::Outcome(std::move(record));
    };
    co_return co_await mutate(name, mutation);
  }
  // The function a request names, with the qualifier merged from ?Qualifier=.
  Result<FunctionRef> function_ref(const Call& call, std::size_t max_length = 170) const;
  Result<std::shared_ptr<const FunctionRecord>> find(const FunctionRef& ref) const;
  // A configuration as GetFunctionConfiguration returns it for `ref`.
  boost::json::object configuration_for(const FunctionRecord& record, const FunctionRef& ref,
                                        const std::string& version) const;
  std::string code_location(const boost::json::object& configuration) const;
  // CodeStorageExceededException when a package of this size would not fit.
  Result<void> check_code_storage(std::size_t zip_bytes) const;
  std::string code_token(std::string_view hex, std::int64_t expires) const;

  LambdaServiceOptions options_;
  Scope scope_;
  storage::AsyncStore& store_;
  engine::Engine& engine_;
  aws::ServiceDescriptor descriptor_;
  aws::RestRoutes routes_;
  CodeStore code_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<AsyncInvoker> async_;
  mutable std::mutex mutex_;  // guards endpoint_url_ and engine_fingerprints_
  std::string endpoint_url_;
  std::string code_url_secret_;  // signs Code.Location URLs; new at every start
  std::map<std::string, std::string> engine_fingerprints_;  // engine key -> what was put
  // Function URL id -> (function name, qualifier), kept by sync_engine.
  std::map<std::string, std::pair<std::string, std::string>> url_index_;
};

// Helpers shared by the service's files.
Result<std::optional<std::string>> get_string(const boost::json::object& body,
                                              std::string_view key);
Result<const boost::json::object*> get_object(const boost::json::object& body,
                                              std::string_view key);
AwsError missing(std::string_view field);
AwsError wrong_type(std::string_view key, std::string_view type);
Reply json_reply(int status, const boost::json::value& body);
Reply empty_reply(int status);
AwsError precondition_failed();

}  // namespace nimbus::services::lambda::internal
