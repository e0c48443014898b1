#include "nimbus/aws/client.h"

#include "nimbus/aws/router.h"
#include "nimbus/core/request_id.h"

namespace nimbus::aws {

boost::asio::awaitable<net::HttpResponse> Client::call(const RequestContext& on_behalf_of,
                                                       net::HttpRequest request) const {
  RequestContext context;
  context.request_id = new_request_id();
  context.region = on_behalf_of.region;
  context.account_id = on_behalf_of.account_id;
  context.caller = on_behalf_of.caller;
  context.caller.anonymous = false;
  context.received = router_.clock().now();
  co_return co_await router_.dispatch(context, request);
}

}  // namespace nimbus::aws
