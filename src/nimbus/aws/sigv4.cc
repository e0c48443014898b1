#include "nimbus/aws/sigv4.h"

#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nimbus/core/strings.h"

namespace nimbus::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr auto kClockSkew = std::chrono::minutes(15);
constexpr auto kMaxPresignedExpiry = std::chrono::seconds(604800);  // 7 days

using Digest = std::array<std::uint8_t, 32>;

Digest hmac(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view as_view(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

enum class KeepSlash { kNo, kYes };

// SigV4's URI encoding: every byte but the unreserved ones as %XX, upper-case.
std::string uri_encode(std::string_view s, KeepSlash slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (c == '/' && slash == KeepSlash::kYes)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// A malformed escape is signed as sent, which is what the SDKs would have done.
std::string lenient_decode(std::string_view s) {
  auto decoded = percent_decode(s);
  return decoded ? std::move(*decoded) : std::string(s);
}

// RFC 3986 5.2.4 dot-segment removal plus collapsing of empty segments, as
// the SDKs normalise a path before signing it.
std::string normalize_path(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> output;
  for (const auto segment : split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!output.empty()) output.pop_back();
    } else {
      output.push_back(segment);
    }
  }
  std::string normalized = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < output.size(); ++i) {
    if (i > 0) normalized.push_back('/');
    normalized.append(output[i]);
  }
  if (path.back() == '/' && !output.empty()) normalized.push_back('/');
  return normalized.empty() ? "/" : normalized;
}

std::string canonical_uri(std::string_view path, PathEncoding encoding) {
  if (encoding == PathEncoding::kSingle) {
    return path.empty() ? "/" : uri_encode(lenient_decode(path), KeepSlash::kYes);
  }
  return uri_encode(normalize_path(path), KeepSlash::kYes);
}

std::vector<std::pair<std::string, std::string>> query_parameters(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (query.empty()) return params;
  for (const auto part : split(query, '&')) {
    if (part.empty()) continue;
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      params.emplace_back(lenient_decode(part), "");
    } else {
      params.emplace_back(lenient_decode(part.substr(0, eq)), lenient_decode(part.substr(eq + 1)));
    }
  }
  return params;
}

std::string canonical_query(std::string_view query, bool presigned) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (auto& [key, value] : query_parameters(query)) {
    if (presigned && key == "X-Amz-Signature") continue;
    encoded.emplace_back(uri_encode(key, KeepSlash::kNo), uri_encode(value, KeepSlash::kNo));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += key;
    out.push_back('=');
    out += value;
  }
  return out;
}

// Trimmed, with runs of spaces collapsed to one.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (const char c : trim(value)) {
    if (c == ' ' || c == '\t') {
      if (!in_space) out.push_back(' ');
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return out;
}

std::string payload_hash(const net::HttpRequest& request, const SigV4Signature& signature) {
  if (const auto declared = request.headers.get("x-amz-content-sha256")) {
    return std::string(*declared);
  }
  // S3 presigned URLs are made before their body is known and sign a
  // constant; other services' presigned requests sign their (empty) body.
  if (signature.presigned && signature.credential.service == "s3") return "UNSIGNED-PAYLOAD";
  return sha256_hex(request.body);
}

PathEncoding encoding_for(std::string_view service) {
  return service == "s3" ? PathEncoding::kSingle : PathEncoding::kDouble;
}

AwsError incomplete(std::string message) {
  return AwsError::incomplete_signature(std::move(message));
}

