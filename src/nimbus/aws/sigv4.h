#pragma once

// AWS Signature Version 4: parsing the signature a request carries (in the
// Authorization header or a presigned query string), building the canonical
// request exactly as the SDKs do, and verifying in constant time.
// Pure functions: no I/O, no clock reads (callers pass `now`).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/aws/aws_time.h"
#include "nimbus/core/result.h"
#include "nimbus/net/http_message.h"

namespace nimbus::aws {

// "AKID/20150830/us-east-1/service/aws4_request".
struct CredentialScope {
  std::string access_key_id;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;

  std::string scope() const;  // without the access key id
};

struct SigV4Signature {
  CredentialScope credential;
  std::vector<std::string> signed_headers;  // lower-case, as sent
  std::string signature;                    // lower-case hex
  std::string amz_date;                     // the request time, YYYYMMDD'T'HHMMSS'Z'
  bool presigned = false;
  std::optional<std::chrono::seconds> expires;  // X-Amz-Expires, presigned only
};

// Parses "AKID/20150830/us-east-1/service/aws4_request".
Result<CredentialScope> parse_credential_scope(std::string_view text);

// Parses an Authorization header value of the AWS4-HMAC-SHA256 scheme.
// The date is not part of it; see find_signature().
Result<SigV4Signature> parse_authorization_header(std::string_view value);

// The signature a request carries: nullopt if it carries none, an
// IncompleteSignatureException-shaped error if it carries a broken one.
std::optional<Result<SigV4Signature>> find_signature(const net::HttpRequest& request);

// The service named in a request's credential scope, without validating the
// rest of the signature (routing needs only this).
std::optional<std::string> signing_service(const net::HttpRequest& request);

// S3 signs the path as sent; every other service signs it normalised and
// percent-encoded a second time.
enum class PathEncoding { kDouble, kSingle };

std::string sha256_hex(std::string_view data);

std::string canonical_request(const net::HttpRequest& request, const SigV4Signature& signature,
                              std::string_view payload_hash, PathEncoding encoding);

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

std::array<std::uint8_t, 32> signing_key(std::string_view secret_access_key, std::string_view date,
                                         std::string_view region, std::string_view service);

// The hex signature the holder of `secret_access_key` computes for the request.
std::string compute_signature(const net::HttpRequest& request, const SigV4Signature& signature,
                              std::string_view secret_access_key);

// Checks the signature and its time window (±15 minutes for header
// signatures, X-Amz-Expires for presigned ones) against `now`. Errors are
// InvalidSignatureException with AWS's messages.
Result<void> verify_signature(const net::HttpRequest& request, const SigV4Signature& signature,
                              std::string_view secret_access_key, WallTime now);

// Signs a request in place (adds X-Amz-Date and Authorization); for tests,
// benchmarks and the in-process client.
void sign_request(net::HttpRequest& request, std::string_view access_key_id,
                  std::string_view secret_access_key, std::string_view region,
                  std::string_view service, WallTime now);

}  // namespace nimbus::aws
