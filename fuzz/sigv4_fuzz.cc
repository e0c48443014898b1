// SigV4: an arbitrary Authorization header, query string and body go through
// parsing, canonicalisation and verification.

#include <cstdint>
#include <string>
#include <string_view>

#include "nimbus/aws/sigv4.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Layout: authorization \n target \n body.
  const auto first = input.find('\n');
  const auto authorization = input.substr(0, first);
  std::string_view rest =
      first == std::string_view::npos ? std::string_view() : input.substr(first + 1);
  const auto second = rest.find('\n');
  const auto target = rest.substr(0, second);
  const auto body = second == std::string_view::npos ? std::string_view() : rest.substr(second + 1);

  nimbus::net::HttpRequest request;
  request.method = "POST";
  request.target = std::string(target.empty() ? "/" : target);
  request.headers.add("Host", "127.0.0.1:4566");
  request.headers.add("X-Amz-Date", "20261126T120000Z");
  request.headers.add("Authorization", std::string(authorization));
  request.body = std::string(body);

  (void)nimbus::aws::signing_service(request);
  auto found = nimbus::aws::find_signature(request);
  if (found && *found) {
    const auto now = nimbus::aws::parse_amz_date("20261126T120000Z").value();
    (void)nimbus::aws::verify_signature(request, **found, "secret", now);
  }
  return 0;
}