Result<SigV4Signature> parse_presigned(const net::HttpRequest& request) {
  std::map<std::string, std::string, std::less<>> params;
  for (auto& [key, value] : query_parameters(request.query())) params.emplace(key, value);
  const auto require = [&](std::string_view name) -> Result<std::string> {
    const auto it = params.find(name);
    if (it == params.end() || it->second.empty()) {
      return incomplete(
          fmt::format("AWS query-string parameters must include '{}'. Re-examine the "
                      "query-string parameters.",
                      name));
    }
    return it->second;
  };
  auto algorithm = require("X-Amz-Algorithm");
  if (!algorithm) return algorithm.error();
  if (*algorithm != kAlgorithm) {
    return incomplete(fmt::format("Unsupported AWS 'algorithm': '{}'", *algorithm));
  }
  auto credential = require("X-Amz-Credential");
  if (!credential) return credential.error();
  auto scope = parse_credential_scope(*credential);
  if (!scope) return scope.error();
  auto date = require("X-Amz-Date");
  if (!date) return date.error();
  auto signed_headers = require("X-Amz-SignedHeaders");
  if (!signed_headers) return signed_headers.error();
  auto signature_hex = require("X-Amz-Signature");
  if (!signature_hex) return signature_hex.error();

  SigV4Signature signature;
  signature.credential = std::move(*scope);
  for (const auto name : split(*signed_headers, ';')) signature.signed_headers.emplace_back(name);
  signature.signature = to_lower(*signature_hex);
  signature.amz_date = std::move(*date);
  signature.presigned = true;
  if (const auto it = params.find("X-Amz-Expires"); it != params.end()) {
    const auto seconds = parse_uint(it->second);
    if (!seconds || *seconds < 1 || std::chrono::seconds(*seconds) > kMaxPresignedExpiry) {
      return incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800.");
    }
    signature.expires = std::chrono::seconds(*seconds);
  }
  return signature;
}

bool has_presigned_parameters(std::string_view query) {
  return query.find("X-Amz-Signature=") != std::string_view::npos ||
         query.find("X-Amz-Credential=") != std::string_view::npos ||
         query.find("X-Amz-Algorithm=") != std::string_view::npos;
}

}  // namespace

std::string CredentialScope::scope() const {
  return fmt::format("{}/{}/{}/{}", date, region, service, kTerminator);
}

Result<CredentialScope> parse_credential_scope(std::string_view text) {
  // Every signed request comes through here: the parts are found in place.
  std::array<std::string_view, 5> parts;
  std::size_t count = 0;
  for_each_part(text, '/', [&](std::string_view part) {
    if (count < parts.size()) parts[count] = part;
    ++count;
  });
  if (count != parts.size()) {
    return incomplete(fmt::format(
        "Credential should be scoped to a valid region, service and terminator. Got '{}'.", text));
  }
  if (parts[4] != kTerminator) {
    return incomplete(fmt::format(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
        parts[4]));
  }
  if (parts[0].empty() || parts[1].size() != 8 || parts[2].empty() || parts[3].empty()) {
    return incomplete(
        fmt::format("Credential should be scoped to a valid date, region and service. "
                    "Got '{}'.",
                    text));
  }
  return CredentialScope{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                         std::string(parts[3])};
}

Result<SigV4Signature> parse_authorization_header(std::string_view value) {
  const std::string_view original = value;
  value = trim(value);
  if (!value.starts_with(kAlgorithm) || value.size() == kAlgorithm.size() ||
      (value[kAlgorithm.size()] != ' ')) {
    const auto scheme = value.substr(0, value.find(' '));
    return incomplete(fmt::format("Unsupported AWS 'algorithm': '{}'", scheme));
  }
  value.remove_prefix(kAlgorithm.size());
  std::optional<std::string_view> credential, signed_headers, signature_hex;
  for_each_part(value, ',', [&](std::string_view piece) {
    const auto part = trim(piece);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) return;
    const auto key = part.substr(0, eq);
    const auto item = trim(part.substr(eq + 1));
    if (key == "Credential") credential = item;
    if (key == "SignedHeaders") signed_headers = item;
    if (key == "Signature") signature_hex = item;
  });
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!signature_hex) missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) {
    return incomplete(fmt::format("{}Authorization={}", missing, trim(original)));
  }
  auto scope = parse_credential_scope(*credential);
  if (!scope) return scope.error();
  SigV4Signature signature;
  signature.credential = std::move(*scope);
  signature.signed_headers.reserve(
      static_cast<std::size_t>(std::count(signed_headers->begin(), signed_headers->end(), ';')) +
      1);
  for_each_part(*signed_headers, ';',
                [&](std::string_view name) { signature.signed_headers.push_back(to_lower(name)); });
  signature.signature = to_lower(*signature_hex);
  return signature;
}

