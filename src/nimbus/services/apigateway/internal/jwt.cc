#include "nimbus/services/apigateway/internal/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/strings.h"

namespace nimbus::services::apigateway::internal {
namespace json = boost::json;

struct JwkSet::Key {
  enum class Type { kRsa, kEcP256 } type;
  EVP_PKEY* key = nullptr;
  ~Key() { EVP_PKEY_free(key); }
};

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using KeyContext = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSignature = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

// JWTs use unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.find_first_of("+/=") != std::string_view::npos) return std::nullopt;
  std::string standard(text);
  for (auto& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (standard.size() % 4 != 0) standard += '=';
  return aws::base64_decode(standard);
}

std::optional<json::object> decode_part(std::string_view part) {
  auto bytes = base64url_decode(part);
  if (!bytes) return std::nullopt;
  boost::system::error_code error;
  auto value = json::parse(*bytes, error);
  if (error || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::string member(const json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_string()) {
    return std::string(value->as_string());
  }
  return {};
}

EVP_PKEY* key_from(const char* type, OSSL_PARAM_BLD* builder) {
  Params params(OSSL_PARAM_BLD_to_param(builder));
  KeyContext context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1) return nullptr;
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return key;
}

EVP_PKEY* rsa_key(std::string_view n64, std::string_view e64) {
  const auto n = base64url_decode(n64);
  const auto e = base64url_decode(e64);
  if (!n || !e || n->empty() || e->empty()) return nullptr;
  Bignum modulus(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr));
  Bignum exponent(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                            static_cast<int>(e->size()), nullptr));
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!modulus || !exponent || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return nullptr;
  }
  return key_from("RSA", builder.get());
}

EVP_PKEY* ec_key(std::string_view x64, std::string_view y64) {
  const auto x = base64url_decode(x64);
  const auto y = base64url_decode(y64);
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  const std::string point = "\x04" + *x + *y;
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  char group[] = "prime256v1";
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  return key_from("EC", builder.get());
}

bool verify_signature(EVP_PKEY* key, std::string_view signed_part, std::string_view signature) {
  DigestContext context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signed_part.data()),
                          signed_part.size()) == 1;
}

// ES256 signatures are r||s; OpenSSL verifies DER.
std::optional<std::string> ecdsa_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  EcdsaSignature signature(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + 32), 32, nullptr);
  if (!signature || !r || !s || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(signature.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

// How API Gateway puts a claim in the event: strings as they are, arrays
// as "[a b]", anything else as its JSON text.
std::string claim_text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_array()) {
    std::string out = "[";
    for (const auto& item : value.as_array()) {
      if (out.size() > 1) out += ' ';
      out += claim_text(item);
    }
    return out + "]";
  }
  return json::serialize(value);
}

std::optional<double> number(const json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_number()) {
    return value->to_number<double>();
  }
  return std::nullopt;
}

JwtRejection invalid(std::string reason) { return {JwtFailure::kInvalid, std::move(reason)}; }

}  // namespace

JwkSet::~JwkSet() = default;

Result<std::shared_ptr<const JwkSet>> JwkSet::parse(std::string_view jwks) {
  boost::system::error_code error;
  const auto value = json::parse(jwks, error);
  const auto* keys = !error && value.is_object() ? value.as_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return AwsError("BadRequestException", "the issuer's JWKS is not a JSON object with keys", 400);
  }
  std::shared_ptr<JwkSet> set(new JwkSet());
  for (const auto& item : keys->as_array()) {
    if (!item.is_object()) continue;
    const auto& jwk = item.as_object();
    const auto use = member(jwk, "use");
    if (!use.empty() && use != "sig") continue;
    auto key = std::make_unique<Key>();
    if (member(jwk, "kty") == "RSA") {
      key->type = Key::Type::kRsa;
      key->key = rsa_key(member(jwk, "n"), member(jwk, "e"));
    } else if (member(jwk, "kty") == "EC" && member(jwk, "crv") == "P-256") {
      key->type = Key::Type::kEcP256;
      key->key = ec_key(member(jwk, "x"), member(jwk, "y"));
    }
    if (key->key != nullptr) set->keys_[member(jwk, "kid")] = std::move(key);
  }
  return std::shared_ptr<const JwkSet>(std::move(set));
}

