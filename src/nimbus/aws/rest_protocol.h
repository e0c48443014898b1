#pragma once

// restJson1 and restXml: the operation is the HTTP method plus a path template
// ("/2015-03-31/functions/{FunctionName}/invocations", "/{Bucket}/{Key+}").

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/aws/service.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

class RestRoutes {
 public:
  struct Match {
    std::string_view operation;
    std::vector<std::pair<std::string, std::string>> labels;  // percent-decoded

    std::optional<std::string_view> label(std::string_view name) const;
  };

  // `{Name}` matches one non-empty segment, `{Name+}` the rest of the path.
  void add(std::string_view method, std::string_view path_template, std::string operation);

  // The most specific route (most literal segments) that matches. A trailing
  // '/' is ignored: the AWS CLI and the JS SDK disagree on it.
  std::optional<Match> match(std::string_view method, std::string_view path) const;

 private:
  struct Segment {
    std::string text;
    enum class Kind { kLiteral, kLabel, kGreedyLabel } kind;
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    std::string operation;
    int literal_count = 0;
  };
  std::vector<Route> routes_;
};

// One REST request as an operation sees it: the route it matched, and its
// JSON body once the service has parsed it.
struct RestCall {
  const RequestContext& context;
  net::HttpRequest& request;
  const RestRoutes::Match& route;
  boost::json::object body;  // empty when there is none

  std::string label(std::string_view name) const;  // empty when absent
  // The first ?name= value, percent-decoded; empty when absent.
  std::string query(std::string_view name) const;
  std::vector<std::string> query_all(std::string_view name) const;
};

// Every value of the query parameter `name`, percent-decoded ('+' is a
// space), in order.
std::vector<std::string> query_values(const net::HttpRequest& request, std::string_view name);
// The first of them; empty when there is none.
std::string query_value(const net::HttpRequest& request, std::string_view name);

net::HttpResponse rest_json_response(int status, const boost::json::value& output);
// The same for an object, without copying it into a json::value first.
net::HttpResponse rest_json_response(int status, const boost::json::object& output);
// A success with no body (204, 202...).
net::HttpResponse rest_empty_response(int status);
net::HttpResponse rest_xml_response(int status, std::string xml);

}  // namespace nimbus::aws
