#pragma once

// HTTP requests and responses as plain values. Nothing here includes Beast, so
// every service can include this without paying for it; the server converts.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nimbus::net {

// Header fields in arrival order; lookups ignore case, as HTTP requires.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);
  // Replaces every field of that name by one.
  void set(std::string_view name, std::string value);
  // The first field of that name.
  std::optional<std::string_view> get(std::string_view name) const;
  // All fields of that name joined with ",", as RFC 9110 allows for most
  // fields and SigV4 requires for canonical headers.
  std::optional<std::string> get_joined(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  std::size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

struct HttpRequest {
  std::string method;
  std::string target;  // origin-form as received: path plus optional "?query"
  HttpHeaders headers;
  std::string body;
  std::string remote_address;

  std::string_view path() const;
  std::string_view query() const;  // without the '?'; empty when absent
};

// A response body sent as it is produced (Transfer-Encoding: chunked),
// for answers that arrive over time.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Calls `ready` once, from any thread, with the next piece of the body, or
  // with nothing once the body has ended. One read at a time.
  virtual void read(std::function<void(std::optional<std::string>)> ready) = 0;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
  // When set, the body is this stream's pieces (and `body` is not sent).
  std::shared_ptr<BodyStream> stream;

  static HttpResponse with_body(int status, std::string content_type, std::string body);
};

// Why the server refused a request before handing it to the handler.
enum class RequestRejection {
  kMalformed,        // unparseable request line or headers: 400
  kHeadersTooLarge,  // past the header limit: 431
  kBodyTooLarge,     // past the handler's body limit: 413
};

}  // namespace nimbus::net
