#include "nimbus/aws/credentials.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

namespace nimbus::aws {

Result<CredentialStore> CredentialStore::load_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return AwsError::validation(fmt::format("cannot read credentials file '{}'", path));
  std::stringstream text;
  text << file.rdbuf();
  auto store = parse(text.str());
  if (!store) {
    return AwsError::validation(
        fmt::format("credentials file '{}': {}", path, store.error().message()));
  }
  return store;
}

Result<CredentialStore> CredentialStore::parse(std::string_view text) {
  boost::property_tree::ptree tree;
  std::istringstream input{std::string(text)};
  try {
    boost::property_tree::ini_parser::read_ini(input, tree);
  } catch (const boost::property_tree::ini_parser_error& e) {
    return AwsError::validation(fmt::format("line {}: {}", e.line(), e.message()));
  }
  CredentialStore store;
  for (const auto& [section, fields] : tree) {
    if (fields.empty()) {
      return AwsError::validation(fmt::format("'{}' is not inside a [profile] section", section));
    }
    auto id = fields.get_optional<std::string>("aws_access_key_id");
    auto secret = fields.get_optional<std::string>("aws_secret_access_key");
    if (!id || !secret || id->empty() || secret->empty()) {
      return AwsError::validation(
          fmt::format("section [{}] needs aws_access_key_id and aws_secret_access_key", section));
    }
    if (store.find(*id) != nullptr) {
      return AwsError::validation(fmt::format("access key {} appears twice", *id));
    }
    store.add({*id, *secret, section});
  }
  return store;
}

void CredentialStore::add(AccessKey key) {
  auto id = key.access_key_id;
  if (first_.empty()) first_ = id;
  keys_.insert_or_assign(std::move(id), std::move(key));
}

const AccessKey* CredentialStore::find(std::string_view access_key_id) const {
  const auto it = keys_.find(std::string(access_key_id));
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace nimbus::aws
