#include "nimbus/aws/query_protocol.h"

#include <fmt/format.h>

#include "nimbus/aws/xml_writer.h"
#include "nimbus/core/strings.h"

namespace nimbus::aws {

Result<FormParameters> decode_form(std::string_view text) {
  FormParameters parameters;
  if (text.empty()) return parameters;
  for (const auto part : split(text, '&')) {
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq), PlusAsSpace::kYes);
    auto value = eq == std::string_view::npos
                     ? std::optional<std::string>("")
                     : percent_decode(part.substr(eq + 1), PlusAsSpace::kYes);
    if (!key || !value) {
      return AwsError("MalformedQueryString",
                      fmt::format("Malformed percent-encoding in '{}'", part.substr(0, 64)), 400);
    }
    parameters.emplace_back(std::move(*key), std::move(*value));
  }
  return parameters;
}

std::optional<std::string_view> QueryRequest::get(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

Result<QueryRequest> decode_query_request(const net::HttpRequest& request) {
  QueryRequest decoded;
  auto from_query = decode_form(request.query());
  if (!from_query) return from_query.error();
  decoded.parameters = std::move(*from_query);
  const auto content_type = request.headers.get("Content-Type").value_or("");
  if (!request.body.empty() &&
      starts_with_icase(content_type, "application/x-www-form-urlencoded")) {
    auto from_body = decode_form(request.body);
    if (!from_body) return from_body.error();
    for (auto& parameter : *from_body) decoded.parameters.push_back(std::move(parameter));
  }
  const auto action = decoded.get("Action");
  if (!action || action->empty()) return AwsError("MissingAction", "Missing Action", 400);
  decoded.action = std::string(*action);
  decoded.version = std::string(decoded.get("Version").value_or(""));
  return decoded;
}

net::HttpResponse query_response(std::string_view action, std::string_view xmlns,
                                 std::string_view result_xml, std::string_view request_id) {
  XmlWriter xml;
  xml.open(fmt::format("{}Response", action), xmlns)
      .open(fmt::format("{}Result", action))
      .raw(result_xml)
      .close()
      .open("ResponseMetadata")
      .element("RequestId", request_id)
      .close();
  return net::HttpResponse::with_body(200, "text/xml", xml.finish());
}

std::string_view query_error_code(std::string_view code) {
  if (code == "InvalidSignatureException") return "SignatureDoesNotMatch";
  if (code == "UnrecognizedClientException") return "InvalidClientTokenId";
  if (code == "MissingAuthenticationTokenException") return "MissingAuthenticationToken";
  if (code == "IncompleteSignatureException") return "IncompleteSignature";
  if (code == "UnknownOperationException") return "InvalidAction";
  if (code == "ValidationException") return "ValidationError";
  if (code == "InternalFailure") return "InternalFailure";
  return code;
}

}  // namespace nimbus::aws
