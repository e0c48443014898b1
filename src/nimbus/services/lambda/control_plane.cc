// The Lambda operations that read and change functions, versions, aliases
// and their settings. Reads come from the catalog's memory; changes go
// through LambdaServiceImpl::mutate, on a storage thread.

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/strings.h"
#include "nimbus/services/lambda/internal/service_impl.h"

namespace nimbus::services::lambda::internal {
namespace asio = boost::asio;
namespace json = boost::json;

AwsError wrong_type(std::string_view key, std::string_view type) {
  return AwsError(
      "InvalidRequestContentException",
      fmt::format("Could not parse request body into json: the member '{}' must be {}", key, type),
      400);
}

AwsError missing(std::string_view field) {
  return validation_error("null", field, "Member must not be null");
}

Result<std::optional<std::string>> get_string(const json::object& body, std::string_view key) {
  const auto* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string()) return wrong_type(key, "a string");
  return std::optional<std::string>(std::string(value->as_string()));
}

Result<const json::object*> get_object(const json::object& body, std::string_view key) {
  const auto* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) return static_cast<const json::object*>(nullptr);
  if (!value->is_object()) return wrong_type(key, "an object");
  return &value->as_object();
}

namespace {

// Runtimes AWS has retired: Lambda refuses them for new functions and updates.
constexpr std::string_view kDeprecatedRuntimes[] = {
    "nodejs",     "nodejs4.3",     "nodejs6.10",    "nodejs8.10",    "nodejs10.x",
    "nodejs12.x", "nodejs14.x",    "nodejs16.x",    "python2.7",     "python3.6",
    "python3.7",  "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",
    "dotnet6",    "ruby2.5",       "ruby2.7",       "go1.x",         "java8"};
// Runtimes AWS offers today (the ones Nimbus runs come from the engine).
constexpr std::string_view kAwsRuntimes[] = {
    "nodejs18.x", "nodejs20.x", "nodejs22.x", "python3.8",    "python3.9",
    "python3.10", "python3.11", "python3.12", "python3.13",   "java8.al2",
    "java11",     "java17",     "java21",     "dotnet8",      "ruby3.2",
    "ruby3.3",    "ruby3.4",    "provided",   "provided.al2", "provided.al2023"};

constexpr std::string_view kReservedVariables[] = {"_HANDLER",
                                                   "_X_AMZN_TRACE_ID",
                                                   "AWS_DEFAULT_REGION",
                                                   "AWS_REGION",
                                                   "AWS_EXECUTION_ENV",
                                                   "AWS_LAMBDA_FUNCTION_NAME",
                                                   "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                                   "AWS_LAMBDA_FUNCTION_VERSION",
                                                   "AWS_LAMBDA_INITIALIZATION_TYPE",
                                                   "AWS_LAMBDA_LOG_GROUP_NAME",
                                                   "AWS_LAMBDA_LOG_STREAM_NAME",
                                                   "AWS_ACCESS_KEY",
                                                   "AWS_ACCESS_KEY_ID",
                                                   "AWS_SECRET_ACCESS_KEY",
                                                   "AWS_SESSION_TOKEN",
                                                   "AWS_LAMBDA_RUNTIME_API",
                                                   "LAMBDA_TASK_ROOT",
                                                   "LAMBDA_RUNTIME_DIR"};

constexpr std::size_t kDefaultPageSize = 50;

Result<std::optional<std::int64_t>> get_int(const json::object& body, std::string_view key) {
  const auto* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) return std::optional<std::int64_t>();
  if (value->is_int64()) return std::optional<std::int64_t>(value->as_int64());
  if (value->is_uint64() && value->as_uint64() <= INT64_MAX) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(value->as_uint64()));
  }
  return wrong_type(key, "an integer");
}

Result<std::optional<bool>> get_bool(const json::object& body, std::string_view key) {
  const auto* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) return std::optional<bool>();
  if (!value->is_bool()) return wrong_type(key, "a boolean");
  return std::optional<bool>(value->as_bool());
}

std::string camel(std::string_view key) {
  std::string out(key);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

Result<void> check_range(const std::optional<std::int64_t>& value, std::string_view key,
                         std::int64_t low, std::int64_t high) {
  if (!value) return ok();
  if (*value < low) {
    return validation_error(std::to_string(*value), camel(key),
                            fmt::format("Member must have value greater than or equal to {}", low));
  }
  if (*value > high) {
    return validation_error(std::to_string(*value), camel(key),
                            fmt::format("Member must have value less than or equal to {}", high));
  }
  return ok();
}

bool contains(std::span<const std::string_view> list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

Result<void> check_runtime(const std::string& runtime) {
  if (contains(kDeprecatedRuntimes, runtime)) {
    return invalid_parameter(fmt::format(
        "The runtime parameter of {} is no longer supported for creating or updating AWS Lambda "
        "functions. We recommend you use a supported runtime while creating or updating "
        "functions.",
        runtime));
  }
  if (!contains(kAwsRuntimes, runtime)) {
    return validation_error(
        runtime, "runtime",
        fmt::format("Member must satisfy enum value set: [{}] or be a valid ARN",
                    fmt::join(kAwsRuntimes, ", ")));
  }
  const auto runnable = engine::supported_runtimes();
  if (std::find(runnable.begin(), runnable.end(), runtime) == runnable.end()) {
    return invalid_parameter(fmt::format("Nimbus cannot run the {} runtime yet. It runs: {}.",
                                         runtime, fmt::join(runnable, ", ")));
  }
  return ok();
}

bool valid_role(std::string_view role) {
  // arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+
  const auto parts = split(role, ':');
  if (parts.size() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].empty())
    return false;
  if (!parts[1].empty() && !parts[1].starts_with("aws")) return false;
  if (parts[4].size() != 12 || parts[4].find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  std::string_view resource = parts[5];
  if (!resource.starts_with("role")) return false;
  resource.remove_prefix(4);
  if (resource.starts_with('/')) resource.remove_prefix(1);
  if (resource.empty()) return false;
  return resource.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
             "_+=,.@-/") == std::string_view::npos;
}

Result<json::object> check_environment(const json::object& environment) {
  const auto* variables = environment.if_contains("Variables");
  json::object out;
  if (variables == nullptr || variables->is_null()) return out;
  if (!variables->is_object()) return wrong_type("Variables", "an object");
  std::vector<std::string> reserved;
  for (const auto& [key, value] : variables->as_object()) {
    const std::string name(key);
    bool valid = name.size() >= 2 && std::isalpha(static_cast<unsigned char>(name[0]));
    for (const char c : name)
      valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid) {
      return validation_error(name, "environment.variables",
                              "Member must satisfy regular expression pattern: "
                              "[a-zA-Z]([a-zA-Z0-9_])+");
    }
    if (!value.is_string()) return wrong_type(name, "a string");
    if (contains(kReservedVariables, name)) reserved.push_back(name);
    out[key] = value;
  }
  if (!reserved.empty()) {
    return invalid_parameter(fmt::format(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided contains reserved keys that are currently not supported for "
        "modification. Reserved keys used in this request: {}",
        fmt::join(reserved, ", ")));
  }
  const std::string measured = json::serialize(out);
  if (measured.size() > 4096) {
    return invalid_parameter(fmt::format(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit. String measured: {}",
        measured));
  }
  return out;
}

