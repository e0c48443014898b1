#include "nimbus/net/response_head.h"

#include <ostream>  // Beast's status header needs it and does not include it

#include <boost/beast/http/status.hpp>

#include "nimbus/core/json_text.h"
#include "nimbus/core/strings.h"

namespace nimbus::net {
namespace {

// A header that goes out as one line: a name, and no line break or NUL in it
// or its value that would end it early and start another (response
// splitting). One plain pass each: find_first_of with a set of characters
// compares every character against each of them in turn.
bool writable_field(std::string_view name, std::string_view value) {
  const auto breaks = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  if (name.empty()) return false;
  for (const char c : name) {
    if (breaks(c) || c == ':' || c == ' ') return false;
  }
  for (const char c : value) {
    if (breaks(c)) return false;
  }
  return true;
}

}  // namespace

ResponseHead::ResponseHead(int status, std::size_t expected_headers)
    : status_(status >= 100 && status <= 999 ? status : 500) {
  text_.reserve(96 + 48 * expected_headers);
  text_ += "HTTP/1.1 ";
  append_json_number(text_, static_cast<std::size_t>(status_));
  text_ += ' ';
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status_));
  text_.append(reason.data(), reason.size());
  text_ += "\r\n";
}

void ResponseHead::add(std::string_view name, std::string_view value) {
  if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
      iequals(name, "Connection") || !writable_field(name, value)) {
    return;
  }
  text_ += name;
  text_ += ": ";
  text_ += value;
  text_ += "\r\n";
}

std::string ResponseHead::finish(std::size_t body_size, bool keep_alive) && {
  if (has_body()) {
    text_ += "Content-Length: ";
    append_json_number(text_, body_size);
    text_ += "\r\n";
  }
  if (!keep_alive) text_ += "Connection: close\r\n";
  text_ += "\r\n";
  return std::move(text_);
}

}  // namespace nimbus::net
