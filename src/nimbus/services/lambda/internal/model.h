#pragma once

// What the Lambda service keeps per function, and the parsing of the names
// clients address functions by. Configurations are kept in the exact JSON
// shape Lambda returns (FunctionConfiguration, AliasConfiguration...), so
// reading one back is a copy. Persisted layout: docs/formats/lambda.md.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/core/result.h"

namespace nimbus::services::lambda::internal {

inline constexpr std::string_view kLatest = "$LATEST";

// A function as a request names it: "name", "name:qualifier", a full ARN or
// a partial one ("123456789012:function:name").
struct FunctionRef {
  std::string name;
  std::string qualifier;  // empty when none was given
};

struct Scope {
  std::string region;
  std::string account_id;

  std::string function_arn(std::string_view name) const;
  std::string qualified_arn(std::string_view name, std::string_view qualifier) const;
};

// `field` names the member in validation messages ("functionName").
Result<FunctionRef> parse_function_name(std::string_view text, const Scope& scope,
                                        std::size_t max_length = 170,
                                        std::string_view field = "functionName");

// The qualifier from the name and the one from ?Qualifier= must agree.
Result<FunctionRef> merge_qualifier(FunctionRef ref, std::string_view query_qualifier);

bool is_version_number(std::string_view qualifier);
bool is_alias_name(std::string_view name);  // [a-zA-Z0-9-_]+, not all digits, <= 128

// "1 validation error detected: Value 'x' at 'field' failed to satisfy constraint: ..."
AwsError validation_error(std::string_view value, std::string_view field,
                          std::string_view constraint);
AwsError invalid_parameter(std::string message);
AwsError resource_not_found(std::string message);
AwsError resource_conflict(std::string message);
AwsError function_not_found(const Scope& scope, const FunctionRef& ref);

struct FunctionRecord {
  std::string name;
  boost::json::object latest;  // FunctionConfiguration of $LATEST
  std::map<std::uint64_t, boost::json::object> versions;
  std::map<std::string, boost::json::object> aliases;  // AliasConfiguration by name
  boost::json::object tags;
  std::optional<std::uint32_t> reserved_concurrency;
  boost::json::object policy;  // {"Version": ..., "Id": "default", "Statement": [...]}, or empty
  std::map<std::string, boost::json::object> event_invoke_configs;  // by qualifier
  std::map<std::string, std::uint32_t> provisioned_concurrency;     // by qualifier
  // FunctionUrlConfig by qualifier ("$LATEST" or an alias), with "UrlId".
  std::map<std::string, boost::json::object> url_configs;
  std::uint64_t last_version = 0;  // numbers are never reused, even after a delete
  // $LATEST's RevisionId when the newest version was published: publishing
  // again without a change returns that version, as Lambda does.
  std::string published_revision;

  // The configuration of "$LATEST" or a version number; nullptr if none.
  const boost::json::object* configuration(std::string_view version) const;
  // The version an alias or version qualifier points at for routing: the
  // alias's main version (weights aside), or the qualifier itself.
  std::optional<std::string> resolve_version(std::string_view qualifier) const;
  // Every code hash (hex) any version uses.
  void code_hashes(std::vector<std::string>& out) const;

  boost::json::value to_json() const;
  static Result<FunctionRecord> from_json(const boost::json::value& json);
  // As stored (storage::RecordCatalog): the JSON text.
  std::string encode() const;
  static Result<FunctionRecord> decode(std::string_view text);
};

// The hex SHA-256 a configuration's CodeSha256 names.
std::string code_hex(const boost::json::object& configuration);

// Lambda's timestamp format: "2026-11-27T10:15:30.123+0000".
std::string lambda_timestamp(std::chrono::system_clock::time_point time);

// A random revision id, as Lambda's (a UUID).
std::string new_revision_id();

}  // namespace nimbus::services::lambda::internal
