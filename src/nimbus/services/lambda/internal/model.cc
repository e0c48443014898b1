#include "nimbus/services/lambda/internal/model.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"

namespace nimbus::services::lambda::internal {
namespace json = boost::json;
namespace {

constexpr std::string_view kNamePattern =
    R"((arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?)";

bool all_of(std::string_view text, bool (*allowed)(char)) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}
bool qualifier_char(char c) { return name_char(c) && c != '.'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool lower(char c) { return c >= 'a' && c <= 'z'; }

// [a-z]{2}(-gov)?-[a-z]+-\d{1}
bool is_region(std::string_view text) {
  const auto parts = split(text, '-');
  std::size_t i = 0;
  if (parts.size() < 3 || parts[0].size() != 2 || !all_of(parts[0], lower)) return false;
  i = 1;
  if (parts.size() == 4 && parts[1] == "gov") i = 2;
  if (parts.size() != i + 2) return false;
  return all_of(parts[i], lower) && parts[i + 1].size() == 1 && digit(parts[i + 1][0]);
}

bool is_partition(std::string_view text) {
  if (text.empty()) return true;
  if (!text.starts_with("aws")) return false;
  for (const char c : text.substr(3)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return false;
  }
  return true;
}

struct ParsedName {
  std::string region;
  std::string account;
  FunctionRef ref;
};

// The model's pattern, read left to right with each optional part taken when
// it fits and more follows (as a regex engine's greedy first match would):
// (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?
// (function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?
std::optional<ParsedName> parse_name_pattern(std::string_view text) {
  const auto parts = split(text, ':');
  const std::size_t n = parts.size();
  std::size_t i = 0;
  ParsedName out;
  if (n >= 4 && parts[0] == "arn" && is_partition(parts[1]) && parts[2] == "lambda") i = 3;
  if (i + 1 < n && is_region(parts[i])) out.region = std::string(parts[i++]);
  if (i + 1 < n && parts[i].size() == 12 && all_of(parts[i], digit)) {
    out.account = std::string(parts[i++]);
  }
  if (i + 1 < n && parts[i] == "function") ++i;
  if (i >= n || !all_of(parts[i], name_char)) return std::nullopt;
  out.ref.name = std::string(parts[i++]);
  if (i < n) {
    if (parts[i] != "$LATEST" && !all_of(parts[i], qualifier_char)) return std::nullopt;
    out.ref.qualifier = std::string(parts[i++]);
  }
  if (i != n) return std::nullopt;
  return out;
}

std::string string_member(const json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_string()) {
    return std::string(value->as_string());
  }
  return {};
}

}  // namespace

std::string Scope::function_arn(std::string_view name) const {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", region, account_id, name);
}

std::string Scope::qualified_arn(std::string_view name, std::string_view qualifier) const {
  if (qualifier.empty()) return function_arn(name);
  return fmt::format("arn:aws:lambda:{}:{}:function:{}:{}", region, account_id, name, qualifier);
}

AwsError validation_error(std::string_view value, std::string_view field,
                          std::string_view constraint) {
  return AwsError("ValidationException",
                  fmt::format("1 validation error detected: Value '{}' at '{}' failed to satisfy "
                              "constraint: {}",
                              value, field, constraint),
                  400);
}

AwsError invalid_parameter(std::string message) {
  return AwsError("InvalidParameterValueException", std::move(message), 400);
}

AwsError resource_not_found(std::string message) {
  return AwsError("ResourceNotFoundException", std::move(message), 404);
}

AwsError resource_conflict(std::string message) {
  return AwsError("ResourceConflictException", std::move(message), 409);
}

AwsError function_not_found(const Scope& scope, const FunctionRef& ref) {
  return resource_not_found(
      fmt::format("Function not found: {}", scope.qualified_arn(ref.name, ref.qualifier)));
}

Result<FunctionRef> parse_function_name(std::string_view text, const Scope& scope,
                                        std::size_t max_length, std::string_view field) {
  if (text.size() > max_length) {
    return validation_error(
        text, field, fmt::format("Member must have length less than or equal to {}", max_length));
  }
  auto parsed = parse_name_pattern(text);
  if (!parsed) {
    return validation_error(
        text, field,
        fmt::format("Member must satisfy regular expression pattern: {}", kNamePattern));
  }
  FunctionRef ref = std::move(parsed->ref);
  // A region or account in an ARN must be this endpoint's.
  if (!parsed->region.empty() && parsed->region != scope.region) {
    return function_not_found(scope, ref);
  }
  if (!parsed->account.empty() && parsed->account != scope.account_id) {
    return AwsError("AccessDeniedException",
                    fmt::format("The function {} belongs to another account.", text), 403);
  }
  if (ref.name.size() > 64) {
    return validation_error(ref.name, field, "Member must have length less than or equal to 64");
  }
  return ref;
}

Result<FunctionRef> merge_qualifier(FunctionRef ref, std::string_view query_qualifier) {
  if (query_qualifier.empty()) return ref;
  if (!ref.qualifier.empty() && ref.qualifier != query_qualifier) {
    return invalid_parameter(
        "The derived qualifier from the function name does not match the specified qualifier.");
  }
  ref.qualifier = std::string(query_qualifier);
  return ref;
}