std::optional<Result<SigV4Signature>> find_signature(const net::HttpRequest& request) {
  if (const auto header = request.headers.get("Authorization")) {
    auto signature = parse_authorization_header(*header);
    if (!signature) return Result<SigV4Signature>(signature.error());
    if (const auto amz_date = request.headers.get("X-Amz-Date")) {
      signature->amz_date = std::string(*amz_date);
    } else if (const auto date = request.headers.get("Date")) {
      const auto parsed = parse_http_date(*date);
      if (!parsed) {
        return Result<SigV4Signature>(
            incomplete(fmt::format("Date must be in RFC 7231 format. Got '{}'.", *date)));
      }
      signature->amz_date = format_amz_date(*parsed);
    } else {
      return Result<SigV4Signature>(
          incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a "
                     "'Date' header. Authorization=" +
                     std::string(trim(*header))));
    }
    return signature;
  }
  if (has_presigned_parameters(request.query())) return parse_presigned(request);
  return std::nullopt;
}

std::optional<std::string> signing_service(const net::HttpRequest& request) {
  std::string_view credential;
  std::string decoded;
  if (const auto header = request.headers.get("Authorization")) {
    const auto pos = header->find("Credential=");
    if (pos == std::string_view::npos) return std::nullopt;
    credential = header->substr(pos + 11);
    credential = credential.substr(0, credential.find_first_of(", "));
  } else {
    const auto query = request.query();
    const auto pos = query.find("X-Amz-Credential=");
    if (pos == std::string_view::npos) return std::nullopt;
    decoded = lenient_decode(query.substr(pos + 17).substr(0, query.substr(pos + 17).find('&')));
    credential = decoded;
  }
  const auto parts = split(credential, '/');
  if (parts.size() != 5 || parts[3].empty()) return std::nullopt;
  return std::string(parts[3]);
}

std::string sha256_hex(std::string_view data) {
  Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return hex_encode(digest);
}

std::string canonical_request(const net::HttpRequest& request, const SigV4Signature& signature,
                              std::string_view hash, PathEncoding encoding) {
  std::string out;
  out.reserve(256 + request.target.size());
  out += request.method;
  out.push_back('\n');
  out += canonical_uri(request.path(), encoding);
  out.push_back('\n');
  out += canonical_query(request.query(), signature.presigned);
  out.push_back('\n');
  for (const auto& name : signature.signed_headers) {
    out += name;
    out.push_back(':');
    std::string joined;
    for (const auto& [field, value] : request.headers) {
      if (!iequals(field, name)) continue;
      if (!joined.empty()) joined.push_back(',');
      joined += canonical_header_value(value);
    }
    out += joined;
    out.push_back('\n');
  }
  out.push_back('\n');
  for (std::size_t i = 0; i < signature.signed_headers.size(); ++i) {
    if (i > 0) out.push_back(';');
    out += signature.signed_headers[i];
  }
  out.push_back('\n');
  out += hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical) {
  return fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amz_date, scope, sha256_hex(canonical));
}

std::array<std::uint8_t, 32> signing_key(std::string_view secret_access_key, std::string_view date,
                                         std::string_view region, std::string_view service) {
  const std::string secret = "AWS4" + std::string(secret_access_key);
  const auto date_key = hmac(secret, date);
  const auto region_key = hmac(as_view(date_key), region);
  const auto service_key = hmac(as_view(region_key), service);
  return hmac(as_view(service_key), kTerminator);
}

