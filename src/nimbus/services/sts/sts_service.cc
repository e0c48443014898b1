#include "nimbus/services/sts/sts_service.h"

#include <fmt/format.h>

#include "nimbus/aws/query_protocol.h"
#include "nimbus/aws/xml_writer.h"

namespace nimbus::services::sts {
namespace {

constexpr std::string_view kVersion = "2011-06-15";
constexpr std::string_view kXmlns = "https://sts.amazonaws.com/doc/2011-06-15/";

class StsService final : public aws::Service {
 public:
  StsService() {
    descriptor_.name = "sts";
    descriptor_.signing_name = "sts";
    descriptor_.protocol = aws::Protocol::kQuery;
    // STS requests are small: the largest are AssumeRole* with session policies.
    descriptor_.max_request_bytes = 1024 * 1024;
  }

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }

  boost::asio::awaitable<net::HttpResponse> handle(const aws::RequestContext& context,
                                                   net::HttpRequest& request) override {
    co_return answer(context, request);
  }

 private:
  net::HttpResponse answer(const aws::RequestContext& context, const net::HttpRequest& request) {
    auto decoded = aws::decode_query_request(request);
    if (!decoded)
      return aws::error_response(descriptor_.protocol, decoded.error(), context.request_id);
    if (decoded->action == "GetCallerIdentity") return get_caller_identity(context);
    return aws::error_response(
        descriptor_.protocol,
        AwsError("InvalidAction",
                 fmt::format("Could not find operation {} for version {}", decoded->action,
                             decoded->version.empty() ? kVersion : decoded->version),
                 400),
        context.request_id);
  }

  net::HttpResponse get_caller_identity(const aws::RequestContext& context) const {
    aws::XmlWriter result;
    result.element("UserId", context.caller.user_id)
        .element("Account", context.account_id)
        .element("Arn", context.caller.arn);
    return aws::query_response("GetCallerIdentity", kXmlns, result.finish(), context.request_id);
  }

  aws::ServiceDescriptor descriptor_;
};

}  // namespace

std::unique_ptr<aws::Service> make_sts_service() { return std::make_unique<StsService>(); }

}  // namespace nimbus::services::sts
