#include "nimbus/services/logs/logs_service.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/aws/json_protocol.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/log_format.h"
#include "nimbus/services/logs/internal/filter_pattern.h"
#include "nimbus/storage/async_store.h"
#include "nimbus/storage/key_encoding.h"

namespace nimbus::services::logs {
namespace {

namespace json = boost::json;
using storage::Store;

constexpr std::string_view kGroupsKeyspace = "logs.groups";
constexpr std::int64_t kDayMs = 86'400'000;
// PutLogEvents: AWS's limits.
constexpr std::size_t kMaxBatchBytes = 1'048'576;
constexpr std::size_t kEventOverheadBytes = 26;
constexpr std::int64_t kMaxFutureMs = 2 * 3'600'000;
constexpr std::int64_t kMaxAgeMs = 14 * kDayMs;
constexpr std::size_t kMaxResponseBytes = 1'048'576;
constexpr std::array kRetentionDays = {1,    3,    5,    7,    14,   30,  60,  90,
                                       120,  150,  180,  365,  400,  545, 731, 1096,
                                       1827, 2192, 2557, 2922, 3288, 3653};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AwsError invalid_parameter(std::string message) {
  return AwsError("InvalidParameterException", std::move(message), 400);
}
AwsError group_not_found() {
  return AwsError("ResourceNotFoundException", "The specified log group does not exist.", 400);
}
AwsError stream_not_found() {
  return AwsError("ResourceNotFoundException", "The specified log stream does not exist.", 400);
}
AwsError constraint(std::string_view value, std::string_view field, std::string_view rule) {
  return invalid_parameter(fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: {}", value,
      field, rule));
}

std::string string_member(const json::object& in, std::string_view name) {
  const auto* value = in.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::optional<std::int64_t> int_member(const json::object& in, std::string_view name) {
  const auto* value = in.if_contains(name);
  return value == nullptr ? std::nullopt : aws::json_integer(*value);
}

bool bool_member(const json::object& in, std::string_view name, bool fallback) {
  const auto* value = in.if_contains(name);
  return value != nullptr && value->is_bool() ? value->as_bool() : fallback;
}

// A name, or an ARN (arn:aws:logs:<region>:<account>:log-group:<name>[:*]).
std::string group_name(const json::object& in) {
  std::string name = string_member(in, "logGroupName");
  if (!name.empty()) return name;
  std::string identifier = string_member(in, "logGroupIdentifier");
  if (identifier.starts_with("arn:")) {
    auto at = identifier.find(":log-group:");
    if (at == std::string::npos) return identifier;
    identifier = identifier.substr(at + 11);
    if (identifier.ends_with(":*")) identifier.resize(identifier.size() - 2);
  }
  return identifier;
}

Result<void> validate_group_name(const std::string& name) {
  constexpr std::string_view kRule =
      "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+";
  if (name.empty() || name.size() > 512) {
    return constraint(name, "logGroupName", "Member must have length between 1 and 512");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
        c != '/' && c != '#') {
      return constraint(name, "logGroupName", kRule);
    }
  }
  return ok();
}

Result<void> validate_stream_name(const std::string& name) {
  if (name.empty() || name.size() > 512) {
    return constraint(name, "logStreamName", "Member must have length between 1 and 512");
  }
  if (name.find_first_of(":*") != std::string::npos || name.find('\0') != std::string::npos) {
    return constraint(name, "logStreamName",
                      "Member must satisfy regular expression pattern: [^:*]*");
  }
  return ok();
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

AwsError bad_token() { return invalid_parameter("The specified nextToken is invalid."); }

// An event's place: the part of its key after the stream, be64(time) be64(seq).
struct Position {
  std::int64_t timestamp_ms = 0;
  std::uint64_t sequence = 0;
  std::string suffix() const {
    std::string out;
    ledger::put_be64(out, ledger::sortable(timestamp_ms));
    ledger::put_be64(out, sequence);
    return out;
  }
  // From suffix()'s 16 bytes.
  static Position from_suffix(std::string_view suffix) {
    return {ledger::unsortable(ledger::get_be64(suffix)), ledger::get_be64(suffix.substr(8))};
  }
  auto operator<=>(const Position&) const = default;
};

struct Event {
  std::string stream;
  Position position;
  std::string message;
};

class LogsServiceImpl final : public LogsService {
 public:
  LogsServiceImpl(LogsServiceOptions options, storage::AsyncStore& store, ledger::Journal& journal,
                  storage::Keyspace groups, storage::Keyspace streams, storage::Keyspace events)
      : options_(std::move(options)),
        store_(store),
        journal_(journal),
        groups_(std::move(groups)),
        streams_(std::move(streams)),
        events_(std::move(events)) {
    descriptor_.name = "logs";
    descriptor_.signing_name = "logs";
    descriptor_.protocol = aws::Protocol::kJson11;
    descriptor_.target_prefixes = {"Logs_20140328"};
    // PutLogEvents carries at most 1 MB of events, plus JSON framing.
    descriptor_.max_request_bytes = 4 * 1024 * 1024;
    operations_ = {
        {"CreateLogGroup", &LogsServiceImpl::create_log_group},
        {"DeleteLogGroup", &LogsServiceImpl::delete_log_group},
        {"DescribeLogGroups", &LogsServiceImpl::describe_log_groups},
        {"CreateLogStream", &LogsServiceImpl::create_log_stream},
        {"DeleteLogStream", &LogsServiceImpl::delete_log_stream},
        {"DescribeLogStreams", &LogsServiceImpl::describe_log_streams},
        {"PutLogEvents", &LogsServiceImpl::put_log_events},
        {"GetLogEvents", &LogsServiceImpl::get_log_events},
        {"FilterLogEvents", &LogsServiceImpl::filter_log_events},
        {"PutRetentionPolicy", &LogsServiceImpl::put_retention_policy},
        {"DeleteRetentionPolicy", &LogsServiceImpl::delete_retention_policy},
        {"TagLogGroup", &LogsServiceImpl::tag_log_group},
        {"UntagLogGroup", &LogsServiceImpl::untag_log_group},
        {"ListTagsLogGroup", &LogsServiceImpl::list_tags_log_group},
    };
    sweeper_ = std::thread([this] { sweep_loop(); });
  }

  ~LogsServiceImpl() override { stop(); }

  const aws::ServiceDescriptor& descriptor() const override { return descriptor_; }

  void stop() override {
    {
      std::lock_guard lock(sweep_mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    sweep_wake_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
  }

  boost::asio::awaitable<net::HttpResponse> handle(const aws::RequestContext& context,
                                                   net::HttpRequest& request) override {
    auto decoded = aws::decode_json_request(request);
    if (!decoded) {
      co_return aws::error_response(descriptor_.protocol, decoded.error(), context.request_id);
    }
    auto operation = operations_.find(decoded->operation);
    if (operation == operations_.end()) {
      bool modelled = std::binary_search(kModelled.begin(), kModelled.end(), decoded->operation);
      AwsError error =
          modelled
              ? AwsError("NotImplementedException",
                         fmt::format("Nimbus does not implement {} yet.", decoded->operation), 501)
              : AwsError::unknown_operation(decoded->operation);
      co_return aws::error_response(descriptor_.protocol, error, context.request_id);
    }
    // Every operation reads or writes the store: all of it on a storage thread.
    auto run = [this, handler = operation->second, &decoded, &context](Store& store) {
      return (this->*handler)(store, decoded->input, context);
    };
    auto result = co_await store_.run(std::move(run));
    if (!result) {
      co_return aws::error_response(descriptor_.protocol, result.error(), context.request_id);
    }
    co_return aws::json_response(descriptor_.protocol, *result);
  }

 private:
  using Handler = Result<json::object> (LogsServiceImpl::*)(Store&, const json::object&,
                                                            const aws::RequestContext&);

  // Every operation of the 2014-03-28 model, sorted: the rest are 501.
  static constexpr std::array<std::string_view, 48> kModelled = {
      "AssociateKmsKey",
      "CancelExportTask",
      "CreateExportTask",
      "CreateLogGroup",
      "CreateLogStream",
      "DeleteDataProtectionPolicy",
      "DeleteDestination",
      "DeleteLogGroup",
      "DeleteLogStream",
      "DeleteMetricFilter",
      "DeleteQueryDefinition",
      "DeleteResourcePolicy",
      "DeleteRetentionPolicy",
      "DeleteSubscriptionFilter",
      "DescribeDestinations",
      "DescribeExportTasks",
      "DescribeLogGroups",
      "DescribeLogStreams",
      "DescribeMetricFilters",
      "DescribeQueries",
      "DescribeQueryDefinitions",
      "DescribeResourcePolicies",
      "DescribeSubscriptionFilters",
      "DisassociateKmsKey",
      "FilterLogEvents",
      "GetDataProtectionPolicy",
      "GetLogEvents",
      "GetLogGroupFields",
      "GetLogRecord",
      "GetQueryResults",
      "ListTagsForResource",
      "ListTagsLogGroup",
      "PutDataProtectionPolicy",
      "PutDestination",
      "PutDestinationPolicy",
      "PutLogEvents",
      "PutMetricFilter",
      "PutQueryDefinition",
      "PutResourcePolicy",
      "PutRetentionPolicy",
      "PutSubscriptionFilter",
      "StartQuery",
      "StopQuery",
      "TagLogGroup",
      "TagResource",
      "TestMetricFilter",
      "UntagLogGroup",
      "UntagResource",
  };

  std::string group_arn(const std::string& group) const {
    return fmt::format("arn:aws:logs:{}:{}:log-group:{}", options_.region, options_.account_id,
                       group);
  }

  // ---------------------------------------------------------------- groups

  // The group's record; a group with streams but no record (a function's,
  // created by its first log line) gets one made from its first stream.
  Result<std::optional<json::object>> load_group(Store& store, const std::string& name) {
    auto record = store.get(groups_, name);
    if (!record) return record.error();
    if (*record) {
      boost::system::error_code ec;
      auto value = json::parse(**record, ec);
      if (!ec && value.is_object()) return std::optional<json::object>(value.as_object());
    }
    auto first = store.scan(
        streams_, with_limit(storage::ScanOptions::with_prefix(ledger::log_group_prefix(name)), 1));
    if (!first) return first.error();
    if (first->items.empty()) return std::optional<json::object>();
    return std::optional<json::object>(
        json::object{{"creationTime", creation_time(first->items[0].value)}});
  }

  Result<json::object> require_group(Store& store, const std::string& name) {
    auto group = load_group(store, name);
    if (!group) return group.error();
    if (!*group) return group_not_found();
    return std::move(**group);
  }

  Result<void> save_group(Store& store, const std::string& name, const json::object& record) {
    return store.put(groups_, name, json::serialize(record));
  }

  // One read-modify-write of an existing group's record, under the group lock.
  template <class Change>
  Result<json::object> edit_group(Store& store, const std::string& name, Change change) {
    std::lock_guard lock(groups_mutex_);
    auto group = require_group(store, name);
    if (!group) return group.error();
    change(*group);
    if (auto saved = save_group(store, name, *group); !saved) return saved.error();
    return json::object{};
  }

  static storage::ScanOptions with_limit(storage::ScanOptions options, std::size_t limit) {
    options.limit = limit;
    return options;
  }

  static std::int64_t creation_time(std::string_view stream_value) {
    boost::system::error_code ec;
    auto value = json::parse(stream_value, ec);
    if (ec || !value.is_object()) return 0;
    const auto* created = value.as_object().if_contains("creationTime");
    return created != nullptr && created->is_number() ? created->to_number<std::int64_t>() : 0;
  }

  Result<json::object> create_log_group(Store& store, const json::object& in,
                                        const aws::RequestContext&) {
    const std::string name = string_member(in, "logGroupName");
    if (auto valid = validate_group_name(name); !valid) return valid.error();
    std::lock_guard lock(groups_mutex_);
    auto existing = load_group(store, name);
    if (!existing) return existing.error();
    if (*existing) {
      return AwsError("ResourceAlreadyExistsException", "The specified log group already exists",
                      400);
    }
    json::object record{{"creationTime", now_ms()}};
    if (const auto* tags = in.if_contains("tags"); tags != nullptr && tags->is_object()) {
      record["tags"] = *tags;
    }
    if (auto saved = save_group(store, name, record); !saved) return saved.error();
    return json::object{};
  }

  // Deletes every key with `prefix` in `keyspace`, a page at a time.
  static Result<void> delete_prefix(Store& store, const storage::Keyspace& keyspace,
                                    const std::string& prefix) {
    return delete_range(store, keyspace, storage::ScanOptions::with_prefix(prefix));
  }

  static Result<void> delete_range(Store& store, const storage::Keyspace& keyspace,
                                   storage::ScanOptions options) {
    options.limit = 1000;
    for (;;) {
      auto page = store.scan(keyspace, options);
      if (!page) return page.error();
      if (page->items.empty()) return ok();
      storage::WriteBatch batch;
      for (const auto& item : page->items) batch.del(keyspace, item.key);
      if (auto written = store.write(batch); !written) return written.error();
      if (!page->cursor) return ok();
      options.cursor = page->cursor;
    }
  }

  Result<json::object> delete_log_group(Store& store, const json::object& in,
                                        const aws::RequestContext&) {
    const std::string name = string_member(in, "logGroupName");
    std::lock_guard lock(groups_mutex_);
    auto group = require_group(store, name);
    if (!group) return group.error();
    // The record first: once it and the streams are gone, the group is.
    if (auto deleted = store.del(groups_, name); !deleted) return deleted.error();
    const std::string prefix = ledger::log_group_prefix(name);
    if (auto deleted = delete_prefix(store, streams_, prefix); !deleted) return deleted.error();
    if (auto deleted = delete_prefix(store, events_, prefix); !deleted) return deleted.error();
    return json::object{};
  }

  // Every group name: records, and groups that only have streams.
  Result<std::map<std::string, std::int64_t>> all_groups(Store& store) {
    std::map<std::string, std::int64_t> names;  // name -> creation time from streams
    storage::ScanOptions options;
    options.limit = 1;
    for (;;) {
      auto page = store.scan(streams_, options);
      if (!page) return page.error();
      if (page->items.empty()) break;
      auto key = ledger::parse_log_stream_key(page->items[0].key);
      if (key) {
        names.emplace(std::string(key->group), creation_time(page->items[0].value));
        // Skip the rest of this group's streams.
        options.cursor.reset();
        options.lower =
            storage::Bound{storage::prefix_successor(ledger::log_group_prefix(key->group)), true};
      } else {
        options.cursor = page->items[0].key;
      }
    }
    storage::ScanOptions records;
    for (;;) {
      auto page = store.scan(groups_, records);
      if (!page) return page.error();
      for (const auto& item : page->items) names.emplace(item.key, 0);
      if (!page->cursor) break;
      records.cursor = page->cursor;
    }
    return names;
  }

  Result<json::object> describe_log_groups(Store& store, const json::object& in,
                                           const aws::RequestContext&) {
    const std::string prefix = string_member(in, "logGroupNamePrefix");
    const std::string pattern = string_member(in, "logGroupNamePattern");
    if (!prefix.empty() && !pattern.empty()) {
      return invalid_parameter(
          "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.");
    }
    auto limit = int_member(in, "limit").value_or(50);
    if (limit < 1 || limit > 50) {
      return constraint(std::to_string(limit), "limit",
                        "Member must have value less than or equal to 50");
    }
    std::string after;
    if (auto token = string_member(in, "nextToken"); !token.empty()) {
      auto decoded = from_hex(token);
      if (!decoded) return bad_token();
      after = *decoded;
    }
    auto names = all_groups(store);
    if (!names) return names.error();
    json::array groups;
    std::string last;
    bool more = false;
    for (const auto& [name, created] : *names) {
      if (!after.empty() && name <= after) continue;
      if (!name.starts_with(prefix)) continue;
      if (!pattern.empty() && name.find(pattern) == std::string::npos) continue;
      if (static_cast<std::int64_t>(groups.size()) == limit) {
        more = true;
        break;
      }
      auto record = load_group(store, name);
      if (!record) return record.error();
      if (!*record) continue;  // deleted meanwhile
      json::object group{
          {"logGroupName", name},
          {"creationTime", (**record).contains("creationTime") ? (**record).at("creationTime")
                                                               : json::value(created)},
          {"metricFilterCount", 0},
          {"arn", group_arn(name) + ":*"},
          {"storedBytes", 0}};
      if (const auto* days = (**record).if_contains("retentionInDays")) {
        group["retentionInDays"] = *days;
      }
      groups.push_back(std::move(group));
      last = name;
    }
    json::object out{{"logGroups", std::move(groups)}};
    if (more) out["nextToken"] = to_hex(last);
    return out;
  }

  Result<json::object> put_retention_policy(Store& store, const json::object& in,
                                            const aws::RequestContext&) {
    const std::string name = string_member(in, "logGroupName");
    const auto days = int_member(in, "retentionInDays").value_or(0);
    if (std::find(kRetentionDays.begin(), kRetentionDays.end(), days) == kRetentionDays.end()) {
      std::string allowed;
      for (int d : kRetentionDays) allowed += (allowed.empty() ? "" : ", ") + std::to_string(d);
      return constraint(std::to_string(days), "retentionInDays",
                        fmt::format("Member must satisfy enum value set: [{}]", allowed));
    }
    auto edited =
        edit_group(store, name, [&](json::object& group) { group["retentionInDays"] = days; });
    if (!edited) return edited;
    // Expire what the new policy already excludes without waiting a sweep.
    {
      std::lock_guard lock(sweep_mutex_);
      sweep_requested_ = true;
    }
    sweep_wake_.notify_all();
    return json::object{};
  }

  Result<json::object> delete_retention_policy(Store& store, const json::object& in,
                                               const aws::RequestContext&) {
    return edit_group(store, string_member(in, "logGroupName"),
                      [](json::object& group) { group.erase("retentionInDays"); });
  }

  Result<json::object> tag_log_group(Store& store, const json::object& in,
                                     const aws::RequestContext&) {
    return edit_group(store, string_member(in, "logGroupName"), [&](json::object& group) {
      json::object tags;
      if (const auto* old = group.if_contains("tags"); old && old->is_object())
        tags = old->as_object();
      if (const auto* add = in.if_contains("tags"); add && add->is_object()) {
        for (const auto& [key, value] : add->as_object()) tags[key] = value;
      }
      group["tags"] = std::move(tags);
    });
  }

  Result<json::object> untag_log_group(Store& store, const json::object& in,
                                       const aws::RequestContext&) {
    const std::string name = string_member(in, "logGroupName");
    std::lock_guard lock(groups_mutex_);
    auto group = require_group(store, name);
    if (!group) return group.error();
    if (auto* tags = group->if_contains("tags"); tags && tags->is_object()) {
      if (const auto* remove = in.if_contains("tags"); remove && remove->is_array()) {
        for (const auto& key : remove->as_array()) {
          if (key.is_string()) tags->as_object().erase(key.as_string());
        }
      }
    }
    if (auto saved = save_group(store, name, *group); !saved) return saved.error();
    return json::object{};
  }

  Result<json::object> list_tags_log_group(Store& store, const json::object& in,
                                           const aws::RequestContext&) {
    auto group = require_group(store, string_member(in, "logGroupName"));
    if (!group) return group.error();
    json::object tags;
    if (const auto* old = group->if_contains("tags"); old && old->is_object())
      tags = old->as_object();
    return json::object{{"tags", std::move(tags)}};
  }

  // --------------------------------------------------------------- streams

  Result<json::object> create_log_stream(Store& store, const json::object& in,
                                         const aws::RequestContext&) {
    const std::string group = string_member(in, "logGroupName");
    const std::string stream = string_member(in, "logStreamName");
    if (auto valid = validate_stream_name(stream); !valid) return valid.error();
    std::lock_guard lock(groups_mutex_);
    if (auto found = require_group(store, group); !found) return found.error();
    const std::string key = ledger::log_stream_key(group, stream);
    auto existing = store.get(streams_, key);
    if (!existing) return existing.error();
    if (*existing) {
      return AwsError("ResourceAlreadyExistsException", "The specified log stream already exists",
                      400);
    }
    json::object record{{"creationTime", now_ms()}};
    if (auto saved = store.put(streams_, key, json::serialize(record)); !saved) {
      return saved.error();
    }
    return json::object{};
  }

  Result<json::object> delete_log_stream(Store& store, const json::object& in,
                                         const aws::RequestContext&) {
    const std::string group = string_member(in, "logGroupName");
    const std::string stream = string_member(in, "logStreamName");
    std::lock_guard lock(groups_mutex_);
    if (auto found = require_group(store, group); !found) return found.error();
    const std::string key = ledger::log_stream_key(group, stream);
    auto existing = store.get(streams_, key);
    if (!existing) return existing.error();
    if (!*existing) return stream_not_found();
    if (auto deleted = store.del(streams_, key); !deleted) return deleted.error();
    if (auto deleted =
            delete_prefix(store, events_, ledger::log_stream_events_prefix(group, stream));
        !deleted) {
      return deleted.error();
    }
    return json::object{};
  }

  // The first event of a stream, if any.
  Result<std::optional<std::int64_t>> first_event_time(Store& store, const std::string& group,
                                                       const std::string& stream) {
    auto events = read_stream(store, group, stream, Position{INT64_MIN, 0}, std::nullopt, true, 1,
                              kMaxResponseBytes, {});
    if (!events) return events.error();
    if (events->empty()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(events->front().position.timestamp_ms);
  }

  // The last record's last event: the stream's last event unless chunks
  // overlap in time (PutLogEvents calls out of order), which AWS's own
  // eventually consistent lastEventTimestamp allows. Reading every record
  // a span back instead would decode up to a second of a busy stream's logs
  // per stream described.
  Result<std::optional<std::int64_t>> last_event_time(Store& store, const std::string& group,
                                                      const std::string& stream) {
    auto options =
        storage::ScanOptions::with_prefix(ledger::log_stream_events_prefix(group, stream));
    options.direction = storage::Direction::kBackward;
    options.limit = 1;
    for (;;) {
      auto page = store.scan(events_, options);
      if (!page) return page.error();
      for (const auto& item : page->items) {
        auto key = ledger::parse_log_event_key(item.key);
        if (!key) continue;
        auto events = ledger::decode_log_record(*key, item.value);
        if (events && !events->empty()) {
          return std::optional<std::int64_t>(events->back().timestamp_ms);
        }
      }
      if (!page->cursor) return std::optional<std::int64_t>();
      options.cursor = page->cursor;
    }
  }

  Result<json::object> describe_stream(Store& store, const std::string& group,
                                       const std::string& stream, std::int64_t created) {
    const std::string key = ledger::log_stream_key(group, stream);
    json::object out{{"logStreamName", stream},
                     {"creationTime", created},
                     {"arn", fmt::format("{}:log-stream:{}", group_arn(group), stream)},
                     {"storedBytes", 0}};
    auto first = first_event_time(store, group, stream);
    if (!first) return first.error();
    auto last = last_event_time(store, group, stream);
    if (!last) return last.error();
    if (*first) out["firstEventTimestamp"] = **first;
    if (*last) {
      out["lastEventTimestamp"] = **last;
      out["lastIngestionTime"] = **last;
    }
    return out;
  }

  Result<json::object> describe_log_streams(Store& store, const json::object& in,
                                            const aws::RequestContext&) {
    const std::string group = group_name(in);
    const std::string prefix = string_member(in, "logStreamNamePrefix");
    const std::string order = string_member(in, "orderBy").empty() ? std::string("LogStreamName")
                                                                   : string_member(in, "orderBy");
    const bool descending = bool_member(in, "descending", false);
    if (order != "LogStreamName" && order != "LastEventTime") {
      return constraint(order, "orderBy",
                        "Member must satisfy enum value set: [LogStreamName, LastEventTime]");
    }
    if (order == "LastEventTime" && !prefix.empty()) {
      return invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
    }
    auto limit = int_member(in, "limit").value_or(50);
    if (limit < 1 || limit > 50) {
      return constraint(std::to_string(limit), "limit",
                        "Member must have value less than or equal to 50");
    }
    std::size_t offset = 0;
    if (auto token = string_member(in, "nextToken"); !token.empty()) {
      auto decoded = from_hex(token);
      if (!decoded || decoded->empty()) return bad_token();
      offset = std::strtoull(decoded->c_str(), nullptr, 10);
    }
    if (auto found = require_group(store, group); !found) return found.error();

    // Streams are few next to events: list them all, then order and page.
    std::vector<std::pair<std::string, std::int64_t>> names;  // name, creation time
    auto options = storage::ScanOptions::with_prefix(ledger::log_stream_key(group, prefix));
    for (;;) {
      auto page = store.scan(streams_, options);
      if (!page) return page.error();
      for (const auto& item : page->items) {
        auto key = ledger::parse_log_stream_key(item.key);
        if (key) names.emplace_back(std::string(key->stream), creation_time(item.value));
      }
      if (!page->cursor) break;
      options.cursor = page->cursor;
    }
    std::vector<json::object> streams;
    if (order == "LastEventTime") {
      std::vector<std::pair<std::int64_t, json::object>> timed;
      for (const auto& [name, created] : names) {
        auto described = describe_stream(store, group, name, created);
        if (!described) return described.error();
        const auto* last = described->if_contains("lastEventTimestamp");
        timed.emplace_back(last ? last->to_number<std::int64_t>() : 0, std::move(*described));
      }
      std::stable_sort(timed.begin(), timed.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      if (descending) std::reverse(timed.begin(), timed.end());
      for (std::size_t i = offset; i < timed.size() && streams.size() < std::size_t(limit); ++i) {
        streams.push_back(std::move(timed[i].second));
      }
    } else {
      if (descending) std::reverse(names.begin(), names.end());
      for (std::size_t i = offset; i < names.size() && streams.size() < std::size_t(limit); ++i) {
        auto described = describe_stream(store, group, names[i].first, names[i].second);
        if (!described) return described.error();
        streams.push_back(std::move(*described));
      }
    }
    json::object out;
    json::array list;
    for (auto& stream : streams) list.push_back(std::move(stream));
    if (offset + list.size() < names.size()) {
      out["nextToken"] = to_hex(std::to_string(offset + list.size()));
    }
    out["logStreams"] = std::move(list);
    return out;
  }

  // ---------------------------------------------------------------- events

  Result<json::object> put_log_events(Store& store, const json::object& in,
                                      const aws::RequestContext&) {
    const std::string group = string_member(in, "logGroupName");
    const std::string stream = string_member(in, "logStreamName");
    const auto* given = in.if_contains("logEvents");
    if (given == nullptr || !given->is_array() || given->as_array().empty()) {
      return constraint("[]", "logEvents", "Member must have length greater than or equal to 1");
    }
    const auto& list = given->as_array();
    if (list.size() > 10'000) {
      return constraint(std::to_string(list.size()), "logEvents",
                        "Member must have length less than or equal to 10000");
    }
    struct Input {
      std::int64_t timestamp;
      std::string_view message;
    };
    std::vector<Input> events;
    events.reserve(list.size());
    std::size_t bytes = 0;
    for (const auto& item : list) {
      const auto* event = item.if_object();
      const auto* timestamp = event ? event->if_contains("timestamp") : nullptr;
      const auto* message = event ? event->if_contains("message") : nullptr;
      const auto time = timestamp != nullptr ? aws::json_integer(*timestamp) : std::nullopt;
      if (!time || message == nullptr || !message->is_string() || message->as_string().empty()) {
        return invalid_parameter("Each log event needs a timestamp and a non-empty message.");
      }
      events.push_back({*time, message->as_string()});
      bytes += message->as_string().size() + kEventOverheadBytes;
    }
    if (bytes > kMaxBatchBytes) {
      return invalid_parameter(
          fmt::format("Upload too large: {} bytes exceeds limit of {}", bytes, kMaxBatchBytes));
    }
    for (std::size_t i = 1; i < events.size(); ++i) {
      if (events[i].timestamp < events[i - 1].timestamp) {
        return invalid_parameter(
            "Log events in a single PutLogEvents request must be in chronological order.");
      }
    }
    if (events.back().timestamp - events.front().timestamp > kDayMs) {
      return invalid_parameter(
          "The batch of log events in a single PutLogEvents request cannot span more than 24 "
          "hours.");
    }
    auto record = require_group(store, group);
    if (!record) return record.error();
    const std::string stream_key = ledger::log_stream_key(group, stream);
    auto existing = store.get(streams_, stream_key);
    if (!existing) return existing.error();
    if (!*existing) return stream_not_found();

    const std::int64_t now = now_ms();
    std::optional<std::int64_t> retention_ms;
    if (const auto* days = record->if_contains("retentionInDays"); days && days->is_number()) {
      retention_ms = days->to_number<std::int64_t>() * kDayMs;
    }
    json::object rejected;
    std::optional<std::size_t> too_old, expired, too_new;
    std::vector<std::size_t> accepted;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto t = events[i].timestamp;
      if (t > now + kMaxFutureMs) {
        if (!too_new) too_new = i;
        continue;
      }
      if (retention_ms && t < now - *retention_ms) {
        expired = i;
        continue;
      }
      if (t < now - kMaxAgeMs) {
        too_old = i;
        continue;
      }
      accepted.push_back(i);
    }
    // In chunks, as the journal writes function logs (docs/formats/ledger.md).
    storage::WriteBatch batch;
    // `sequence` is each chunk's first event's, then the next token.
    std::uint64_t sequence = journal_.reserve_sequences(accepted.size());
    ledger::LogChunkWriter chunk;
    auto close_chunk = [&] {
      const auto first_ms = chunk.first_timestamp_ms();
      const auto count = chunk.count();
      batch.put(events_, ledger::log_chunk_key(group, stream, first_ms, sequence), chunk.take());
      sequence += count;
    };
    for (const std::size_t i : accepted) {
      if (!chunk.accepts(events[i].timestamp)) close_chunk();
      chunk.add(events[i].timestamp, events[i].message);
    }
    if (!chunk.empty()) close_chunk();
    if (!batch.empty()) {
      if (auto written = store.write(batch); !written) return written.error();
    }
    json::object out{{"nextSequenceToken", std::to_string(sequence)}};
    if (too_new) rejected["tooNewLogEventStartIndex"] = *too_new;
    if (too_old) rejected["tooOldLogEventEndIndex"] = *too_old;
    if (expired) rejected["expiredLogEventEndIndex"] = *expired;
    if (!rejected.empty()) out["rejectedLogEventsInfo"] = std::move(rejected);
    return out;
  }

  // Events of one stream at or after `lower` and before `upper`, in order
  // (forward) or in reverse, up to `limit` events or `max_bytes` of
  // messages, those `keep` accepts. A record is one event or a chunk
  // (docs/formats/ledger.md) whose events are at most kLogChunkSpanMs
  // after its key: the scan starts that much early, and events are merged
  // across records, so they come out in order even where chunks overlap.
  Result<std::vector<Event>> read_stream(Store& store, const std::string& group,
                                         const std::string& stream, Position lower,
                                         std::optional<Position> upper, bool forward,
                                         std::size_t limit, std::size_t max_bytes,
                                         const std::function<bool(const Event&)>& keep) {
    constexpr std::int64_t kSpan = ledger::kLogChunkSpanMs;
    const std::string prefix = ledger::log_stream_events_prefix(group, stream);
    storage::ScanOptions options = storage::ScanOptions::with_prefix(prefix);
    if (lower.timestamp_ms > INT64_MIN + kSpan) {
      options.lower =
          storage::Bound{prefix + Position{lower.timestamp_ms - kSpan, 0}.suffix(), true};
    }
    // A record whose key is at or past `upper` holds nothing before it.
    if (upper) options.upper = storage::Bound{prefix + upper->suffix(), false};
    options.direction = forward ? storage::Direction::kForward : storage::Direction::kBackward;
    // Records are read a page at a time: a page no bigger than the answer
    // needs (a chunk holds many events), and never huge.
    options.limit = std::clamp<std::size_t>(limit, 8, 256);

    std::vector<storage::KeyValue> page;
    std::size_t next = 0;
    bool more = true;
    // The next record in scan order, or null at the end.
    auto peek = [&]() -> Result<const storage::KeyValue*> {
      while (next == page.size()) {
        if (!more) return nullptr;
        auto scanned = store.scan(events_, options);
        if (!scanned) return scanned.error();
        page = std::move(scanned->items);
        next = 0;
        more = scanned->cursor.has_value();
        if (more) options.cursor = std::move(scanned->cursor);
      }
      return &page[next];
    };
    // Events read but not yet given out; the front of the heap goes next.
    std::vector<Event> heap;
    auto later = [forward](const Event& a, const Event& b) {
      return forward ? b.position < a.position : a.position < b.position;
    };
    std::vector<Event> out;
    std::size_t bytes = 0;
    for (;;) {
      // Read records until none unread can hold an event that goes first.
      for (;;) {
        auto item = peek();
        if (!item) return item.error();
        if (*item == nullptr) break;
        auto key = ledger::parse_log_event_key((*item)->key);
        if (key && !heap.empty()) {
          // The first (forward) or last (backward) position the record can hold.
          Position edge{key->timestamp_ms, key->sequence};
          if (!forward && key->chunk) {
            edge = {key->timestamp_ms > INT64_MAX - kSpan ? INT64_MAX : key->timestamp_ms + kSpan,
                    UINT64_MAX};
          }
          if (forward ? heap.front().position < edge : edge < heap.front().position) break;
        }
        if (key) {
          if (auto events = ledger::decode_log_record(*key, (*item)->value)) {
            for (const auto& stored : *events) {
              const Position position{stored.timestamp_ms, stored.sequence};
              if (position < lower || (upper && !(position < *upper))) continue;
              heap.push_back(Event{stream, position, std::string(stored.message)});
              std::push_heap(heap.begin(), heap.end(), later);
            }
          }
        }
        ++next;
      }
      if (heap.empty()) return out;
      std::pop_heap(heap.begin(), heap.end(), later);
      Event event = std::move(heap.back());
      heap.pop_back();
      if (keep && !keep(event)) continue;
      bytes += event.message.size() + kEventOverheadBytes;
      if (!out.empty() && bytes > max_bytes) return out;
      out.push_back(std::move(event));
      if (out.size() >= limit) return out;
    }
  }

  static std::string position_token(char direction, const Position& position) {
    return fmt::format("{}/{}", direction, to_hex(position.suffix()));
  }

  static std::optional<std::pair<char, std::string>> parse_position_token(
      const std::string& token) {
    if (token.size() != 2 + 32 || (token[0] != 'f' && token[0] != 'b') || token[1] != '/') {
      return std::nullopt;
    }
    auto suffix = from_hex(std::string_view(token).substr(2));
    if (!suffix) return std::nullopt;
    return std::make_pair(token[0], std::move(*suffix));
  }

  Result<json::object> get_log_events(Store& store, const json::object& in,
                                      const aws::RequestContext&) {
    const std::string group = group_name(in);
    const std::string stream = string_member(in, "logStreamName");
    auto limit = int_member(in, "limit").value_or(10'000);
    if (limit < 1 || limit > 10'000) {
      return constraint(std::to_string(limit), "limit",
                        "Member must have value less than or equal to 10000");
    }
    const auto start = int_member(in, "startTime");
    const auto end = int_member(in, "endTime");
    bool forward = bool_member(in, "startFromHead", false);
    std::optional<std::string> resume;  // exclusive, key suffix
    if (auto token = string_member(in, "nextToken"); !token.empty()) {
      auto parsed = parse_position_token(token);
      if (!parsed) return bad_token();
      forward = parsed->first == 'f';
      resume = std::move(parsed->second);
    }
    if (auto found = require_group(store, group); !found) return found.error();
    const std::string stream_key = ledger::log_stream_key(group, stream);
    auto existing = store.get(streams_, stream_key);
    if (!existing) return existing.error();
    if (!*existing) return stream_not_found();

    Position lower{start.value_or(INT64_MIN), 0};
    std::optional<Position> upper;
    if (end) upper = Position{*end, 0};
    if (resume) {
      // Exclusive: the token names the last event given out.
      const Position at = Position::from_suffix(*resume);
      if (forward) {
        lower = at.sequence == UINT64_MAX ? Position{at.timestamp_ms + 1, 0}
                                          : Position{at.timestamp_ms, at.sequence + 1};
      } else {
        upper = at;
      }
    }
    auto events = read_stream(store, group, stream, lower, upper, forward,
                              static_cast<std::size_t>(limit), kMaxResponseBytes, {});
    if (!events) return events.error();
    if (!forward) std::reverse(events->begin(), events->end());

    json::array out;
    for (const auto& event : *events) {
      out.push_back(json::object{{"timestamp", event.position.timestamp_ms},
                                 {"message", event.message},
                                 {"ingestionTime", event.position.timestamp_ms}});
    }
    // With nothing new the forward token stays put, which is how callers
    // (and the SDKs' paginators) know they reached the end.
    Position first_position, last_position;
    if (!events->empty()) {
      first_position = events->front().position;
      last_position = events->back().position;
    }
    std::string forward_token, backward_token;
    if (events->empty()) {
      const std::string here =
          resume ? fmt::format("{}/{}", forward ? 'f' : 'b', to_hex(*resume))
                 : position_token(forward ? 'f' : 'b', Position{start.value_or(INT64_MIN), 0});
      forward_token = forward ? here : "f/" + here.substr(2);
      backward_token = forward ? "b/" + here.substr(2) : here;
    } else {
      forward_token = position_token('f', last_position);
      backward_token = position_token('b', first_position);
    }
    return json::object{{"events", std::move(out)},
                        {"nextForwardToken", forward_token},
                        {"nextBackwardToken", backward_token}};
  }

  Result<json::object> filter_log_events(Store& store, const json::object& in,
                                         const aws::RequestContext&) {
    const std::string group = group_name(in);
    const std::string prefix = string_member(in, "logStreamNamePrefix");
    std::vector<std::string> names;
    if (const auto* list = in.if_contains("logStreamNames"); list && list->is_array()) {
      for (const auto& name : list->as_array()) {
        if (name.is_string()) names.emplace_back(name.as_string());
      }
    }
    if (!names.empty() && !prefix.empty()) {
      return invalid_parameter(
          "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
    }
    auto limit = int_member(in, "limit").value_or(10'000);
    if (limit < 1 || limit > 10'000) {
      return constraint(std::to_string(limit), "limit",
                        "Member must have value less than or equal to 10000");
    }
    auto pattern = FilterPattern::parse(string_member(in, "filterPattern"));
    if (!pattern) return pattern.error();
    const auto start = int_member(in, "startTime");
    const auto end = int_member(in, "endTime");
    // Resume after (timestamp, stream, sequence), the order events come in.
    std::optional<std::tuple<std::int64_t, std::string, std::uint64_t>> after;
    if (auto token = string_member(in, "nextToken"); !token.empty()) {
      auto decoded = from_hex(token);
      if (!decoded || decoded->size() < 16) return bad_token();
      after.emplace(ledger::unsortable(ledger::get_be64(*decoded)), decoded->substr(16),
                    ledger::get_be64(std::string_view(*decoded).substr(8)));
    }
    if (auto found = require_group(store, group); !found) return found.error();

    if (names.empty()) {
      auto options = storage::ScanOptions::with_prefix(ledger::log_stream_key(group, prefix));
      for (;;) {
        auto page = store.scan(streams_, options);
        if (!page) return page.error();
        for (const auto& item : page->items) {
          if (auto key = ledger::parse_log_stream_key(item.key)) names.emplace_back(key->stream);
        }
        if (!page->cursor) break;
        options.cursor = page->cursor;
      }
    }
    // Each stream's first `limit` matches after the token, merged by time.
    std::vector<Event> found;
    for (const auto& stream : names) {
      Position lower{start.value_or(INT64_MIN), 0};
      std::optional<Position> upper;
      if (end) upper = Position{*end, 0};
      if (after) {
        const auto& [t, s, seq] = *after;
        if (!start || t > *start) lower = Position{t, 0};
      }
      auto keep = [&](const Event& event) {
        if (after) {
          const auto& [t, s, seq] = *after;
          if (std::tie(event.position.timestamp_ms, event.stream, event.position.sequence) <=
              std::tie(t, s, seq)) {
            return false;
          }
        }
        return pattern->matches(event.message);
      };
      auto events = read_stream(store, group, stream, lower, upper, true,
                                static_cast<std::size_t>(limit), kMaxResponseBytes, keep);
      if (!events) return events.error();
      for (auto& event : *events) found.push_back(std::move(event));
    }
    std::sort(found.begin(), found.end(), [](const Event& a, const Event& b) {
      return std::tie(a.position.timestamp_ms, a.stream, a.position.sequence) <
             std::tie(b.position.timestamp_ms, b.stream, b.position.sequence);
    });
    json::array out;
    std::size_t bytes = 0;
    std::optional<std::string> next;
    for (const auto& event : found) {
      bytes += event.message.size() + kEventOverheadBytes;
      if (out.size() == static_cast<std::size_t>(limit) ||
          (!out.empty() && bytes > kMaxResponseBytes)) {
        break;
      }
      out.push_back(json::object{{"logStreamName", event.stream},
                                 {"timestamp", event.position.timestamp_ms},
                                 {"message", event.message},
                                 {"ingestionTime", event.position.timestamp_ms},
                                 // Stable and unique: the time and the journal's sequence number.
                                 {"eventId", fmt::format("{}{:020}", event.position.timestamp_ms,
                                                         event.position.sequence)}});
      next = to_hex(Position{event.position}.suffix() + event.stream);
    }
    json::object result{{"events", std::move(out)}, {"searchedLogStreams", json::array{}}};
    // More may follow only if some stream stopped at the limit or the page did.
    bool more = result.at("events").as_array().size() < found.size();
    if (!more) {
      std::map<std::string, std::size_t> per_stream;
      for (const auto& event : found) ++per_stream[event.stream];
      for (const auto& [stream, count] : per_stream) {
        more = more || count >= static_cast<std::size_t>(limit);
      }
    }
    if (more && next) result["nextToken"] = *next;
    return result;
  }

  // -------------------------------------------------------------- retention

  void sweep_loop() {
    std::unique_lock lock(sweep_mutex_);
    for (;;) {
      sweep_wake_.wait_for(lock, options_.retention_sweep_interval,
                           [&] { return stopping_ || sweep_requested_; });
      if (stopping_) return;
      sweep_requested_ = false;
      lock.unlock();
      if (auto swept = sweep(store_.store()); !swept) {
        spdlog::warn("logs: retention sweep failed: {}", swept.error().message());
      }
      lock.lock();
    }
  }

  // Deletes every event older than its group's retention.
  Result<void> sweep(Store& store) {
    storage::ScanOptions options;
    std::vector<std::pair<std::string, std::int64_t>> policies;
    for (;;) {
      auto page = store.scan(groups_, options);
      if (!page) return page.error();
      for (const auto& item : page->items) {
        boost::system::error_code ec;
        auto value = json::parse(item.value, ec);
        if (ec || !value.is_object()) continue;
        if (const auto* days = value.as_object().if_contains("retentionInDays");
            days && days->is_number()) {
          policies.emplace_back(item.key, days->to_number<std::int64_t>());
        }
      }
      if (!page->cursor) break;
      options.cursor = page->cursor;
    }
    const std::int64_t now = now_ms();
    for (const auto& [group, days] : policies) {
      const std::int64_t cutoff = now - days * kDayMs;
      auto streams = storage::ScanOptions::with_prefix(ledger::log_group_prefix(group));
      for (;;) {
        auto page = store.scan(streams_, streams);
        if (!page) return page.error();
        for (const auto& item : page->items) {
          const auto stream = ledger::parse_log_stream_key(item.key);
          if (!stream) continue;
          storage::ScanOptions expired;
          expired.lower =
              storage::Bound{ledger::log_stream_events_prefix(stream->group, stream->stream), true};
          // A chunk's events may be a span later than its key: only records
          // starting a span before the cutoff are wholly expired.
          expired.upper = storage::Bound{ledger::log_event_key(stream->group, stream->stream,
                                                               cutoff - ledger::kLogChunkSpanMs),
                                         false};
          if (auto deleted = delete_range(store, events_, expired); !deleted) return deleted;
        }
        if (!page->cursor) break;
        streams.cursor = page->cursor;
      }
    }
    return ok();
  }

  LogsServiceOptions options_;
  storage::AsyncStore& store_;
  ledger::Journal& journal_;
  storage::Keyspace groups_;
  storage::Keyspace streams_;
  storage::Keyspace events_;
  aws::ServiceDescriptor descriptor_;
  std::map<std::string, Handler, std::less<>> operations_;
  // Group records change by read-modify-write: one writer at a time.
  std::mutex groups_mutex_;

  std::mutex sweep_mutex_;
  std::condition_variable sweep_wake_;
  bool sweep_requested_ = true;  // once at start
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace

Result<std::unique_ptr<LogsService>> LogsService::start(LogsServiceOptions options,
                                                        storage::AsyncStore& store,
                                                        ledger::Journal& journal) {
  auto& raw = store.store();
  auto groups = raw.open_or_create_keyspace(kGroupsKeyspace);
  if (!groups) return groups.error();
  auto streams = raw.open_or_create_keyspace(ledger::Journal::kLogStreamsKeyspace);
  if (!streams) return streams.error();
  auto events = raw.open_or_create_keyspace(ledger::Journal::kLogEventsKeyspace);
  if (!events) return events.error();
  return std::unique_ptr<LogsService>(
      new LogsServiceImpl(std::move(options), store, journal, *groups, *streams, *events));
}

}  // namespace nimbus::services::logs