// The settings CreateFunction and UpdateFunctionConfiguration share, applied
// to `configuration` after validation.
Result<void> apply_settings(const json::object& body, json::object& configuration, bool creating) {
  auto runtime = get_string(body, "Runtime");
  if (!runtime) return runtime.error();
  auto handler = get_string(body, "Handler");
  if (!handler) return handler.error();
  if (creating && (!*runtime || !*handler)) {
    return invalid_parameter(
        "Runtime and Handler are mandatory parameters for functions created with deployment "
        "packages.");
  }
  if (*runtime) {
    if (auto checked = check_runtime(**runtime); !checked) return checked.error();
    configuration["Runtime"] = **runtime;
  }
  if (*handler) {
    if ((*handler)->size() > 128) {
      return validation_error(**handler, "handler",
                              "Member must have length less than or equal to 128");
    }
    if ((*handler)->empty() || (*handler)->find_first_of(" \t\r\n") != std::string::npos) {
      return validation_error(**handler, "handler",
                              "Member must satisfy regular expression pattern: [^\\s]+");
    }
    configuration["Handler"] = **handler;
  }
  auto role = get_string(body, "Role");
  if (!role) return role.error();
  if (creating && !*role) return missing("role");
  if (*role) {
    if (!valid_role(**role)) {
      return validation_error(**role, "role",
                              "Member must satisfy regular expression pattern: "
                              "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
    }
    configuration["Role"] = **role;
  }
  auto description = get_string(body, "Description");
  if (!description) return description.error();
  if (*description) {
    if ((*description)->size() > 256) {
      return validation_error(**description, "description",
                              "Member must have length less than or equal to 256");
    }
    configuration["Description"] = **description;
  }
  auto timeout = get_int(body, "Timeout");
  if (!timeout) return timeout.error();
  if (auto checked = check_range(*timeout, "Timeout", 1, 900); !checked) return checked;
  if (*timeout) configuration["Timeout"] = **timeout;
  auto memory = get_int(body, "MemorySize");
  if (!memory) return memory.error();
  if (auto checked = check_range(*memory, "MemorySize", 128, 10240); !checked) return checked;
  if (*memory) configuration["MemorySize"] = **memory;
  auto environment = get_object(body, "Environment");
  if (!environment) return environment.error();
  if (*environment) {
    auto variables = check_environment(**environment);
    if (!variables) return variables.error();
    if (variables->empty()) {
      configuration.erase("Environment");
    } else {
      configuration["Environment"] = json::object{{"Variables", std::move(*variables)}};
    }
  }
  if (const auto* architectures = body.if_contains("Architectures")) {
    if (!architectures->is_array() || architectures->as_array().size() != 1 ||
        !architectures->as_array()[0].is_string() ||
        (architectures->as_array()[0].as_string() != "x86_64" &&
         architectures->as_array()[0].as_string() != "arm64")) {
      return validation_error(json::serialize(*architectures), "architectures",
                              "Member must satisfy constraint: [Member must satisfy enum value "
                              "set: [x86_64, arm64]]");
    }
    configuration["Architectures"] = *architectures;
  }
  auto storage = get_object(body, "EphemeralStorage");
  if (!storage) return storage.error();
  if (*storage) {
    auto size = get_int(**storage, "Size");
    if (!size) return size.error();
    if (!*size) return missing("ephemeralStorage.size");
    if (auto checked = check_range(*size, "ephemeralStorage.size", 512, 10240); !checked) {
      return checked;
    }
    configuration["EphemeralStorage"] = json::object{{"Size", **size}};
  }
  auto tracing = get_object(body, "TracingConfig");
  if (!tracing) return tracing.error();
  if (*tracing) {
    auto mode = get_string(**tracing, "Mode");
    if (!mode) return mode.error();
    if (*mode && **mode != "Active" && **mode != "PassThrough") {
      return validation_error(**mode, "tracingConfig.mode",
                              "Member must satisfy enum value set: [Active, PassThrough]");
    }
    configuration["TracingConfig"] = json::object{{"Mode", mode->value_or("PassThrough")}};
  }
  auto dead_letter = get_object(body, "DeadLetterConfig");
  if (!dead_letter) return dead_letter.error();
  if (*dead_letter) configuration["DeadLetterConfig"] = **dead_letter;
  if (const auto* layers = body.if_contains("Layers");
      layers && layers->is_array() && !layers->as_array().empty()) {
    return invalid_parameter("Nimbus does not support Lambda layers yet.");
  }
  return ok();
}

Result<std::string> zip_bytes(const json::object& code_source) {
  auto zip = get_string(code_source, "ZipFile");
  if (!zip) return zip.error();
  if (!*zip) {
    if (code_source.contains("S3Bucket") || code_source.contains("S3Key")) {
      return invalid_parameter(
          "Nimbus has no object storage yet: upload the code as ZipFile instead of "
          "S3Bucket/S3Key.");
    }
    if (code_source.contains("ImageUri")) {
      return invalid_parameter("Nimbus does not run container images: upload the code as ZipFile.");
    }
    return invalid_parameter("Please provide a source for function code.");
  }
  auto decoded = aws::base64_decode(**zip);
  if (!decoded) return wrong_type("ZipFile", "base64");
  if (decoded->size() > kMaxZipBytes) {
    return AwsError("RequestEntityTooLargeException",
                    fmt::format("Zipped size must be smaller than {} bytes", kMaxZipBytes), 413);
  }
  return std::move(*decoded);
}

std::string now_timestamp() { return lambda_timestamp(std::chrono::system_clock::now()); }

// A paginated slice: items after `marker` (by key), at most `max_items`.
template <class Item, class KeyOf>
std::pair<std::vector<Item>, std::string> page(std::vector<Item> items, const std::string& marker,
                                               std::size_t max_items, KeyOf key_of) {
  std::vector<Item> out;
  std::string next;
  bool started = marker.empty();
  for (auto& item : items) {
    if (!started) {
      started = key_of(item) == marker;
      continue;
    }
    if (out.size() == max_items) {
      next = key_of(out.back());
      break;
    }
    out.push_back(std::move(item));
  }
  return {std::move(out), next};
}

Result<std::size_t> max_items(const Call& call, std::size_t upper) {
  const auto text = call.query("MaxItems");
  if (text.empty()) return std::min(kDefaultPageSize, upper);
  const auto value = parse_uint(text);
  if (!value || *value < 1 || *value > upper) {
    return validation_error(text, "maxItems",
                            fmt::format("Member must have value between 1 and {}", upper));
  }
  return static_cast<std::size_t>(*value);
}

json::object public_view(json::object configuration) { return configuration; }

std::int64_t epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The account's code storage: every distinct package once.
std::uint64_t stored_code_bytes(const std::vector<std::shared_ptr<const FunctionRecord>>& records) {
  std::uint64_t total = 0;
  std::set<std::string> counted;
  for (const auto& record : records) {
    auto add = [&](const json::object& configuration) {
      if (counted.insert(code_hex(configuration)).second) {
        total += configuration.at("CodeSize").to_number<std::uint64_t>();
      }
    };
    add(record->latest);
    for (const auto& [number, configuration] : record->versions) add(configuration);
  }
  return total;
}

}  // namespace

