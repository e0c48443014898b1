#include "nimbus/aws/rest_protocol.h"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "nimbus/core/strings.h"

namespace nimbus::aws {
namespace {

std::vector<std::string_view> path_segments(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.empty()) return {};
  return split(path, '/');
}

}  // namespace

std::optional<std::string_view> RestRoutes::Match::label(std::string_view name) const {
  for (const auto& [key, value] : labels) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

void RestRoutes::add(std::string_view method, std::string_view path_template,
                     std::string operation) {
  Route route{std::string(method), {}, std::move(operation), 0};
  const auto query = path_template.find('?');  // model URIs may carry a fixed query ("?x-id=...")
  for (const auto segment : path_segments(path_template.substr(0, query))) {
    if (segment.starts_with('{') && segment.ends_with("+}")) {
      route.segments.push_back(
          {std::string(segment.substr(1, segment.size() - 3)), Segment::Kind::kGreedyLabel});
    } else if (segment.starts_with('{') && segment.ends_with('}')) {
      route.segments.push_back(
          {std::string(segment.substr(1, segment.size() - 2)), Segment::Kind::kLabel});
    } else {
      route.segments.push_back({std::string(segment), Segment::Kind::kLiteral});
      ++route.literal_count;
    }
  }
  routes_.push_back(std::move(route));
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    return a.literal_count > b.literal_count;
  });
}

std::optional<RestRoutes::Match> RestRoutes::match(std::string_view method,
                                                   std::string_view path) const {
  const auto segments = path_segments(path);
  for (const auto& route : routes_) {
    if (route.method != method) continue;
    Match match{route.operation, {}};
    bool matched = true;
    std::size_t i = 0;
    for (std::size_t r = 0; r < route.segments.size() && matched; ++r) {
      const auto& want = route.segments[r];
      if (want.kind == Segment::Kind::kGreedyLabel) {
        if (i >= segments.size()) {
          matched = false;
          break;
        }
        // The rest of the path, slashes included.
        const auto* begin = segments[i].data();
        const auto* end = segments.back().data() + segments.back().size();
        auto decoded = percent_decode(std::string_view(begin, end - begin));
        if (!decoded) {
          matched = false;
          break;
        }
        match.labels.emplace_back(want.text, std::move(*decoded));
        i = segments.size();
        continue;
      }
      if (i >= segments.size()) {
        matched = false;
        break;
      }
      if (want.kind == Segment::Kind::kLiteral) {
        matched = segments[i] == want.text;
      } else {
        auto decoded = percent_decode(segments[i]);
        matched = decoded.has_value() && !decoded->empty();
        if (matched) match.labels.emplace_back(want.text, std::move(*decoded));
      }
      ++i;
    }
    if (matched && i == segments.size()) return match;
  }
  return std::nullopt;
}

std::string RestCall::label(std::string_view name) const {
  return std::string(route.label(name).value_or(""));
}

std::string RestCall::query(std::string_view name) const { return query_value(request, name); }

std::vector<std::string> RestCall::query_all(std::string_view name) const {
  return query_values(request, name);
}

std::vector<std::string> query_values(const net::HttpRequest& request, std::string_view name) {
  std::vector<std::string> out;
  const auto query_string = request.query();
  if (query_string.empty()) return out;
  for (const auto pair : split(query_string, '&')) {
    const auto equals = pair.find('=');
    const auto key = percent_decode(pair.substr(0, equals), PlusAsSpace::kYes);
    if (!key || *key != name) continue;
    auto value = equals == std::string_view::npos
                     ? std::optional<std::string>(std::string())
                     : percent_decode(pair.substr(equals + 1), PlusAsSpace::kYes);
    if (value) out.push_back(std::move(*value));
  }
  return out;
}

std::string query_value(const net::HttpRequest& request, std::string_view name) {
  auto all = query_values(request, name);
  return all.empty() ? std::string() : std::move(all.front());
}

net::HttpResponse rest_empty_response(int status) {
  net::HttpResponse response;
  response.status = status;
  return response;
}

net::HttpResponse rest_json_response(int status, const boost::json::value& output) {
  return net::HttpResponse::with_body(status, "application/json", boost::json::serialize(output));
}

net::HttpResponse rest_json_response(int status, const boost::json::object& output) {
  return net::HttpResponse::with_body(status, "application/json", boost::json::serialize(output));
}

net::HttpResponse rest_xml_response(int status, std::string xml) {
  return net::HttpResponse::with_body(status, "application/xml", std::move(xml));
}

}  // namespace nimbus::aws
