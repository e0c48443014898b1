#pragma once

// The access keys Nimbus accepts when it verifies signatures. Loaded from a
// file in the AWS shared-credentials format, so the same file serves the
// AWS CLI and the server:
//
//   [alice]                       <- the IAM user name the key belongs to
//   aws_access_key_id = AKIA...
//   aws_secret_access_key = ...
//
// Immutable after loading, so lookups from every I/O thread need no lock.

#include <string>
#include <string_view>
#include <unordered_map>

#include "nimbus/core/result.h"

namespace nimbus::aws {

struct AccessKey {
  std::string access_key_id;
  std::string secret_access_key;
  std::string user_name;
};

class CredentialStore {
 public:
  static Result<CredentialStore> load_file(const std::string& path);
  static Result<CredentialStore> parse(std::string_view text);

  void add(AccessKey key);
  const AccessKey* find(std::string_view access_key_id) const;
  std::size_t size() const { return keys_.size(); }
  // The first key added (the file's first section): what functions are given
  // as their credentials, so their SDK calls back into Nimbus are signed.
  const AccessKey* first() const { return first_.empty() ? nullptr : find(first_); }

 private:
  std::unordered_map<std::string, AccessKey> keys_;
  std::string first_;
};

}  // namespace nimbus::aws
