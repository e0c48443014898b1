#pragma once

// Function code on disk, content-addressed by the SHA-256 of the zip:
// <root>/<hex>.zip as uploaded (served back by GetFunction) and <root>/<hex>/
// unpacked (what instances run, read-only). Identical uploads share both.
// Layout: docs/formats/lambda.md.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "nimbus/core/result.h"

namespace nimbus::services::lambda::internal {

// Lambda's limits for a zip uploaded directly.
inline constexpr std::uint64_t kMaxZipBytes = 50ull * 1024 * 1024;
inline constexpr std::uint64_t kMaxUnzippedBytes = 262'144'000;

struct StoredCode {
  std::string sha256_base64;  // CodeSha256 as Lambda reports it
  std::string sha256_hex;     // the name on disk
  std::uint64_t size = 0;     // CodeSize: the zip's length
};

class CodeStore {
 public:
  explicit CodeStore(std::filesystem::path root) : root_(std::move(root)) {}

  // Creates the directory and removes what an interrupted unpack left.
  Result<void> open();

  // Validates and unpacks a zip, keeping it until release(). Blocks on disk:
  // call from a storage thread. Errors are Lambda's
  // InvalidParameterValueException for zips it cannot unpack.
  Result<StoredCode> put(std::string_view zip);
  // The caller no longer needs put()'s result protected from collect().
  void release(const std::string& sha256_hex);

  // The kept zip's bytes; nullopt if there is none. Blocks on disk.
  Result<std::optional<std::string>> read_zip(const std::string& sha256_hex) const;

  // Unpacks the kept zip again if its directory is missing (after a crash).
  Result<void> ensure_unpacked(const std::string& sha256_hex);

  // Removes code no function references and no put() is holding.
  void collect(const std::set<std::string>& referenced_hex);

  std::filesystem::path dir(std::string_view sha256_hex) const { return root_ / sha256_hex; }
  std::filesystem::path zip(std::string_view sha256_hex) const {
    return root_ / (std::string(sha256_hex) + ".zip");
  }

 private:
  Result<void> unpack(std::string_view zip_bytes, const std::string& sha256_hex);

  std::filesystem::path root_;
  std::mutex mutex_;
  std::multiset<std::string> held_;
};

// The unzip, exposed for tests: writes regular files, directories and
// symbolic links of `zip` under `target` (which must not exist yet), with
// execute permission kept from the archive's Unix mode. Refuses entries that
// escape `target`, and archives that unpack past kMaxUnzippedBytes.
Result<std::uint64_t> unzip_into(std::string_view zip, const std::filesystem::path& target,
                                 std::uint64_t max_unzipped_bytes = kMaxUnzippedBytes);

}  // namespace nimbus::services::lambda::internal
