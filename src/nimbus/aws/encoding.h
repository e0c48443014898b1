#pragma once

// The byte encodings AWS protocols use: base64 for blobs in JSON bodies and
// headers, SHA-256 digests for content hashes (Lambda's CodeSha256).

#include <optional>
#include <string>
#include <string_view>

namespace nimbus::aws {

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; nullopt for anything else (AWS rejects it too).
std::optional<std::string> base64_decode(std::string_view text);

// The raw 32-byte digest.
std::string sha256(std::string_view bytes);

// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace nimbus::aws
