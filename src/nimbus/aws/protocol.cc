#include "nimbus/aws/protocol.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/json_protocol.h"
#include "nimbus/aws/query_protocol.h"
#include "nimbus/aws/xml_writer.h"

namespace nimbus::aws {

std::string_view to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::kJson10:
      return "json1.0";
    case Protocol::kJson11:
      return "json1.1";
    case Protocol::kQuery:
      return "query";
    case Protocol::kRestJson:
      return "rest-json";
    case Protocol::kRestXml:
      return "rest-xml";
  }
  return "unknown";
}

std::string_view request_id_header(Protocol protocol) {
  return protocol == Protocol::kRestXml ? "x-amz-request-id" : "x-amzn-RequestId";
}

net::HttpResponse error_response(Protocol protocol, const AwsError& error,
                                 std::string_view request_id) {
  net::HttpResponse response;
  switch (protocol) {
    case Protocol::kJson10:
    case Protocol::kJson11: {
      boost::json::object body;
      body["__type"] = error.code();
      body["message"] = error.message();
      for (const auto& [name, value] : error.fields()) body[name] = value;
      for (const auto& [name, value] : error.json_fields()) {
        boost::system::error_code parse_error;
        auto parsed = boost::json::parse(value, parse_error);
        if (!parse_error) body[name] = std::move(parsed);
      }
      response = net::HttpResponse::with_body(error.http_status(),
                                              std::string(json_content_type(protocol)),
                                              boost::json::serialize(body));
      break;
    }
    case Protocol::kRestJson: {
      boost::json::object body;
      body["Type"] = error.fault() == Fault::kClient ? "User" : "Service";
      body["message"] = error.message();
      for (const auto& [name, value] : error.fields()) body[name] = value;
      response = net::HttpResponse::with_body(error.http_status(), "application/json",
                                              boost::json::serialize(body));
      response.headers.add("X-Amzn-ErrorType", error.code());
      break;
    }
    case Protocol::kQuery: {
      XmlWriter xml;
      xml.open("ErrorResponse")
          .open("Error")
          .element("Type", error.fault() == Fault::kClient ? "Sender" : "Receiver")
          .element("Code", query_error_code(error.code()))
          .element("Message", error.message())
          .close()
          .element("RequestId", request_id);
      response = net::HttpResponse::with_body(error.http_status(), "text/xml", xml.finish());
      break;
    }
    case Protocol::kRestXml: {
      XmlWriter xml;
      xml.declaration()
          .open("Error")
          .element("Code", error.code())
          .element("Message", error.message())
          .element("RequestId", request_id)
          .close();
      response = net::HttpResponse::with_body(error.http_status(), "application/xml", xml.finish());
      break;
    }
  }
  response.headers.add(std::string(request_id_header(protocol)), std::string(request_id));
  return response;
}

}  // namespace nimbus::aws
