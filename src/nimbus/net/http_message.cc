#include "nimbus/net/http_message.h"

#include <algorithm>

#include "nimbus/core/strings.h"

namespace nimbus::net {

void HttpHeaders::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::set(std::string_view name, std::string value) {
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
  fields_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const {
  for (const auto& [field_name, value] : fields_) {
    if (iequals(field_name, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> HttpHeaders::get_joined(std::string_view name) const {
  std::optional<std::string> joined;
  for (const auto& [field_name, value] : fields_) {
    if (!iequals(field_name, name)) continue;
    if (joined) {
      joined->push_back(',');
      joined->append(value);
    } else {
      joined = value;
    }
  }
  return joined;
}

std::string_view HttpRequest::path() const {
  const std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::query() const {
  const std::string_view t(target);
  const auto pos = t.find('?');
  return pos == std::string_view::npos ? std::string_view() : t.substr(pos + 1);
}

HttpResponse HttpResponse::with_body(int status, std::string content_type, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers.add("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

}  // namespace nimbus::net