bool is_version_number(std::string_view qualifier) {
  return !qualifier.empty() && qualifier.size() <= 10 &&
         qualifier.find_first_not_of("0123456789") == std::string_view::npos;
}

bool is_alias_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || is_version_number(name)) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

const json::object* FunctionRecord::configuration(std::string_view version) const {
  if (version.empty() || version == kLatest) return &latest;
  if (!is_version_number(version)) return nullptr;
  const auto number = parse_uint(version);
  if (!number) return nullptr;
  const auto it = versions.find(*number);
  return it == versions.end() ? nullptr : &it->second;
}

std::optional<std::string> FunctionRecord::resolve_version(std::string_view qualifier) const {
  if (qualifier.empty() || qualifier == kLatest) return std::string(kLatest);
  if (is_version_number(qualifier)) {
    if (configuration(qualifier) == nullptr) return std::nullopt;
    return std::string(qualifier);
  }
  const auto it = aliases.find(std::string(qualifier));
  if (it == aliases.end()) return std::nullopt;
  return string_member(it->second, "FunctionVersion");
}

std::string code_hex(const json::object& configuration) {
  const auto decoded = aws::base64_decode(string_member(configuration, "CodeSha256"));
  return decoded ? hex_encode(*decoded) : std::string();
}

void FunctionRecord::code_hashes(std::vector<std::string>& out) const {
  out.push_back(code_hex(latest));
  for (const auto& [number, configuration] : versions) out.push_back(code_hex(configuration));
}

json::value FunctionRecord::to_json() const {
  json::object out;
  out["format"] = 1;
  out["name"] = name;
  out["latest"] = latest;
  json::object versions_json;
  for (const auto& [number, configuration] : versions) {
    versions_json[std::to_string(number)] = configuration;
  }
  out["versions"] = std::move(versions_json);
  json::object aliases_json;
  for (const auto& [alias, configuration] : aliases) aliases_json[alias] = configuration;
  out["aliases"] = std::move(aliases_json);
  out["tags"] = tags;
  if (reserved_concurrency) out["reserved_concurrency"] = *reserved_concurrency;
  if (!policy.empty()) out["policy"] = policy;
  json::object invoke_configs;
  for (const auto& [qualifier, configuration] : event_invoke_configs) {
    invoke_configs[qualifier] = configuration;
  }
  out["event_invoke_configs"] = std::move(invoke_configs);
  json::object provisioned;
  for (const auto& [qualifier, count] : provisioned_concurrency) provisioned[qualifier] = count;
  out["provisioned_concurrency"] = std::move(provisioned);
  json::object urls;
  for (const auto& [qualifier, configuration] : url_configs) urls[qualifier] = configuration;
  out["url_configs"] = std::move(urls);
  out["last_version"] = last_version;
  out["published_revision"] = published_revision;
  return out;
}

std::string FunctionRecord::encode() const { return json::serialize(to_json()); }

Result<FunctionRecord> FunctionRecord::decode(std::string_view text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  if (error) return AwsError::internal(fmt::format("not JSON: {}", error.message()));
  return from_json(value);
}

Result<FunctionRecord> FunctionRecord::from_json(const json::value& value) {
  const auto* object = value.if_object();
  if (object == nullptr || !object->contains("name") || !object->contains("latest")) {
    return AwsError::internal("a stored function record is malformed");
  }
  try {
    FunctionRecord record;
    record.name = std::string(object->at("name").as_string());
    record.latest = object->at("latest").as_object();
    for (const auto& [key, configuration] : object->at("versions").as_object()) {
      const auto number = parse_uint(key);
      if (!number) return AwsError::internal("a stored version number is malformed");
      record.versions[*number] = configuration.as_object();
    }
    for (const auto& [key, configuration] : object->at("aliases").as_object()) {
      record.aliases[std::string(key)] = configuration.as_object();
    }
    record.tags = object->at("tags").as_object();
    if (const auto* reserved = object->if_contains("reserved_concurrency")) {
      record.reserved_concurrency =
          static_cast<std::uint32_t>(reserved->to_number<std::uint64_t>());
    }
    if (const auto* policy = object->if_contains("policy")) record.policy = policy->as_object();
    for (const auto& [key, configuration] : object->at("event_invoke_configs").as_object()) {
      record.event_invoke_configs[std::string(key)] = configuration.as_object();
    }
    for (const auto& [key, count] : object->at("provisioned_concurrency").as_object()) {
      record.provisioned_concurrency[std::string(key)] =
          static_cast<std::uint32_t>(count.to_number<std::uint64_t>());
    }
    if (const auto* urls = object->if_contains("url_configs")) {
      for (const auto& [key, configuration] : urls->as_object()) {
        record.url_configs[std::string(key)] = configuration.as_object();
      }
    }
    record.last_version = object->at("last_version").to_number<std::uint64_t>();
    record.published_revision = std::string(object->at("published_revision").as_string());
    return record;
  } catch (const std::exception& e) {
    return AwsError::internal(fmt::format("a stored function record is malformed: {}", e.what()));
  }
}

std::string lambda_timestamp(std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}+0000",
                     std::chrono::floor<std::chrono::seconds>(time), millis);
}

std::string new_revision_id() { return new_request_id(); }

}  // namespace nimbus::services::lambda::internal