std::string compute_signature(const net::HttpRequest& request, const SigV4Signature& signature,
                              std::string_view secret_access_key) {
  const auto& scope = signature.credential;
  const auto canonical = canonical_request(request, signature, payload_hash(request, signature),
                                           encoding_for(scope.service));
  const auto to_sign = string_to_sign(signature.amz_date, scope.scope(), canonical);
  const auto key = signing_key(secret_access_key, scope.date, scope.region, scope.service);
  return hex_encode(hmac(as_view(key), to_sign));
}

Result<void> verify_signature(const net::HttpRequest& request, const SigV4Signature& signature,
                              std::string_view secret_access_key, WallTime now) {
  const auto signed_at = parse_amz_date(signature.amz_date);
  if (!signed_at) {
    return incomplete(
        fmt::format("Date must be in ISO-8601 'basic format'. Got '{}'.", signature.amz_date));
  }
  if (std::find(signature.signed_headers.begin(), signature.signed_headers.end(), "host") ==
      signature.signed_headers.end()) {
    return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!signature.amz_date.starts_with(signature.credential.date)) {
    return AwsError::invalid_signature(fmt::format(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'{}' != '{}', from '{}'.",
        signature.credential.date, signature.amz_date.substr(0, 8), signature.amz_date));
  }
  const auto seconds = [](WallTime t) { return std::chrono::floor<std::chrono::seconds>(t); };
  if (signature.presigned) {
    const auto expires = signature.expires.value_or(kMaxPresignedExpiry);
    if (seconds(now) > *signed_at + expires) {
      return AwsError::invalid_signature(
          fmt::format("Signature expired: {} is now earlier than {} ({} - {} sec.)",
                      format_amz_date(*signed_at + expires), format_amz_date(now),
                      format_amz_date(now), expires.count()));
    }
    if (*signed_at > seconds(now) + kClockSkew) {
      return AwsError::invalid_signature(
          fmt::format("Signature not yet current: {} is still later than {} ({} + 15 min.)",
                      signature.amz_date, format_amz_date(now + kClockSkew), format_amz_date(now)));
    }
  } else if (*signed_at < seconds(now) - kClockSkew) {
    return AwsError::invalid_signature(
        fmt::format("Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    signature.amz_date, format_amz_date(now - kClockSkew), format_amz_date(now)));
  } else if (*signed_at > seconds(now) + kClockSkew) {
    return AwsError::invalid_signature(
        fmt::format("Signature not yet current: {} is still later than {} ({} + 15 min.)",
                    signature.amz_date, format_amz_date(now + kClockSkew), format_amz_date(now)));
  }
  const auto expected = compute_signature(request, signature, secret_access_key);
  if (expected.size() != signature.signature.size() ||
      CRYPTO_memcmp(expected.data(), signature.signature.data(), expected.size()) != 0) {
    return AwsError::invalid_signature(
        "The request signature we calculated does not match the signature you provided. Check your "
        "AWS Secret Access Key and signing method. Consult the service documentation for details.");
  }
  return ok();
}

void sign_request(net::HttpRequest& request, std::string_view access_key_id,
                  std::string_view secret_access_key, std::string_view region,
                  std::string_view service, WallTime now) {
  SigV4Signature signature;
  signature.amz_date = format_amz_date(now);
  signature.credential = {std::string(access_key_id), signature.amz_date.substr(0, 8),
                          std::string(region), std::string(service)};
  request.headers.set("X-Amz-Date", signature.amz_date);
  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) {
    const auto lower = to_lower(name);
    if (lower == "host" || lower == "content-type" || lower.starts_with("x-amz-")) {
      names.push_back(lower);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  signature.signed_headers = names;
  const auto hex = compute_signature(request, signature, secret_access_key);
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ";") + name;
  request.headers.set("Authorization",
                      fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                                  access_key_id, signature.credential.scope(), joined, hex));
}

}  // namespace nimbus::aws
