// awsQuery: form bodies and query strings, percent-decoding included.

#include <cstdint>
#include <string>
#include <string_view>

#include "nimbus/aws/query_protocol.h"
#include "nimbus/core/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)nimbus::aws::decode_form(input);
  (void)nimbus::percent_decode(input, nimbus::PlusAsSpace::kYes);

  nimbus::net::HttpRequest request;
  request.method = "POST";
  const auto split = input.find('\n');
  request.target = "/?" + std::string(input.substr(0, split));
  request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  if (split != std::string_view::npos) request.body = std::string(input.substr(split + 1));
  auto decoded = nimbus::aws::decode_query_request(request);
  if (decoded) (void)decoded->get("Version");
  return 0;
}
