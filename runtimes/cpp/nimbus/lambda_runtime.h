#pragma once

// A header-only Lambda runtime for native functions: the Runtime API loop
// over plain POSIX sockets, with no dependency beyond the C++ standard
// library, so a function binary stays small and starts fast.
//
//   #include <nimbus/lambda_runtime.h>
//   int main() {
//     return nimbus::lambda::run([](const nimbus::lambda::Invocation& in) {
//       return nimbus::lambda::Outcome::success(in.payload);
//     });
//   }
//
// It knows Nimbus only through the Runtime API, so the same binary runs on
// AWS Lambda as a provided.al2023 `bootstrap`.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace nimbus::lambda {

struct Invocation {
  std::string request_id;
  std::string payload;
  std::string function_arn;
  std::string trace_id;
  std::string client_context;
  std::string cognito_identity;
  std::int64_t deadline_ms = 0;

  std::int64_t remaining_ms() const {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return deadline_ms - now;
  }
};

class Outcome {
 public:
  static Outcome success(std::string payload) { return Outcome(std::move(payload), {}, {}); }
  static Outcome failure(std::string error_type, std::string message) {
    return Outcome({}, std::move(error_type), std::move(message));
  }
  bool ok() const { return error_type_.empty(); }
  const std::string& payload() const { return payload_; }
  const std::string& error_type() const { return error_type_; }
  const std::string& error_message() const { return error_message_; }

 private:
  Outcome(std::string payload, std::string type, std::string message)
      : payload_(std::move(payload)),
        error_type_(std::move(type)),
        error_message_(std::move(message)) {}
  std::string payload_;
  std::string error_type_;
  std::string error_message_;
};

namespace detail {

inline std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

struct Response {
  int status = 0;
  std::string headers;  // lower-cased names, "name: value\r\n" lines
  std::string body;

  std::string header(std::string_view name) const {
    std::string needle = "\n" + std::string(name) + ":";
    auto at = ("\n" + headers).find(needle);
    if (at == std::string::npos) return {};
    auto start = at + needle.size() - 1;
    while (start < headers.size() && headers[start] == ' ') ++start;
    auto end = headers.find("\r\n", start);
    return headers.substr(start, end - start);
  }
};

// One keep-alive HTTP/1.1 connection to the Runtime API.
class Connection {
 public:
  explicit Connection(std::string endpoint) {
    auto colon = endpoint.rfind(':');
    host_ = endpoint.substr(0, colon);
    port_ = endpoint.substr(colon + 1);
  }
  ~Connection() { close(); }

  bool request(const char* method, const std::string& path, const std::string& body,
               const std::string& extra_headers, Response& response) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect()) return false;
      std::string message = std::string(method) + " " + path + " HTTP/1.1\r\nHost: " + host_ +
                            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                            extra_headers + "\r\n";
      message += body;
      if (send_all(message) && read_response(response)) return true;
      close();  // a stale keep-alive connection: reconnect once
    }
    return false;
  }

 private:
  bool connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found) != 0) return false;
    for (auto* a = found; a; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
      ::close(fd_);
      fd_ = -1;
    }
    freeaddrinfo(found);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buffer_.clear();
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send_all(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  bool fill() {
    char chunk[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  bool read_response(Response& response) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return false;
    }
    std::string head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    auto line_end = head.find("\r\n");
    auto space = head.find(' ');
    if (space == std::string::npos || space > line_end) return false;
    response.status = std::atoi(head.c_str() + space + 1);
    response.headers = head.substr(line_end + 2);
    std::string lowered;
    bool in_name = true;
    for (char c : response.headers) {
      if (c == '\n')
        in_name = true;
      else if (c == ':')
        in_name = false;
      lowered.push_back(in_name ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                : c);
    }
    response.headers = lowered;
    std::size_t length = std::strtoull(response.header("content-length").c_str(), nullptr, 10);
    while (buffer_.size() < length) {
      if (!fill()) return false;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return true;
  }

  std::string host_;
  std::string port_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace detail

// Runs the Runtime API loop until the environment ends; returns non-zero if
// the Runtime API cannot be reached.
inline int run(const std::function<Outcome(const Invocation&)>& handler) {
  const char* endpoint = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (endpoint == nullptr) {
    std::fprintf(stderr, "AWS_LAMBDA_RUNTIME_API is not set\n");
    return 1;
  }
  detail::Connection connection(endpoint);
  const std::string base = "/2018-06-01/runtime/invocation/";
  for (;;) {
    detail::Response next;
    if (!connection.request("GET", base + "next", {}, {}, next) || next.status != 200) return 1;
    Invocation invocation;
    invocation.request_id = next.header("lambda-runtime-aws-request-id");
    invocation.function_arn = next.header("lambda-runtime-invoked-function-arn");
    invocation.trace_id = next.header("lambda-runtime-trace-id");
    invocation.client_context = next.header("lambda-runtime-client-context");
    invocation.cognito_identity = next.header("lambda-runtime-cognito-identity");
    invocation.deadline_ms =
        std::strtoll(next.header("lambda-runtime-deadline-ms").c_str(), nullptr, 10);
    invocation.payload = std::move(next.body);
    Outcome outcome = handler(invocation);
    detail::Response answer;
    bool sent;
    if (outcome.ok()) {
      sent = connection.request("POST", base + invocation.request_id + "/response",
                                outcome.payload(), {}, answer);
    } else {
      std::string body = "{\"errorType\":\"" + detail::json_escape(outcome.error_type()) +
                         "\",\"errorMessage\":\"" + detail::json_escape(outcome.error_message()) +
                         "\",\"stackTrace\":[]}";
      sent = connection.request(
          "POST", base + invocation.request_id + "/error", body,
          "Lambda-Runtime-Function-Error-Type: " + outcome.error_type() + "\r\n", answer);
    }
    if (!sent || answer.status / 100 != 2) return 1;  // as the official clients do
  }
}

}  // namespace nimbus::lambda