const JwkSet::Key* JwkSet::find(std::string_view kid) const {
  const auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second.get();
}

std::optional<JwtHeader> peek_jwt(std::string_view token) {
  const auto parts = split(token, '.');
  if (parts.size() != 3) return std::nullopt;
  const auto header = decode_part(parts[0]);
  const auto payload = decode_part(parts[1]);
  if (!header || !payload) return std::nullopt;
  return JwtHeader{member(*header, "kid"), member(*payload, "iss")};
}

std::variant<JwtClaims, JwtRejection> verify_jwt(std::string_view token, const JwkSet& keys,
                                                 const JwtPolicy& policy,
                                                 std::chrono::system_clock::time_point now) {
  const auto parts = split(token, '.');
  if (parts.size() != 3) return invalid("the token is not a JWT");
  const auto header = decode_part(parts[0]);
  const auto payload = decode_part(parts[1]);
  const auto signature = base64url_decode(parts[2]);
  if (!header || !payload || !signature) return invalid("the token is not a JWT");

  const auto* key = keys.find(member(*header, "kid"));
  if (key == nullptr) return invalid("the token's key is not the issuer's");
  const auto alg = member(*header, "alg");
  const std::string_view signed_part = token.substr(0, parts[0].size() + 1 + parts[1].size());
  bool verified = false;
  if (alg == "RS256" && key->type == JwkSet::Key::Type::kRsa) {
    verified = verify_signature(key->key, signed_part, *signature);
  } else if (alg == "ES256" && key->type == JwkSet::Key::Type::kEcP256) {
    const auto der = ecdsa_der(*signature);
    verified = der && verify_signature(key->key, signed_part, *der);
  }
  if (!verified) return invalid("the token's signature is invalid");

  if (member(*payload, "iss") != policy.issuer) return invalid("the token's issuer is not trusted");
  std::vector<std::string> audiences;
  if (const auto* aud = payload->if_contains("aud")) {
    if (aud->is_string()) audiences.emplace_back(aud->as_string());
    if (aud->is_array()) {
      for (const auto& item : aud->as_array()) {
        if (item.is_string()) audiences.emplace_back(item.as_string());
      }
    }
  } else if (auto client = member(*payload, "client_id"); !client.empty()) {
    audiences.push_back(std::move(client));
  }
  bool audience_ok = false;
  for (const auto& allowed : policy.audience) {
    for (const auto& given : audiences) audience_ok = audience_ok || allowed == given;
  }
  if (!audience_ok) return invalid("the token's audience is not allowed");
  const double seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  const auto expires = number(*payload, "exp");
  if (!expires) return invalid("the token has no expiry");
  if (seconds >= *expires) return invalid("the token has expired");
  if (const auto not_before = number(*payload, "nbf"); not_before && seconds < *not_before) {
    return invalid("the token is not valid yet");
  }
  if (const auto issued = number(*payload, "iat"); issued && seconds < *issued) {
    return invalid("the token was issued in the future");
  }

  JwtClaims out;
  for (const auto& [name, value] : *payload) out.claims[name] = claim_text(value);
  if (auto scope = member(*payload, "scope"); !scope.empty()) {
    for (const auto item : split(scope, ' ')) {
      if (!item.empty()) out.scopes.emplace_back(item);
    }
  } else if (const auto* scp = payload->if_contains("scp")) {
    if (scp->is_string()) out.scopes.emplace_back(scp->as_string());
    if (scp->is_array()) {
      for (const auto& item : scp->as_array()) {
        if (item.is_string()) out.scopes.emplace_back(item.as_string());
      }
    }
  }
  if (!policy.required_scopes.empty()) {
    bool granted = false;
    for (const auto& needed : policy.required_scopes) {
      for (const auto& scope : out.scopes) granted = granted || scope == needed;
    }
    if (!granted) {
      return JwtRejection{JwtFailure::kInsufficientScope, "the token lacks a required scope"};
    }
  }
  return out;
}

}  // namespace nimbus::services::apigateway::internal
