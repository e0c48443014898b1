#include "nimbus/core/aws_error.h"

#include <stdexcept>

#include <fmt/format.h>

namespace nimbus {

AwsError AwsError::validation(std::string message) {
  return {"ValidationException", std::move(message), 400};
}

AwsError AwsError::serialization(std::string message) {
  return {"SerializationException", std::move(message), 400};
}

AwsError AwsError::unknown_operation(std::string_view operation) {
  return {"UnknownOperationException",
          operation.empty()
              ? std::string("The requested operation is not recognized.")
              : fmt::format("The requested operation {} is not recognized.", operation),
          400};
}

AwsError AwsError::internal(std::string message) {
  return {"InternalFailure", std::move(message), 500, Fault::kServer};
}

AwsError AwsError::missing_authentication_token() {
  return {"MissingAuthenticationTokenException", "Missing Authentication Token", 403};
}

AwsError AwsError::unrecognized_client() {
  return {"UnrecognizedClientException", "The security token included in the request is invalid.",
          403};
}

AwsError AwsError::invalid_signature(std::string message) {
  return {"InvalidSignatureException", std::move(message), 403};
}

AwsError AwsError::incomplete_signature(std::string message) {
  return {"IncompleteSignatureException", std::move(message), 403};
}

AwsError AwsError::request_entity_too_large(std::size_t limit) {
  return {"RequestEntityTooLargeException",
          fmt::format("Request must be smaller than {} bytes.", limit), 413};
}

void throw_exception_from_error(const AwsError& error, const boost::source_location& location) {
  throw std::logic_error(fmt::format("unchecked AwsError {}: {} at {}:{}", error.code(),
                                     error.message(), location.file_name(), location.line()));
}

}  // namespace nimbus
