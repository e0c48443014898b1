// Lambda proxy payloads and event streams: what a function returns (outside
// input: user code) goes through both payload formats' response mappings; an
// arbitrary request line, headers and body through both event builders; and
// the bytes through the event-stream decoder, whose encoding must round-trip.
// The JSON outline the response mapping relies on must agree with json::parse.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "nimbus/aws/event_stream.h"
#include "nimbus/aws/lambda_proxy.h"
#include "nimbus/core/json_outline.h"
#include "nimbus/core/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The response mapping trusts the outline to call JSON what json::parse
  // does, and to find a top-level statusCode where the document has one.
  {
    boost::system::error_code parse_error;
    const auto document = boost::json::parse(input, parse_error);
    const auto outline = nimbus::outline_json(input, "statusCode");
    if (outline.has_value() == static_cast<bool>(parse_error)) __builtin_trap();
    if (outline && (outline->kind != document.kind() ||
                    outline->has_member !=
                        (document.is_object() && document.as_object().contains("statusCode")))) {
      __builtin_trap();
    }
  }
  (void)nimbus::aws::proxy_response_v2(input);
  (void)nimbus::aws::proxy_response_v1(input);

  // Layout: target \n header lines "Name: value" \n\n body.
  nimbus::net::HttpRequest request;
  request.method = "POST";
  const auto first = input.find('\n');
  request.target = std::string(input.substr(0, first));
  if (first != std::string_view::npos) {
    auto rest = input.substr(first + 1);
    const auto blank = rest.find("\n\n");
    for (const auto line : nimbus::split(rest.substr(0, blank), '\n')) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      request.headers.add(std::string(line.substr(0, colon)),
                          std::string(nimbus::trim(line.substr(colon + 1))));
    }
    if (blank != std::string_view::npos) request.body = std::string(rest.substr(blank + 2));
  }
  nimbus::aws::ProxyRequestFacts facts;
  facts.raw_path = std::string(request.path());
  (void)nimbus::aws::proxy_event_v2(request, facts);
  (void)nimbus::aws::proxy_event_v1(request, facts, nimbus::aws::HeaderNames::kAsSent);

  for (const auto& message : nimbus::aws::decode_event_messages(input)) {
    if (message.headers.size() > 255) continue;
    bool encodable = true;
    for (const auto& [name, value] : message.headers) {
      encodable = encodable && name.size() < 256 && value.size() < 65536;
    }
    if (!encodable) continue;
    const auto again = nimbus::aws::decode_event_messages(
        nimbus::aws::encode_event_message(message.headers, message.payload));
    if (again.size() != 1 || again[0].payload != message.payload ||
        again[0].headers != message.headers) {
      __builtin_trap();
    }
  }
  return 0;
}
