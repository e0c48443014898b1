#pragma once

// An HTTP/1.1 response head written out once into a string, for a buffered
// answer that goes out with its body in one gather write (the HTTP server's
// answers, the Runtime API's). Beast's serializer took ~15k instructions a
// response here (callgrind), walking its field list through generic buffer
// sequences; this takes a fraction.
//
// The framing is the writer's own: a Content-Length, Transfer-Encoding or
// Connection header handed in (by a handler, or copied from a proxied
// upstream) is dropped, and so is a header that would not be one line.

#include <cstddef>
#include <string>
#include <string_view>

namespace nimbus::net {

class ResponseHead {
 public:
  // A status outside 100-999 is written as 500.
  explicit ResponseHead(int status, std::size_t expected_headers = 8);

  void add(std::string_view name, std::string_view value);

  // 1xx, 204 and 304 answers carry no body and no length (RFC 9110 8.6).
  bool has_body() const { return status_ >= 200 && status_ != 204 && status_ != 304; }

  // The head, ending in the blank line, for a body of `body_size` bytes.
  std::string finish(std::size_t body_size, bool keep_alive) &&;

 private:
  int status_;
  std::string text_;
};

}  // namespace nimbus::net