Result<void> LambdaServiceImpl::check_code_storage(std::size_t zip_bytes) const {
  if (stored_code_bytes(catalog_->all()) + zip_bytes > options_.code_storage_bytes) {
    return AwsError("CodeStorageExceededException", "Code storage limit exceeded.", 400);
  }
  return ok();
}

json::object LambdaServiceImpl::configuration_for(const FunctionRecord& record,
                                                  const FunctionRef& ref,
                                                  const std::string& version) const {
  const json::object* configuration = record.configuration(version);
  json::object out = configuration ? *configuration : record.latest;
  // Through an alias, the ARN names the alias.
  if (!ref.qualifier.empty() && ref.qualifier != kLatest && !is_version_number(ref.qualifier)) {
    out["FunctionArn"] = scope_.qualified_arn(record.name, ref.qualifier);
  }
  return public_view(std::move(out));
}

asio::awaitable<Reply> LambdaServiceImpl::create_function(Call& call) {
  const auto& body = call.body;
  auto name_text = get_string(body, "FunctionName");
  if (!name_text) co_return name_text.error();
  if (!*name_text) co_return missing("functionName");
  auto ref = parse_function_name(**name_text, scope_, 140);
  if (!ref) co_return ref.error();
  if (!ref->qualifier.empty()) {
    co_return invalid_parameter("A qualifier cannot be part of the function name on creation.");
  }
  auto code_source = get_object(body, "Code");
  if (!code_source) co_return code_source.error();
  if (!*code_source) co_return missing("code");
  if (auto package = get_string(body, "PackageType"); package && *package && **package == "Image") {
    co_return invalid_parameter("Nimbus does not run container images: use PackageType Zip.");
  }

  json::object configuration{
      {"FunctionName", ref->name},
      {"FunctionArn", scope_.function_arn(ref->name)},
      {"Description", ""},
      {"Timeout", 3},
      {"MemorySize", 128},
      {"Version", kLatest},
      {"TracingConfig", {{"Mode", "PassThrough"}}},
      {"State", "Active"},
      {"LastUpdateStatus", "Successful"},
      {"PackageType", "Zip"},
      {"Architectures", json::array{"x86_64"}},
      {"EphemeralStorage", {{"Size", 512}}},
      {"SnapStart", {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
      {"LoggingConfig", {{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + ref->name}}},
  };
  if (auto applied = apply_settings(body, configuration, true); !applied) co_return applied.error();
  json::object tags;
  if (auto given = get_object(body, "Tags"); !given) {
    co_return given.error();
  } else if (*given) {
    if ((*given)->size() > 50)
      co_return invalid_parameter("Number of tags exceeds resource tag limit.");
    for (const auto& [key, value] : **given) {
      if (!value.is_string()) co_return wrong_type(key, "a string");
      tags[key] = value;
    }
  }
  auto publish = get_bool(body, "Publish");
  if (!publish) co_return publish.error();
  auto zip = zip_bytes(**code_source);
  if (!zip) co_return zip.error();

  json::object created;
  const bool publish_version = publish->value_or(false);
  auto stored = co_await store_.run([&](storage::Store&) -> Result<void> {
    if (auto room = check_code_storage(zip->size()); !room) return room.error();
    auto code = code_.put(*zip);
    if (!code) return code.error();
    configuration["CodeSha256"] = code->sha256_base64;
    configuration["CodeSize"] = code->size;
    auto done =
        catalog_->mutate(ref->name, [&](const FunctionRecord* current) -> Result<Catalog::Outcome> {
          if (current != nullptr) {
            return resource_conflict(fmt::format("Function already exist: {}", ref->name));
          }
          FunctionRecord record;
          record.name = ref->name;
          configuration["LastModified"] = now_timestamp();
          configuration["RevisionId"] = new_revision_id();
          record.latest = configuration;
          record.tags = tags;
          created = configuration;
          if (publish_version) {
            record.last_version = 1;
            json::object version = configuration;
            version["Version"] = "1";
            version["FunctionArn"] = scope_.qualified_arn(ref->name, "1");
            version["RevisionId"] = new_revision_id();
            record.versions[1] = version;
            record.published_revision = std::string(configuration["RevisionId"].as_string());
            created = version;
          }
          return Catalog::Outcome(std::move(record));
        });
    code_.release(code->sha256_hex);
    return done;
  });
  if (!stored) co_return stored.error();
  co_return json_reply(201, created);
}

asio::awaitable<Reply> LambdaServiceImpl::get_function(Call& call) {
  auto ref = function_ref(call);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  auto version = (*record)->resolve_version(ref->qualifier);
  if (!version) co_return function_not_found(scope_, *ref);
  auto configuration = configuration_for(**record, *ref, *version);
  json::object out;
  out["Code"] = {{"RepositoryType", "S3"}, {"Location", code_location(configuration)}};
  out["Configuration"] = std::move(configuration);
  if (!(*record)->tags.empty()) out["Tags"] = (*record)->tags;
  if ((*record)->reserved_concurrency) {
    out["Concurrency"] = {{"ReservedConcurrentExecutions", *(*record)->reserved_concurrency}};
  }
  co_return json_reply(200, out);
}

asio::awaitable<Reply> LambdaServiceImpl::get_function_configuration(Call& call) {
  auto ref = function_ref(call);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  auto version = (*record)->resolve_version(ref->qualifier);
  if (!version) co_return function_not_found(scope_, *ref);
  co_return json_reply(200, configuration_for(**record, *ref, *version));
}

asio::awaitable<Reply> LambdaServiceImpl::list_functions(Call& call) {
  auto limit = max_items(call, 10000);
  if (!limit) co_return limit.error();
  const auto all_versions = call.query("FunctionVersion");
  if (!all_versions.empty() && all_versions != "ALL") {
    co_return validation_error(all_versions, "functionVersion",
                               "Member must satisfy enum value set: [ALL]");
  }
  std::vector<json::object> items;
  for (const auto& record : catalog_->all()) {
    items.push_back(record->latest);
    if (all_versions == "ALL") {
      for (const auto& [number, configuration] : record->versions) items.push_back(configuration);
    }
  }
  const auto marker_text = call.query("Marker");
  std::string marker;
  if (!marker_text.empty()) {
    auto decoded = aws::base64_decode(marker_text);
    if (!decoded) co_return invalid_parameter("The marker is not valid.");
    marker = std::move(*decoded);
  }
  auto key_of = [](const json::object& configuration) {
    return std::string(configuration.at("FunctionName").as_string()) + ":" +
           std::string(configuration.at("Version").as_string());
  };
  auto [slice, next] = page(std::move(items), marker, *limit, key_of);
  json::array functions;
  for (auto& configuration : slice) functions.push_back(public_view(std::move(configuration)));
  json::object out{{"Functions", std::move(functions)}};
  if (!next.empty()) out["NextMarker"] = aws::base64_encode(next);
  co_return json_reply(200, out);
}

asio::awaitable<Reply> LambdaServiceImpl::update_function_code(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  if (!ref->qualifier.empty()) co_return invalid_parameter("Only $LATEST code can be updated.");
  auto revision = get_string(call.body, "RevisionId");
  if (!revision) co_return revision.error();
  auto publish = get_bool(call.body, "Publish");
  if (!publish) co_return publish.error();
  auto dry_run = get_bool(call.body, "DryRun");
  if (!dry_run) co_return dry_run.error();
  auto zip = zip_bytes(call.body);
  if (!zip) co_return zip.error();
  json::object architectures;
  if (const auto* given = call.body.if_contains("Architectures")) {
    json::object only{{"Architectures", *given}};
    json::object ignored;
    if (auto applied = apply_settings(only, ignored, false); !applied) co_return applied.error();
    architectures = std::move(ignored);
  }
  json::object updated;
  auto stored = co_await store_.run([&](storage::Store&) -> Result<void> {
    if (!catalog_->find(ref->name)) return function_not_found(scope_, *ref);
    if (auto room = check_code_storage(zip->size()); !room) return room.error();
    auto code = code_.put(*zip);
    if (!code) return code.error();
    auto done =
        catalog_->mutate(ref->name, [&](const FunctionRecord* current) -> Result<Catalog::Outcome> {
          if (current == nullptr) return function_not_found(scope_, *ref);
          if (*revision && **revision != current->latest.at("RevisionId").as_string()) {
            return precondition_failed();
          }
          FunctionRecord record = *current;
          json::object& latest = record.latest;
          latest["CodeSha256"] = code->sha256_base64;
          latest["CodeSize"] = code->size;
          for (const auto& [key, value] : architectures) latest[key] = value;
          latest["LastModified"] = now_timestamp();
          latest["RevisionId"] = new_revision_id();
          latest["LastUpdateStatus"] = "Successful";
          updated = latest;
          if (publish->value_or(false)) {
            const std::uint64_t number = ++record.last_version;
            json::object version = latest;
            version["Version"] = std::to_string(number);
            version["FunctionArn"] = scope_.qualified_arn(record.name, std::to_string(number));
            version["RevisionId"] = new_revision_id();
            record.versions[number] = version;
            record.published_revision = std::string(latest["RevisionId"].as_string());
            updated = version;
          }
          if (dry_run->value_or(false)) return Catalog::Outcome(*current);
          return Catalog::Outcome(std::move(record));
        });
    // The replaced code stays until DeleteFunction or the next start:
    // instances of the old code may still be finishing an invocation.
    code_.release(code->sha256_hex);
    return done;
  });
  if (!stored) co_return stored.error();
  co_return json_reply(200, updated);
}

asio::awaitable<Reply> LambdaServiceImpl::update_function_configuration(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  if (!ref->qualifier.empty()) {
    co_return invalid_parameter("Only the $LATEST configuration can be updated.");
  }
  auto revision = get_string(call.body, "RevisionId");
  if (!revision) co_return revision.error();
  json::object updated;
  auto stored =
      co_await mutate(ref->name, [&](const FunctionRecord* current) -> Result<Catalog::Outcome> {
        if (current == nullptr) return function_not_found(scope_, *ref);
        if (*revision && **revision != current->latest.at("RevisionId").as_string()) {
          return precondition_failed();
        }
        FunctionRecord record = *current;
        if (auto applied = apply_settings(call.body, record.latest, false); !applied) {
          return applied.error();
        }
        record.latest["LastModified"] = now_timestamp();
        record.latest["RevisionId"] = new_revision_id();
        record.latest["LastUpdateStatus"] = "Successful";
        updated = record.latest;
        return Catalog::Outcome(std::move(record));
      });
  if (!stored) co_return stored.error();
  co_return json_reply(200, updated);
}

asio::awaitable<Reply> LambdaServiceImpl::delete_function(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  if (ref->qualifier == kLatest) {
    co_return invalid_parameter("$LATEST version cannot be deleted without deleting the function.");
  }
  if (!ref->qualifier.empty() && !is_version_number(ref->qualifier)) {
    co_return invalid_parameter("Deletion of aliases is not supported.");
  }
  auto stored = co_await store_.run([&](storage::Store&) -> Result<void> {
    auto done =
        catalog_->mutate(ref->name, [&](const FunctionRecord* current) -> Result<Catalog::Outcome> {
          if (current == nullptr) return function_not_found(scope_, {ref->name, ""});
          if (ref->qualifier.empty()) return Catalog::Outcome(Catalog::Remove{});
          FunctionRecord record = *current;
          const auto number = *parse_uint(ref->qualifier);
          if (!record.versions.contains(number)) return function_not_found(scope_, *ref);
          std::vector<std::string> users;
          for (const auto& [alias, configuration] : record.aliases) {
            bool uses = configuration.at("FunctionVersion").as_string() == ref->qualifier;
            if (const auto* routing = configuration.if_contains("RoutingConfig")) {
              if (const auto* weights =
                      routing->as_object().if_contains("AdditionalVersionWeights")) {
                uses = uses || weights->as_object().contains(ref->qualifier);
              }
            }
            if (uses) users.push_back(alias);
          }
          if (!users.empty()) {
            return resource_conflict(fmt::format(
                "Unable to delete version because the following aliases reference it: [{}]",
                fmt::join(users, ", ")));
          }
          record.versions.erase(number);
          record.event_invoke_configs.erase(ref->qualifier);
          record.provisioned_concurrency.erase(ref->qualifier);
          return Catalog::Outcome(std::move(record));
        });
    if (done) code_.collect(referenced_code(*catalog_));
    return done;
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::publish_version(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto sha = get_string(call.body, "CodeSha256");
  if (!sha) co_return sha.error();
  auto description = get_string(call.body, "Description");
  if (!description) co_return description.error();
  auto revision = get_string(call.body, "RevisionId");
  if (!revision) co_return revision.error();
  json::object published;
  auto stored =
      co_await mutate(ref->name, [&](const FunctionRecord* current) -> Result<Catalog::Outcome> {
        if (current == nullptr) return function_not_found(scope_, {ref->name, ""});
        const std::string current_sha(current->latest.at("CodeSha256").as_string());
        if (*sha && **sha != current_sha) {
          return invalid_parameter(
              fmt::format("CodeSHA256 ({}) is different from current CodeSHA256 in $LATEST ({}). "
                          "Please try again "
                          "with the current CodeSHA256.",
                          **sha, current_sha));
        }
        const std::string latest_revision(current->latest.at("RevisionId").as_string());
        if (*revision && **revision != latest_revision) return precondition_failed();
        // Nothing changed since the last version: Lambda returns that version.
        if (current->published_revision == latest_revision &&
            current->versions.contains(current->last_version)) {
          published = current->versions.at(current->last_version);
          return Catalog::Outcome(*current);
        }
        FunctionRecord record = *current;
        const std::uint64_t number = ++record.last_version;
        json::object version = record.latest;
        version["Version"] = std::to_string(number);
        version["FunctionArn"] = scope_.qualified_arn(record.name, std::to_string(number));
        version["RevisionId"] = new_revision_id();
        version["LastModified"] = now_timestamp();
        if (*description) version["Description"] = **description;
        record.versions[number] = version;
        record.published_revision = latest_revision;
        published = std::move(version);
        return Catalog::Outcome(std::move(record));
      });
  if (!stored) co_return stored.error();
  co_return json_reply(201, published);
}

asio::awaitable<Reply> LambdaServiceImpl::list_versions(Call& call) {
  auto ref = function_ref(call, 170);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  auto limit = max_items(call, 10000);
  if (!limit) co_return limit.error();
  std::vector<json::object> items{(*record)->latest};
  for (const auto& [number, configuration] : (*record)->versions) items.push_back(configuration);
  auto [slice, next] =
      page(std::move(items), call.query("Marker"), *limit,
           [](const json::object& c) { return std::string(c.at("Version").as_string()); });
  json::array versions;
  for (auto& configuration : slice) versions.push_back(public_view(std::move(configuration)));
  json::object out{{"Versions", std::move(versions)}};
  if (!next.empty()) out["NextMarker"] = next;
  co_return json_reply(200, out);
}

// ---- aliases ---------------------------------------------------------------

namespace {

// Validates RoutingConfig against the record; returns the stored form.
Result<json::object> check_routing(const json::object& routing, const FunctionRecord& record,
                                   const std::string& main_version) {
  json::object out;
  const auto* weights = routing.if_contains("AdditionalVersionWeights");
  if (weights == nullptr || weights->is_null()) return out;
  if (!weights->is_object()) return wrong_type("AdditionalVersionWeights", "an object");
  const auto& map = weights->as_object();
  if (map.empty()) return out;
  if (map.size() > 1) {
    return validation_error(json::serialize(map), "routingConfig.additionalVersionWeights",
                            "Member must have length less than or equal to 1");
  }
  const auto& [version, weight] = *map.begin();
  if (!weight.is_number()) return wrong_type(version, "a number");
  const double share = weight.to_number<double>();
  if (share < 0.0 || share > 1.0) {
    return validation_error(
        json::serialize(weight), "routingConfig.additionalVersionWeights",
        "Map value must satisfy constraint: [Member must have value less than "
        "or equal to 1.0, Member must have value greater than or equal to 0.0]");
  }
  if (main_version == kLatest || version == kLatest) {
    return invalid_parameter(
        "$LATEST is not supported for an alias pointing to more than 1 version");
  }
  if (record.configuration(version) == nullptr || !is_version_number(version)) {
    return resource_not_found(fmt::format("Function not found: arn:aws:lambda:::function:{}:{}",
                                          record.name, std::string(version)));
  }
  if (version == main_version) {
    return invalid_parameter(
        "Invalid function version in additional version weights: the "
        "version is the alias's primary version.");
  }
  out["AdditionalVersionWeights"] = map;
  return out;
}

}  // namespace

asio::awaitable<Reply> LambdaServiceImpl::create_alias(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto name = get_string(call.body, "Name");
  if (!name) co_return name.error();
  if (!*name) co_return missing("name");
  if (!is_alias_name(**name)) {
    co_return validation_error(**name, "name",
                               "Member must satisfy regular expression pattern: "
                               "(?!^[0-9]+$)([a-zA-Z0-9-_]+)");
  }
  auto version = get_string(call.body, "FunctionVersion");
  if (!version) co_return version.error();
  if (!*version) co_return missing("functionVersion");
  auto description = get_string(call.body, "Description");
  if (!description) co_return description.error();
  auto routing = get_object(call.body, "RoutingConfig");
  if (!routing) co_return routing.error();
  json::object created;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (record.configuration(**version) == nullptr) {
      return function_not_found(scope_, {ref->name, **version});
    }
    const std::string arn = scope_.qualified_arn(ref->name, **name);
    if (record.aliases.contains(**name)) {
      return resource_conflict(fmt::format("Alias already exists: {}", arn));
    }
    json::object alias{{"AliasArn", arn},
                       {"Name", **name},
                       {"FunctionVersion", **version},
                       {"Description", description->value_or("")},
                       {"RevisionId", new_revision_id()}};
    if (*routing) {
      auto checked = check_routing(**routing, record, **version);
      if (!checked) return checked.error();
      if (!checked->empty()) alias["RoutingConfig"] = std::move(*checked);
    }
    record.aliases[**name] = alias;
    created = std::move(alias);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(201, created);
}

asio::awaitable<Reply> LambdaServiceImpl::get_alias(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  const std::string name = call.label("Name");
  const auto it = (*record)->aliases.find(name);
  if (it == (*record)->aliases.end()) {
    co_return resource_not_found(
        fmt::format("Cannot find alias arn: {}", scope_.qualified_arn(ref->name, name)));
  }
  co_return json_reply(200, it->second);
}

asio::awaitable<Reply> LambdaServiceImpl::update_alias(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  const std::string name = call.label("Name");
  auto version = get_string(call.body, "FunctionVersion");
  if (!version) co_return version.error();
  auto description = get_string(call.body, "Description");
  if (!description) co_return description.error();
  auto routing = get_object(call.body, "RoutingConfig");
  if (!routing) co_return routing.error();
  auto revision = get_string(call.body, "RevisionId");
  if (!revision) co_return revision.error();
  json::object updated;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    const auto it = record.aliases.find(name);
    if (it == record.aliases.end()) {
      return resource_not_found(
          fmt::format("Cannot find alias arn: {}", scope_.qualified_arn(ref->name, name)));
    }
    json::object alias = it->second;
    if (*revision && **revision != alias.at("RevisionId").as_string()) return precondition_failed();
    if (*version) {
      if (record.configuration(**version) == nullptr) {
        return function_not_found(scope_, {ref->name, **version});
      }
      alias["FunctionVersion"] = **version;
    }
    if (*description) alias["Description"] = **description;
    const std::string main_version(alias.at("FunctionVersion").as_string());
    if (*routing) {
      auto checked = check_routing(**routing, record, main_version);
      if (!checked) return checked.error();
      if (checked->empty()) {
        alias.erase("RoutingConfig");
      } else {
        alias["RoutingConfig"] = std::move(*checked);
      }
    } else if (const auto* existing = alias.if_contains("RoutingConfig")) {
      // A new primary version must still differ from the weighted one.
      auto checked = check_routing(existing->as_object(), record, main_version);
      if (!checked) return checked.error();
    }
    alias["RevisionId"] = new_revision_id();
    record.aliases[name] = alias;
    updated = std::move(alias);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(200, updated);
}

asio::awaitable<Reply> LambdaServiceImpl::delete_alias(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  const std::string name = call.label("Name");
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    // Deleting an alias that does not exist succeeds, as on Lambda.
    record.aliases.erase(name);
    record.event_invoke_configs.erase(name);
    record.provisioned_concurrency.erase(name);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::list_aliases(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  auto limit = max_items(call, 10000);
  if (!limit) co_return limit.error();
  const auto version = call.query("FunctionVersion");
  std::vector<json::object> items;
  for (const auto& [name, alias] : (*record)->aliases) {
    if (!version.empty() && alias.at("FunctionVersion").as_string() != version) continue;
    items.push_back(alias);
  }
  auto [slice, next] =
      page(std::move(items), call.query("Marker"), *limit,
           [](const json::object& a) { return std::string(a.at("Name").as_string()); });
  json::array aliases;
  for (auto& alias : slice) aliases.push_back(std::move(alias));
  json::object out{{"Aliases", std::move(aliases)}};
  if (!next.empty()) out["NextMarker"] = next;
  co_return json_reply(200, out);
}

// ---- asynchronous invocation settings ------------------------------------

asio::awaitable<Reply> LambdaServiceImpl::put_event_invoke_config(Call& call, bool merge) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  const std::string qualifier = ref->qualifier.empty() ? std::string(kLatest) : ref->qualifier;
  auto retries = get_int(call.body, "MaximumRetryAttempts");
  if (!retries) co_return retries.error();
  if (auto checked = check_range(*retries, "MaximumRetryAttempts", 0, 2); !checked)
    co_return checked.error();
  auto age = get_int(call.body, "MaximumEventAgeInSeconds");
  if (!age) co_return age.error();
  if (auto checked = check_range(*age, "MaximumEventAgeInSeconds", 60, 21600); !checked) {
    co_return checked.error();
  }
  auto destinations = get_object(call.body, "DestinationConfig");
  if (!destinations) co_return destinations.error();
  json::object destination_config;
  if (*destinations) {
    for (const std::string_view kind : {"OnSuccess", "OnFailure"}) {
      auto target = get_object(**destinations, kind);
      if (!target) co_return target.error();
      if (!*target) continue;
      auto arn = get_string(**target, "Destination");
      if (!arn) co_return arn.error();
      if (!*arn || arn->value().empty()) {
        destination_config[kind] = json::object{};
        continue;
      }
      auto parsed = parse_function_name(**arn, scope_, 350, "destination");
      if (!(*arn)->starts_with("arn:aws:lambda:") || !parsed) {
        co_return invalid_parameter(fmt::format(
            "The destination ARN {} is not supported: Nimbus delivers to Lambda functions now; "
            "queues, topics and event buses arrive with those services.",
            **arn));
      }
      destination_config[kind] = json::object{{"Destination", **arn}};
    }
  }
  json::object result;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!record.resolve_version(qualifier)) return function_not_found(scope_, *ref);
    json::object config;
    const auto existing = record.event_invoke_configs.find(qualifier);
    if (merge) {
      if (existing == record.event_invoke_configs.end()) {
        return resource_not_found(fmt::format("The function {} doesn't have an EventInvokeConfig",
                                              scope_.qualified_arn(ref->name, qualifier)));
      }
      config = existing->second;
    }
    config["FunctionArn"] = scope_.qualified_arn(ref->name, qualifier);
    config["LastModified"] = epoch_seconds();
    if (*retries) config["MaximumRetryAttempts"] = **retries;
    if (*age) config["MaximumEventAgeInSeconds"] = **age;
    if (!merge) {
      if (!config.contains("MaximumRetryAttempts")) config["MaximumRetryAttempts"] = 2;
      if (!config.contains("MaximumEventAgeInSeconds")) config["MaximumEventAgeInSeconds"] = 21600;
    }
    if (*destinations || !merge) {
      json::object merged =
          merge && config.contains("DestinationConfig")
              ? config["DestinationConfig"].as_object()
              : json::object{{"OnSuccess", json::object{}}, {"OnFailure", json::object{}}};
      for (const auto& [kind, target] : destination_config) merged[kind] = target;
      config["DestinationConfig"] = std::move(merged);
    }
    record.event_invoke_configs[qualifier] = config;
    result = std::move(config);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(200, result);
}

asio::awaitable<Reply> LambdaServiceImpl::get_event_invoke_config(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  const std::string qualifier = ref->qualifier.empty() ? std::string(kLatest) : ref->qualifier;
  const auto it = (*record)->event_invoke_configs.find(qualifier);
  if (it == (*record)->event_invoke_configs.end()) {
    co_return resource_not_found(fmt::format("The function {} doesn't have an EventInvokeConfig",
                                             scope_.qualified_arn(ref->name, qualifier)));
  }
  co_return json_reply(200, it->second);
}

asio::awaitable<Reply> LambdaServiceImpl::delete_event_invoke_config(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  const std::string qualifier = ref->qualifier.empty() ? std::string(kLatest) : ref->qualifier;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!record.event_invoke_configs.contains(qualifier)) {
      return resource_not_found(fmt::format("The function {} doesn't have an EventInvokeConfig",
                                            scope_.qualified_arn(ref->name, qualifier)));
    }
    record.event_invoke_configs.erase(qualifier);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::list_event_invoke_configs(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  auto limit = max_items(call, 50);
  if (!limit) co_return limit.error();
  std::vector<json::object> items;
  for (const auto& [qualifier, config] : (*record)->event_invoke_configs) items.push_back(config);
  auto [slice, next] =
      page(std::move(items), call.query("Marker"), *limit,
           [](const json::object& c) { return std::string(c.at("FunctionArn").as_string()); });
  json::array configs;
  for (auto& config : slice) configs.push_back(std::move(config));
  json::object out{{"FunctionEventInvokeConfigs", std::move(configs)}};
  if (!next.empty()) out["NextMarker"] = next;
  co_return json_reply(200, out);
}

// ---- concurrency -----------------------------------------------------------

asio::awaitable<Reply> LambdaServiceImpl::put_concurrency(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto reserved = get_int(call.body, "ReservedConcurrentExecutions");
  if (!reserved) co_return reserved.error();
  if (!*reserved) co_return missing("reservedConcurrentExecutions");
  if (auto checked =
          check_range(*reserved, "ReservedConcurrentExecutions", 0, options_.account_concurrency);
      !checked) {
    co_return checked.error();
  }
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    // Lambda keeps 100 of the account's concurrency for functions without a reservation.
    std::int64_t reserved_elsewhere = 0;
    for (const auto& other : catalog_->all()) {
      if (other->name != ref->name && other->reserved_concurrency) {
        reserved_elsewhere += *other->reserved_concurrency;
      }
    }
    const std::int64_t unreserved_minimum =
        std::min<std::int64_t>(100, options_.account_concurrency / 10);
    if (options_.account_concurrency - reserved_elsewhere - **reserved < unreserved_minimum) {
      return invalid_parameter(
          fmt::format("Specified ReservedConcurrentExecutions for function decreases account's "
                      "UnreservedConcurrentExecution below its minimum value of [{}].",
                      unreserved_minimum));
    }
    record.reserved_concurrency = static_cast<std::uint32_t>(**reserved);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(200, json::object{{"ReservedConcurrentExecutions", **reserved}});
}

asio::awaitable<Reply> LambdaServiceImpl::get_concurrency(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  json::object out;
  if ((*record)->reserved_concurrency) {
    out["ReservedConcurrentExecutions"] = *(*record)->reserved_concurrency;
  }
  co_return json_reply(200, out);
}

asio::awaitable<Reply> LambdaServiceImpl::delete_concurrency(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    record.reserved_concurrency.reset();
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

namespace {

json::object provisioned_view(std::uint32_t requested) {
  return {{"RequestedProvisionedConcurrentExecutions", requested},
          {"AvailableProvisionedConcurrentExecutions", requested},
          {"AllocatedProvisionedConcurrentExecutions", requested},
          {"Status", "READY"},
          {"LastModified", lambda_timestamp(std::chrono::system_clock::now())}};
}

AwsError provisioned_not_found() {
  return AwsError("ProvisionedConcurrencyConfigNotFoundException",
                  "No Provisioned Concurrency Config found for this function", 404);
}

}  // namespace

asio::awaitable<Reply> LambdaServiceImpl::put_provisioned(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  if (ref->qualifier.empty()) co_return missing("qualifier");
  if (ref->qualifier == kLatest) {
    co_return invalid_parameter(
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
  }
  auto count = get_int(call.body, "ProvisionedConcurrentExecutions");
  if (!count) co_return count.error();
  if (!*count) co_return missing("provisionedConcurrentExecutions");
  if (auto checked =
          check_range(*count, "ProvisionedConcurrentExecutions", 1, options_.account_concurrency);
      !checked) {
    co_return checked.error();
  }
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!record.resolve_version(ref->qualifier)) return function_not_found(scope_, *ref);
    record.provisioned_concurrency[ref->qualifier] = static_cast<std::uint32_t>(**count);
    return ok();
  });
  if (!stored) co_return stored.error();
  auto view = provisioned_view(static_cast<std::uint32_t>(**count));
  co_return json_reply(202, view);
}

asio::awaitable<Reply> LambdaServiceImpl::get_provisioned(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  if (ref->qualifier.empty()) co_return missing("qualifier");
  auto record = find(*ref);
  if (!record) co_return record.error();
  const auto it = (*record)->provisioned_concurrency.find(ref->qualifier);
  if (it == (*record)->provisioned_concurrency.end()) co_return provisioned_not_found();
  co_return json_reply(200, provisioned_view(it->second));
}

asio::awaitable<Reply> LambdaServiceImpl::delete_provisioned(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  if (ref->qualifier.empty()) co_return missing("qualifier");
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!record.provisioned_concurrency.contains(ref->qualifier)) return provisioned_not_found();
    record.provisioned_concurrency.erase(ref->qualifier);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::list_provisioned(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  json::array configs;
  for (const auto& [qualifier, count] : (*record)->provisioned_concurrency) {
    auto view = provisioned_view(count);
    view["FunctionArn"] = scope_.qualified_arn(ref->name, qualifier);
    configs.push_back(std::move(view));
  }
  co_return json_reply(200, json::object{{"ProvisionedConcurrencyConfigs", std::move(configs)}});
}

asio::awaitable<Reply> LambdaServiceImpl::get_account_settings(Call&) {
  std::int64_t reserved = 0;
  const auto records = catalog_->all();
  for (const auto& record : records) {
    if (record->reserved_concurrency) reserved += *record->reserved_concurrency;
  }
  const std::uint64_t code_size = stored_code_bytes(records);
  json::object out{
      {"AccountLimit",
       {{"TotalCodeSize", options_.code_storage_bytes},
        {"CodeSizeUnzipped", kMaxUnzippedBytes},
        {"CodeSizeZipped", kMaxZipBytes},
        {"ConcurrentExecutions", options_.account_concurrency},
        {"UnreservedConcurrentExecutions",
         static_cast<std::int64_t>(options_.account_concurrency) - reserved}}},
      {"AccountUsage", {{"TotalCodeSize", code_size}, {"FunctionCount", records.size()}}}};
  co_return json_reply(200, out);
}

// ---- resource policy -------------------------------------------------------

asio::awaitable<Reply> LambdaServiceImpl::add_permission(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto sid = get_string(call.body, "StatementId");
  if (!sid) co_return sid.error();
  if (!*sid) co_return missing("statementId");
  auto action = get_string(call.body, "Action");
  if (!action) co_return action.error();
  if (!*action) co_return missing("action");
  auto principal = get_string(call.body, "Principal");
  if (!principal) co_return principal.error();
  if (!*principal) co_return missing("principal");
  auto source_arn = get_string(call.body, "SourceArn");
  if (!source_arn) co_return source_arn.error();
  auto source_account = get_string(call.body, "SourceAccount");
  if (!source_account) co_return source_account.error();
  auto revision = get_string(call.body, "RevisionId");
  if (!revision) co_return revision.error();
  if (!(*action)->starts_with("lambda:") && **action != "*") {
    co_return invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at 'action' failed to satisfy constraint: Member "
        "must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
        **action));
  }
  json::object statement{{"Sid", **sid}, {"Effect", "Allow"}};
  if ((*principal)->find(".amazonaws.com") != std::string::npos) {
    statement["Principal"] = {{"Service", **principal}};
  } else if (**principal == "*") {
    statement["Principal"] = "*";
  } else {
    const std::string arn = (*principal)->starts_with("arn:")
                                ? **principal
                                : fmt::format("arn:aws:iam::{}:root", **principal);
    statement["Principal"] = {{"AWS", arn}};
  }
  statement["Action"] = **action;
  statement["Resource"] = scope_.qualified_arn(ref->name, ref->qualifier);
  json::object condition;
  if (*source_account) condition["StringEquals"] = {{"AWS:SourceAccount", **source_account}};
  if (*source_arn) condition["ArnLike"] = {{"AWS:SourceArn", **source_arn}};
  if (!condition.empty()) statement["Condition"] = std::move(condition);
  const std::string scope_key = ref->qualifier;
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    if (!ref->qualifier.empty() && !record.resolve_version(ref->qualifier)) {
      return function_not_found(scope_, *ref);
    }
    json::value& slot = record.policy[scope_key];
    if (!slot.is_object()) slot.emplace_object();
    json::object& policy = slot.as_object();
    if (*revision && policy.contains("RevisionId") &&
        **revision != policy.at("RevisionId").as_string()) {
      return precondition_failed();
    }
    json::array& statements = policy["Statement"].is_array() ? policy["Statement"].as_array()
                                                             : policy["Statement"].emplace_array();
    for (const auto& existing : statements) {
      if (existing.as_object().at("Sid").as_string() == **sid) {
        return resource_conflict(
            fmt::format("The statement id ({}) provided already exists. Please provide a new "
                        "statement id, or "
                        "remove the existing statement.",
                        **sid));
      }
    }
    statements.push_back(statement);
    policy["RevisionId"] = new_revision_id();
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return json_reply(201, json::object{{"Statement", json::serialize(statement)}});
}

asio::awaitable<Reply> LambdaServiceImpl::get_policy(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  auto record = find(*ref);
  if (!record) co_return record.error();
  const auto* policy = (*record)->policy.if_contains(ref->qualifier);
  if (policy == nullptr || policy->as_object().at("Statement").as_array().empty()) {
    co_return resource_not_found("The resource you requested does not exist.");
  }
  const auto& object = policy->as_object();
  json::object document{
      {"Version", "2012-10-17"}, {"Id", "default"}, {"Statement", object.at("Statement")}};
  co_return json_reply(200, json::object{{"Policy", json::serialize(document)},
                                         {"RevisionId", object.at("RevisionId")}});
}

asio::awaitable<Reply> LambdaServiceImpl::remove_permission(Call& call) {
  auto ref = function_ref(call, 140);
  if (!ref) co_return ref.error();
  const std::string sid = call.label("StatementId");
  const std::string revision = call.query("RevisionId");
  auto stored = co_await update(ref->name, [&](FunctionRecord& record) -> Result<void> {
    auto* policy = record.policy.if_contains(ref->qualifier);
    const auto not_found =
        resource_not_found(fmt::format("Statement {} is not found in resource policy.", sid));
    if (policy == nullptr) return not_found;
    auto& object = policy->as_object();
    if (!revision.empty() && revision != object.at("RevisionId").as_string()) {
      return precondition_failed();
    }
    auto& statements = object.at("Statement").as_array();
    const auto it = std::find_if(statements.begin(), statements.end(), [&](const json::value& s) {
      return s.as_object().at("Sid").as_string() == sid;
    });
    if (it == statements.end()) return not_found;
    statements.erase(it);
    object["RevisionId"] = new_revision_id();
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

// ---- tags -------------------------------------------------------------------

namespace {

// Tags live on the function; its unqualified ARN names it.
Result<std::string> tagged_function(const Call& call, const Scope& scope) {
  const std::string arn = call.label("ARN");
  const std::string prefix =
      fmt::format("arn:aws:lambda:{}:{}:function:", scope.region, scope.account_id);
  if (!arn.starts_with(prefix) || arn.find(':', prefix.size()) != std::string::npos) {
    return validation_error(arn, "resource",
                            "Member must satisfy regular expression pattern: "
                            "arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}:"
                            "\\d{12}:function:[a-zA-Z0-9-_]+");
  }
  return arn.substr(prefix.size());
}

}  // namespace

asio::awaitable<Reply> LambdaServiceImpl::tag_resource(Call& call) {
  auto name = tagged_function(call, scope_);
  if (!name) co_return name.error();
  auto tags = get_object(call.body, "Tags");
  if (!tags) co_return tags.error();
  if (!*tags) co_return missing("tags");
  auto stored = co_await update(*name, [&](FunctionRecord& record) -> Result<void> {
    for (const auto& [key, value] : **tags) {
      if (!value.is_string()) return wrong_type(key, "a string");
      record.tags[key] = value;
    }
    if (record.tags.size() > 50)
      return invalid_parameter("Number of tags exceeds resource tag limit.");
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::untag_resource(Call& call) {
  auto name = tagged_function(call, scope_);
  if (!name) co_return name.error();
  const auto keys = call.query_all("tagKeys");
  auto stored = co_await update(*name, [&](FunctionRecord& record) -> Result<void> {
    for (const auto& key : keys) record.tags.erase(key);
    return ok();
  });
  if (!stored) co_return stored.error();
  co_return empty_reply(204);
}

asio::awaitable<Reply> LambdaServiceImpl::list_tags(Call& call) {
  auto name = tagged_function(call, scope_);
  if (!name) co_return name.error();
  auto record = catalog_->find(*name);
  if (!record) co_return function_not_found(scope_, {*name, ""});
  co_return json_reply(200, json::object{{"Tags", record->tags}});
}

}  // namespace nimbus::services::lambda::internal
