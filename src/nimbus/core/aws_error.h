#pragma once

// AwsError is the one error type every component returns by value. It carries
// what the wire needs: AWS's error code (the shape name from the service
// model), the human message, the HTTP status and who is at fault. Each protocol
// codec turns it into bytes in exactly one place.

#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include <boost/assert/source_location.hpp>

namespace nimbus {

enum class Fault { kClient, kServer };

class AwsError {
 public:
  // boost::system::result needs a default; it is never a meaningful error.
  AwsError() : AwsError("InternalFailure", "unspecified error", 500, Fault::kServer) {}
  AwsError(std::string code, std::string message, int http_status, Fault fault = Fault::kClient)
      : code_(std::move(code)),
        message_(std::move(message)),
        http_status_(http_status),
        fault_(fault) {}

  // Named constructors for errors shared by every service. Service-specific
  // errors use the constructor with the shape name from the service model.
  static AwsError validation(std::string message);
  static AwsError serialization(std::string message);
  static AwsError unknown_operation(std::string_view operation);
  static AwsError internal(std::string message);
  static AwsError missing_authentication_token();
  static AwsError unrecognized_client();
  static AwsError invalid_signature(std::string message);
  static AwsError incomplete_signature(std::string message);
  static AwsError request_entity_too_large(std::size_t limit);

  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  int http_status() const { return http_status_; }
  Fault fault() const { return fault_; }

  // Extra top-level string members some services add to error bodies
  // (Lambda's "Reason", DynamoDB's "Item"...). Codecs that support them emit them.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  AwsError& with_field(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  // Members whose values are JSON documents, serialised (DynamoDB's
  // ConditionalCheckFailedException carries the item as "Item").
  const std::vector<std::pair<std::string, std::string>>& json_fields() const {
    return json_fields_;
  }
  AwsError& with_json_field(std::string name, std::string serialized_json) {
    json_fields_.emplace_back(std::move(name), std::move(serialized_json));
    return *this;
  }

  friend bool operator==(const AwsError&, const AwsError&) = default;

 private:
  std::string code_;
  std::string message_;
  int http_status_;
  Fault fault_;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<std::pair<std::string, std::string>> json_fields_;
};

// Lets Result<T>::value() throw on an error: reaching it is a bug, never flow control.
[[noreturn]] void throw_exception_from_error(const AwsError& error,
                                             const boost::source_location& location);

}  // namespace nimbus
