// API keys and usage plans (REST APIs): the account's keys, the plans that
// grant them API stages with a throttle and a quota, and the check a method
// with apiKeyRequired makes of the x-api-key header.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

#include "nimbus/core/strings.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/meters.h"
#include "nimbus/services/apigateway/internal/rest_wire.h"
#include "nimbus/services/apigateway/internal/service_impl.h"

namespace nimbus::services::apigateway::internal {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

AwsError invalid(std::string_view what) {
  return not_found(fmt::format("Invalid {} identifier specified", what));
}

// API key values: 40 letters and digits, as API Gateway generates them.
std::string new_key_value() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (int i = 0; i < 40; ++i) out += kAlphabet[pick(random)];
  return out;
}

json::object key_view(const json::object& key, bool include_value) {
  json::object out = key;
  if (!include_value) out.erase("value");
  return out;
}

json::object plan_view(const json::object& plan) {
  json::object out = plan;
  out.erase("keyIds");  // Nimbus's own: the keys the plan holds
  return out;
}

bool query_flag(const Call& call, std::string_view name) { return call.query(name) == "true"; }

// Where the ledger counts the requests a plan let through for a key:
// "usageplan/<plan id>/<key id>".
constexpr std::string_view kUsageResourcePrefix = "usageplan/";

std::string usage_resource(std::string_view plan_id, std::string_view key_id) {
  return fmt::format("{}{}/{}", kUsageResourcePrefix, plan_id, key_id);
}

// The key the quota counts of one plan, key and period go under.
std::string quota_counter_prefix(std::string_view plan_id, std::string_view key_id) {
  return fmt::format("{}/{}/", plan_id, key_id);
}

const json::object* quota_of(const json::object& plan) {
  const auto* quota = plan.if_contains("quota");
  if (quota == nullptr || !quota->is_object()) return nullptr;
  const auto* limit = quota->as_object().if_contains("limit");
  return limit && limit->is_int64() ? &quota->as_object() : nullptr;
}

// "2016-01-31" as the Unix second its UTC day starts at.
std::optional<std::int64_t> day_start(std::string_view date) {
  unsigned y = 0, m = 0, d = 0;
  char extra = 0;
  const std::string text(date);
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &extra) != 3) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(y)),
                                        std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd).time_since_epoch().count() * 86'400;
}

std::string date_text(std::int64_t day_start_s) {
  const std::chrono::year_month_day ymd{
      std::chrono::sys_days(std::chrono::days(day_start_s / 86'400))};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

// The first second of the quota period `time_s` falls in (UTC days, weeks
// from Monday, calendar months).
std::int64_t period_start(std::string_view period, std::int64_t time_s) {
  const std::int64_t day = time_s / 86'400;
  if (period == "WEEK") return (day - (day + 3) % 7) * 86'400;  // weeks start on Monday
  if (period == "MONTH") {
    const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(day))};
    return std::chrono::sys_days(ymd.year() / ymd.month() / 1).time_since_epoch().count() * 86'400;
  }
  return day * 86'400;
}

}  // namespace

Result<void> ApiGatewayServiceImpl::restore_quotas() {
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  // The longest period is a month; a week may start in the month before.
  const std::int64_t from_s = std::min(period_start("MONTH", now_s), period_start("WEEK", now_s));
  auto counters = ledger::Journal::read_hourly(store_.store(), from_s, now_s + 3600);
  if (!counters) return counters.error();
  std::lock_guard lock(mutex_);
  for (const auto& counter : *counters) {
    const bool extension = counter.meter == ledger::meter::kApiGatewayUsagePlanExtensions;
    if (counter.service != "apigateway" ||
        (counter.meter != ledger::meter::kApiGatewayUsagePlanRequests && !extension) ||
        !counter.resource.starts_with(kUsageResourcePrefix)) {
      continue;
    }
    const std::string ids = counter.resource.substr(kUsageResourcePrefix.size());
    const auto slash = ids.find('/');
    if (slash == std::string::npos) continue;
    const std::string plan_id = ids.substr(0, slash);
    const auto plan = usage_plans_->find(plan_id);
    const auto* quota = plan ? quota_of(plan->value) : nullptr;
    if (quota == nullptr) continue;
    const std::int64_t period = period_start(text_member(*quota, "period"), now_s);
    if (counter.hour_start_s < period) continue;
    quota_used_[quota_counter_prefix(plan_id, ids.substr(slash + 1)) + std::to_string(period)] +=
        extension ? -counter.amount : counter.amount;
  }
  return ok();
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_usage(Call& call) {
  const auto plan = usage_plans_->find(call.label("usageplanId"));
  if (!plan) co_return invalid("Usage Plan");
  const auto start_date = call.query("startDate");
  const auto end_date = call.query("endDate");
  const auto start = day_start(start_date);
  const auto end = day_start(end_date);
  if (!start || !end) co_return bad_request("Invalid date format: dates are YYYY-MM-DD");
  if (*end < *start) co_return bad_request("The end date must not be before the start date");
  if (*end - *start > 90 * 86'400) {
    co_return bad_request("Usage data may be requested for at most 90 days at a time");
  }
  std::uint64_t limit = 25;
  if (const auto text = call.query("limit"); !text.empty()) {
    const auto parsed = parse_uint(text);
    if (!parsed || *parsed < 1 || *parsed > 500) {
      co_return bad_request("Invalid limit: between 1 and 500");
    }
    limit = *parsed;
  }
  // The plan's keys (or the one asked for), paged by position.
  std::vector<std::string> keys;
  if (const auto* ids = plan->value.if_contains("keyIds"); ids && ids->is_array()) {
    for (const auto& id : ids->as_array()) {
      if (id.is_string()) keys.emplace_back(id.as_string());
    }
  }
  if (const auto key_id = call.query("keyId"); !key_id.empty()) {
    if (std::find(keys.begin(), keys.end(), key_id) == keys.end()) co_return invalid("API Key");
    keys = {std::string(key_id)};
  }
  std::size_t first = 0;
  if (const auto position = call.query("position"); !position.empty()) {
    const auto parsed = parse_uint(position);
    if (!parsed || *parsed > keys.size()) co_return bad_request("Invalid position");
    first = static_cast<std::size_t>(*parsed);
  }
  const std::size_t last = std::min(keys.size(), first + static_cast<std::size_t>(limit));

  const auto* quota = quota_of(plan->value);
  const std::string period = quota ? text_member(*quota, "period") : std::string("DAY");
  const std::int64_t quota_limit = quota ? quota->at("limit").as_int64() : 0;
  // From the start of the first day's quota period: what remains on a day
  // counts the period's earlier days too.
  const std::int64_t from_s = period_start(period, *start);
  const std::int64_t until_s = *end + 86'400;
  const std::string plan_id = text_member(plan->value, "id");
  std::map<std::string, std::string> key_of;  // ledger resource -> key id, for this page
  for (std::size_t i = first; i < last; ++i) key_of[usage_resource(plan_id, keys[i])] = keys[i];
  std::map<std::string, std::map<std::int64_t, std::int64_t>> daily;    // key -> day -> used
  std::map<std::string, std::map<std::int64_t, std::int64_t>> granted;  // UpdateUsage's
  auto read = co_await store_.run([&](storage::Store& store) -> Result<void> {
    // The requests counted so far may still be in the journal's hand-off:
    // written first, so usage read right after the requests includes them.
    journal_.flush();
    auto counters = ledger::Journal::read_hourly(store, from_s, until_s);
    if (!counters) return counters.error();
    for (const auto& counter : *counters) {
      const bool extension = counter.meter == ledger::meter::kApiGatewayUsagePlanExtensions;
      if (counter.service != "apigateway" ||
          (counter.meter != ledger::meter::kApiGatewayUsagePlanRequests && !extension)) {
        continue;
      }
      if (const auto key = key_of.find(counter.resource); key != key_of.end()) {
        (extension ? granted : daily)[key->second][counter.hour_start_s / 86'400 * 86'400] +=
            counter.amount;
      }
    }
    return ok();
  });
  if (!read) co_return read.error();

  json::object items;
  for (std::size_t i = first; i < last; ++i) {
    const auto& days = daily[keys[i]];
    const auto& extended = granted[keys[i]];
    json::array log;
    std::int64_t period_used = 0;
    std::int64_t current_period = -1;
    for (std::int64_t day = from_s; day < until_s; day += 86'400) {
      if (const std::int64_t begins = period_start(period, day); begins != current_period) {
        current_period = begins;
        period_used = 0;
      }
      const auto found = days.find(day);
      const std::int64_t used = found == days.end() ? 0 : found->second;
      const auto extension = extended.find(day);
      period_used += used - (extension == extended.end() ? 0 : extension->second);
      if (day < *start) continue;
      log.push_back(json::array{used, std::max<std::int64_t>(0, quota_limit - period_used)});
    }
    items[keys[i]] = std::move(log);
  }
  json::object usage{{"usagePlanId", plan_id},
                     {"startDate", date_text(*start)},
                     {"endDate", date_text(*end)},
                     {"values", std::move(items)}};  // the model's wire name for items
  if (last < keys.size()) usage["position"] = std::to_string(last);
  co_return json_reply(200, usage);
}

std::int64_t& ApiGatewayServiceImpl::quota_count(const std::string& prefix,
                                                 const std::string& counter) {
  if (!quota_used_.contains(counter)) {
    // A new period: the key's counts of earlier ones are done with.
    for (auto it = quota_used_.lower_bound(prefix);
         it != quota_used_.end() && it->first.starts_with(prefix);) {
      it = quota_used_.erase(it);
    }
  }
  return quota_used_[counter];
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_usage(Call& call) {
  const std::string plan_id = call.label("usageplanId");
  const std::string key_id = call.label("keyId");
  const auto plan = usage_plans_->find(plan_id);
  if (!plan) co_return invalid("Usage Plan");
  bool holds_key = false;
  if (const auto* keys = plan->value.if_contains("keyIds"); keys && keys->is_array()) {
    for (const auto& id : keys->as_array()) {
      holds_key = holds_key || (id.is_string() && id.as_string() == key_id);
    }
  }
  if (!holds_key) co_return invalid("Usage Plan Key");
  const auto* quota = quota_of(plan->value);
  if (quota == nullptr) co_return bad_request("The usage plan has no quota to extend");
  // One replace of /remaining: what the key may still use this period.
  constexpr std::string_view kOnlyRemaining =
      "Invalid patch operation: UpdateUsage takes a replace of /remaining with a count";
  std::optional<std::int64_t> remaining;
  if (const auto* operations = call.body.if_contains("patchOperations");
      operations && operations->is_array()) {
    for (const auto& item : operations->as_array()) {
      const auto* operation = item.if_object();
      if (operation == nullptr || text_member(*operation, "op") != "replace" ||
          text_member(*operation, "path") != "/remaining") {
        co_return bad_request(std::string(kOnlyRemaining));
      }
      const auto value = parse_uint(text_member(*operation, "value"));
      if (!value || *value > static_cast<std::uint64_t>(INT32_MAX)) {
        co_return bad_request(std::string(kOnlyRemaining));
      }
      remaining = static_cast<std::int64_t>(*value);
    }
  }
  if (!remaining) co_return bad_request(std::string(kOnlyRemaining));

  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string period_name = text_member(*quota, "period");
  const std::int64_t period = period_start(period_name, now_us / 1'000'000);
  const std::int64_t limit = quota->at("limit").as_int64();
  const std::string prefix = quota_counter_prefix(plan_id, key_id);
  const std::string counter = prefix + std::to_string(period);
  std::int64_t granted = 0;
  {
    std::lock_guard lock(mutex_);
    // From now on the quota counts `limit - remaining` as used.
    auto& counted = quota_count(prefix, counter);
    granted = *remaining - (limit - counted);
    counted = limit - *remaining;
  }
  // Durable through the journal, as the requests are: a restart and
  // GetUsage count the grant against the period's requests.
  if (granted != 0) {
    ledger::Usage usage;
    usage.service = "apigateway";
    usage.resource = usage_resource(plan_id, key_id);
    usage.id = call.context.request_id;
    usage.time_us = now_us;
    usage.quantities = {{std::string(ledger::meter::kApiGatewayUsagePlanExtensions), granted}};
    journal_.append_usage(std::move(usage));
  }
  // The answer: the period's requests so far and what remains of it.
  std::int64_t used = 0;
  const std::string resource = usage_resource(plan_id, key_id);
  auto read = co_await store_.run([&](storage::Store& store) -> Result<void> {
    journal_.flush();
    auto counters = ledger::Journal::read_hourly(store, period, now_us / 1'000'000 + 3600);
    if (!counters) return counters.error();
    for (const auto& counter : *counters) {
      if (counter.service == "apigateway" && counter.resource == resource &&
          counter.meter == ledger::meter::kApiGatewayUsagePlanRequests) {
        used += counter.amount;
      }
    }
    return ok();
  });
  if (!read) co_return read.error();
  const std::int64_t next_period = period_name == "MONTH"
                                       ? period_start("MONTH", period + 31 * 86'400)
                                       : period + (period_name == "WEEK" ? 7 : 1) * 86'400;
  json::object values{{key_id, json::array{json::array{used, *remaining}}}};
  co_return json_reply(200, json::object{{"usagePlanId", plan_id},
                                         {"startDate", date_text(period)},
                                         {"endDate", date_text(next_period - 86'400)},
                                         {"values", std::move(values)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_api_key(Call& call) {
  auto name = string_member(call.body, "name", false);
  if (!name) co_return name.error();
  auto value = string_member(call.body, "value", false);
  if (!value) co_return value.error();
  if (!value->empty() && value->size() < 20) {
    co_return bad_request("API Key value should be at least 20 characters");
  }
  json::object key{{"id", new_id(10)},
                   {"value", value->empty() ? new_key_value() : *value},
                   {"name", *name},
                   {"enabled", false},
                   {"createdDate", epoch_seconds()},
                   {"lastUpdatedDate", epoch_seconds()},
                   {"stageKeys", json::array()},
                   {"tags", json::object()}};
  copy_members(key, call.body, {"description", "enabled", "customerId", "tags"});
  const std::string id = text_member(key, "id");
  const std::string key_value = text_member(key, "value");
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current != nullptr) return AwsError("ConflictException", "API key id collision", 409);
    for (const auto& other : api_keys_->all()) {
      if (text_member(other->value, "value") == key_value) {
        return AwsError("ConflictException", "API Key already exists", 409);
      }
    }
    return std::optional(JsonRecord{key});
  };
  auto stored = co_await change_json_record(*api_keys_, id, change);
  if (!stored) co_return stored.error();
  co_return json_reply(201, key);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_api_key(Call& call) {
  const auto key = api_keys_->find(call.label("api_Key"));
  if (!key) co_return invalid("API Key");
  co_return json_reply(200, key_view(key->value, query_flag(call, "includeValue")));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_api_keys(Call& call) {
  const bool values = query_flag(call, "includeValues");
  const auto name = call.query("name");
  json::array items;
  for (const auto& key : api_keys_->all()) {
    if (!name.empty() && !text_member(key->value, "name").starts_with(name)) continue;
    items.push_back(key_view(key->value, values));
  }
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_api_key(Call& call) {
  const std::string id = call.label("api_Key");
  json::object updated;
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current == nullptr) return invalid("API Key");
    json::object key = current->value;
    if (auto patched =
            apply_patch(key, call.body, {"name", "description", "enabled", "customerId"});
        !patched) {
      return patched.error();
    }
    // Patch values are strings; enabled is a boolean.
    if (const auto* enabled = key.if_contains("enabled"); enabled && enabled->is_string()) {
      key["enabled"] = enabled->as_string() == "true";
    }
    key["lastUpdatedDate"] = epoch_seconds();
    updated = key;
    return std::optional(JsonRecord{std::move(key)});
  };
  auto stored = co_await change_json_record(*api_keys_, id, change);
  if (!stored) co_return stored.error();
  co_return json_reply(200, key_view(updated, false));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_api_key(Call& call) {
  const std::string id = call.label("api_Key");
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current == nullptr) return invalid("API Key");
    return std::optional<JsonRecord>();
  };
  auto stored = co_await change_json_record(*api_keys_, id, change);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_usage_plan(Call& call) {
  auto name = string_member(call.body, "name", true);
  if (!name) co_return name.error();
  json::object plan{{"id", new_id(6)},
                    {"name", *name},
                    {"apiStages", json::array()},
                    {"tags", json::object()},
                    {"keyIds", json::array()}};
  copy_members(plan, call.body, {"description", "apiStages", "throttle", "quota", "tags"});
  if (const auto* stages = plan.if_contains("apiStages"); !stages->is_array()) {
    co_return bad_request("Invalid input: apiStages must be a list");
  }
  for (const auto& stage : plan.at("apiStages").as_array()) {
    const auto* object = stage.if_object();
    const auto record = object ? rest_catalog_->find(text_member(*object, "apiId")) : nullptr;
    if (record == nullptr || !record->stages.contains(text_member(*object, "stage"))) {
      co_return bad_request("Invalid API Stage specified in apiStages");
    }
  }
  if (const auto* quota = plan.if_contains("quota")) {
    const auto* object = quota->if_object();
    const auto period = object ? text_member(*object, "period") : std::string();
    const auto* limit = object ? object->if_contains("limit") : nullptr;
    if ((period != "DAY" && period != "WEEK" && period != "MONTH") || limit == nullptr ||
        !limit->is_int64() || limit->as_int64() < 0) {
      co_return bad_request("Invalid quota: needs a limit and a period of DAY, WEEK or MONTH");
    }
  }
  const std::string id = text_member(plan, "id");
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current != nullptr) return AwsError("ConflictException", "usage plan id collision", 409);
    return std::optional(JsonRecord{plan});
  };
  auto stored = co_await change_json_record(*usage_plans_, id, change);
  if (!stored) co_return stored.error();
  co_return json_reply(201, plan_view(plan));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_usage_plan(Call& call) {
  const auto plan = usage_plans_->find(call.label("usageplanId"));
  if (!plan) co_return invalid("Usage Plan");
  co_return json_reply(200, plan_view(plan->value));
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_usage_plans(Call& call) {
  (void)call;
  json::array items;
  for (const auto& plan : usage_plans_->all()) items.push_back(plan_view(plan->value));
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::update_usage_plan(Call& call) {
  const std::string id = call.label("usageplanId");
  json::object updated;
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current == nullptr) return invalid("Usage Plan");
    json::object plan = current->value;
    // add/remove of "/apiStages" (value "apiId:stage") here; the rest is a
    // plain patch.
    json::object body = call.body;
    if (auto* operations = body.if_contains("patchOperations");
        operations && operations->is_array()) {
      json::array plain;
      for (const auto& item : operations->as_array()) {
        const auto* operation = item.if_object();
        const std::string path = operation ? text_member(*operation, "path") : std::string();
        if (!path.starts_with("/apiStages")) {
          plain.push_back(item);
          continue;
        }
        if (path.starts_with("/apiStages/")) {
          if (auto changed = patch_stage_throttle(plan, *operation); !changed) {
            return changed.error();
          }
          continue;
        }
        if (path != "/apiStages") return bad_request(fmt::format("Invalid patch path {}", path));
        if (auto changed = patch_api_stages(plan, *operation); !changed) return changed.error();
      }
      *operations = std::move(plain);
    }
    if (auto patched = apply_patch(plan, body, {"name", "description", "throttle", "quota"});
        !patched) {
      return patched.error();
    }
    // Patch values are strings; limits are numbers.
    for (const auto* group : {"throttle", "quota"}) {
      auto* settings = plan.if_contains(group);
      if (settings == nullptr || !settings->is_object()) continue;
      for (auto& [name, value] : settings->as_object()) {
        if (!value.is_string() || name == "period") continue;
        auto limit = patch_limit(fmt::format("/{}/{}", group, std::string_view(name)),
                                 value.as_string(), name == "rateLimit");
        if (!limit) return limit.error();
        value = std::move(*limit);
      }
    }
    updated = plan;
    return std::optional(JsonRecord{std::move(plan)});
  };
  auto stored = co_await change_json_record(*usage_plans_, id, change);
  if (!stored) co_return stored.error();
  co_return json_reply(200, plan_view(updated));
}

Result<void> ApiGatewayServiceImpl::patch_api_stages(json::object& plan,
                                                     const json::object& operation) const {
  const std::string op = text_member(operation, "op");
  const std::string value = text_member(operation, "value");
  const auto colon = value.find(':');
  const std::string api_id = value.substr(0, colon);
  const std::string stage = colon == std::string::npos ? std::string() : value.substr(colon + 1);
  auto& stages = plan["apiStages"];
  if (!stages.is_array()) stages = json::array();
  auto& list = stages.as_array();
  const auto matches = [&](const json::value& item) {
    return item.is_object() && text_member(item.as_object(), "apiId") == api_id &&
           text_member(item.as_object(), "stage") == stage;
  };
  const bool present = std::any_of(list.begin(), list.end(), matches);
  if (op == "add") {
    const auto record = rest_catalog_->find(api_id);
    if (colon == std::string::npos || record == nullptr || !record->stages.contains(stage)) {
      return bad_request(fmt::format("Invalid API Stage {{api: {}, stage: {}}}", api_id, stage));
    }
    if (present) {
      return bad_request(fmt::format(
          "API Stage {{api: {}, stage: {}}} is already in the usage plan", api_id, stage));
    }
    list.push_back(json::object{{"apiId", api_id}, {"stage", stage}});
    return ok();
  }
  if (op == "remove") {
    if (!present) {
      return bad_request(fmt::format("Invalid API Stage {{api: {}, stage: {}}}", api_id, stage));
    }
    list.erase(std::remove_if(list.begin(), list.end(), matches), list.end());
    return ok();
  }
  return bad_request(fmt::format("Invalid patch operation: {} /apiStages is not supported", op));
}

// "/apiStages/<api id>:<stage>/throttle/<resource path, '/' as ~1>/<METHOD>"
// and its "/rateLimit" or "/burstLimit": a stage's throttle of one method,
// kept as CreateUsagePlan keeps it, under "<resource path>/<METHOD>"; a
// remove of "/apiStages/<api id>:<stage>/throttle" drops every method's.
Result<void> ApiGatewayServiceImpl::patch_stage_throttle(json::object& plan,
                                                         const json::object& operation) {
  const std::string path = text_member(operation, "path");
  const std::string op = text_member(operation, "op");
  const auto invalid_path = [&] { return bad_request(fmt::format("Invalid patch path {}", path)); };
  constexpr std::string_view kPrefix = "/apiStages/";
  constexpr std::string_view kThrottle = "/throttle";
  const auto stage_end = path.find('/', kPrefix.size());
  if (stage_end == std::string::npos) return invalid_path();
  const std::string api_stage = path.substr(kPrefix.size(), stage_end - kPrefix.size());
  std::string_view rest = std::string_view(path).substr(stage_end);
  if (!rest.starts_with(kThrottle)) return invalid_path();
  rest.remove_prefix(kThrottle.size());

  const auto colon = api_stage.find(':');
  auto* stages = plan.if_contains("apiStages");
  json::object* stage = nullptr;
  if (stages != nullptr && stages->is_array() && colon != std::string::npos) {
    for (auto& item : stages->as_array()) {
      if (item.is_object() &&
          text_member(item.as_object(), "apiId") == api_stage.substr(0, colon) &&
          text_member(item.as_object(), "stage") == api_stage.substr(colon + 1)) {
        stage = &item.as_object();
      }
    }
  }
  if (stage == nullptr) {
    return bad_request(fmt::format("Invalid API Stage {} in patch path {}", api_stage, path));
  }
  if (rest.empty()) {
    if (op != "remove") return invalid_path();
    stage->erase("throttle");
    return ok();
  }
  // "/<escaped resource path>/<METHOD>[/rateLimit|/burstLimit]"
  std::string_view field;
  for (const std::string_view limit : {"/rateLimit", "/burstLimit"}) {
    if (rest.ends_with(limit)) {
      field = limit.substr(1);
      rest.remove_suffix(limit.size());
    }
  }
  const auto method_at = rest.rfind('/');
  if (method_at == std::string_view::npos || method_at == 0 || method_at + 1 == rest.size()) {
    return invalid_path();
  }
  const std::string resource = unescape_path_segment(rest.substr(1, method_at - 1));
  if (!resource.starts_with('/')) return invalid_path();
  const std::string key = fmt::format("{}/{}", resource, rest.substr(method_at + 1));

  auto& throttle = (*stage)["throttle"];
  if (!throttle.is_object()) throttle = json::object();
  if (op == "remove") {
    if (field.empty()) {
      throttle.as_object().erase(key);
    } else if (auto* limits = throttle.as_object().if_contains(key);
               limits && limits->is_object()) {
      limits->as_object().erase(field);
    }
    if (throttle.as_object().empty()) stage->erase("throttle");
    return ok();
  }
  if (op != "replace" && op != "add") {
    return bad_request(fmt::format("Invalid patch operation: {} is not supported", op));
  }
  if (field.empty()) return invalid_path();
  auto limit = patch_limit(path, text_member(operation, "value"), field == "rateLimit");
  if (!limit) return limit.error();
  auto& limits = throttle.as_object()[key];
  if (!limits.is_object()) limits = json::object();
  limits.as_object()[field] = std::move(*limit);
  return ok();
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_usage_plan(Call& call) {
  const std::string id = call.label("usageplanId");
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current == nullptr) return invalid("Usage Plan");
    return std::optional<JsonRecord>();
  };
  auto stored = co_await change_json_record(*usage_plans_, id, change);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

asio::awaitable<Reply> ApiGatewayServiceImpl::create_usage_plan_key(Call& call) {
  auto key_id = string_member(call.body, "keyId", true);
  if (!key_id) co_return key_id.error();
  auto key_type = string_member(call.body, "keyType", true);
  if (!key_type) co_return key_type.error();
  if (*key_type != "API_KEY") co_return bad_request("Invalid keyType: only API_KEY is supported");
  const auto key = api_keys_->find(*key_id);
  if (!key) co_return invalid("API Key");
  const std::string plan_id = call.label("usageplanId");
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current == nullptr) return invalid("Usage Plan");
    JsonRecord plan = *current;
    auto& keys = plan.value["keyIds"];
    if (!keys.is_array()) keys = json::array();
    for (const auto& existing : keys.as_array()) {
      if (existing.is_string() && existing.as_string() == *key_id) {
        return AwsError("ConflictException", "Usage Plan Key already exists", 409);
      }
    }
    keys.as_array().emplace_back(*key_id);
    return std::optional(std::move(plan));
  };
  auto stored = co_await change_json_record(*usage_plans_, plan_id, change);
  if (!stored) co_return stored.error();
  co_return json_reply(201, json::object{{"id", *key_id},
                                         {"type", "API_KEY"},
                                         {"value", text_member(key->value, "value")},
                                         {"name", text_member(key->value, "name")}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::get_usage_plan_keys(Call& call) {
  const auto plan = usage_plans_->find(call.label("usageplanId"));
  if (!plan) co_return invalid("Usage Plan");
  json::array items;
  if (const auto* keys = plan->value.if_contains("keyIds"); keys && keys->is_array()) {
    for (const auto& id : keys->as_array()) {
      if (!id.is_string()) continue;
      const auto key = api_keys_->find(std::string(id.as_string()));
      if (!key) continue;
      items.push_back(json::object{{"id", id},
                                   {"type", "API_KEY"},
                                   {"value", text_member(key->value, "value")},
                                   {"name", text_member(key->value, "name")}});
    }
  }
  co_return json_reply(200, json::object{{"item", std::move(items)}});
}

asio::awaitable<Reply> ApiGatewayServiceImpl::delete_usage_plan_key(Call& call) {
  const std::string plan_id = call.label("usageplanId");
  const std::string key_id = call.label("keyId");
  auto change = [&](const JsonRecord* current) -> Result<std::optional<JsonRecord>> {
    if (current == nullptr) return invalid("Usage Plan");
    JsonRecord plan = *current;
    auto* keys = plan.value.if_contains("keyIds");
    if (keys == nullptr || !keys->is_array()) return invalid("Usage Plan Key");
    auto& list = keys->as_array();
    const auto before = list.size();
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const json::value& id) {
                                return id.is_string() && id.as_string() == key_id;
                              }),
               list.end());
    if (list.size() == before) return invalid("Usage Plan Key");
    return std::optional(std::move(plan));
  };
  auto stored = co_await change_json_record(*usage_plans_, plan_id, change);
  if (!stored) co_return stored.error();
  co_return empty_reply(202);
}

std::optional<net::HttpResponse> ApiGatewayServiceImpl::check_api_key(
    const net::HttpRequest& request, const RestApiRecord& record, const std::string& stage,
    const std::optional<std::string>& usage_identifier_key, aws::ProxyRequestFacts& facts) {
  const auto forbidden = [] { return aws::gateway_message(403, "Forbidden"); };
  const auto value = text_member(record.api, "apiKeySource") == "AUTHORIZER"
                         ? std::optional<std::string_view>(usage_identifier_key)
                         : request.headers.get("x-api-key");
  if (!value || value->empty()) return forbidden();
  std::shared_ptr<const JsonRecord> key;
  for (const auto& candidate : api_keys_->all()) {
    if (text_member(candidate->value, "value") == *value) key = candidate;
  }
  if (!key) return forbidden();
  if (const auto* enabled = key->value.if_contains("enabled");
      enabled == nullptr || !enabled->is_bool() || !enabled->as_bool()) {
    return forbidden();
  }
  const std::string key_id = text_member(key->value, "id");
  std::shared_ptr<const JsonRecord> plan;
  const json::object* granted = nullptr;  // the plan's apiStages entry for this stage
  for (const auto& candidate : usage_plans_->all()) {
    bool holds_key = false;
    if (const auto* keys = candidate->value.if_contains("keyIds"); keys && keys->is_array()) {
      for (const auto& id : keys->as_array()) {
        holds_key = holds_key || (id.is_string() && id.as_string() == key_id);
      }
    }
    granted = nullptr;
    if (const auto* stages = candidate->value.if_contains("apiStages");
        stages && stages->is_array()) {
      for (const auto& item : stages->as_array()) {
        if (item.is_object() && text_member(item.as_object(), "apiId") == record.id &&
            text_member(item.as_object(), "stage") == stage) {
          granted = &item.as_object();
        }
      }
    }
    if (holds_key && granted != nullptr) {
      plan = candidate;
      break;
    }
  }
  if (!plan) return forbidden();
  const std::string plan_id = text_member(plan->value, "id");
  // A token bucket per key for `settings` ({rateLimit, burstLimit}), named
  // `bucket`: false once it is empty.
  const auto within = [&](const json::value* settings, const std::string& bucket) {
    std::optional<BucketLimits> limits;
    overlay_limits(settings, "rateLimit", "burstLimit",
                   {options_.account_rate_limit, options_.account_burst_limit}, limits);
    return !limits || throttle_.take(bucket, *limits, std::chrono::steady_clock::now());
  };
  if (!within(plan->value.if_contains("throttle"), fmt::format("plan/{}/{}", plan_id, key_id))) {
    return aws::gateway_message(429, "Too Many Requests");
  }
  // The stage's own per-method limits in the plan, by "<resource path>/<METHOD>".
  if (const auto* methods = granted->if_contains("throttle"); methods && methods->is_object()) {
    const std::string method = fmt::format("{}/{}", facts.resource_path, request.method);
    if (!within(methods->as_object().if_contains(method),
                fmt::format("plan/{}/{}/{}/{}", plan_id, key_id, stage, method))) {
      return aws::gateway_message(429, "Too Many Requests");
    }
  }
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (const auto* quota = quota_of(plan->value)) {
    const std::string prefix = quota_counter_prefix(plan_id, key_id);
    const std::string counter =
        prefix + std::to_string(period_start(text_member(*quota, "period"), now_us / 1'000'000));
    std::lock_guard lock(mutex_);
    auto& used = quota_count(prefix, counter);
    if (used >= quota->at("limit").as_int64()) return aws::gateway_message(429, "Limit Exceeded");
    ++used;
  }
  // Durable through the journal: GetUsage reads it, and a restart rebuilds
  // the quota counts from it.
  ledger::Usage usage;
  usage.service = "apigateway";
  usage.resource = usage_resource(plan_id, key_id);
  usage.id = facts.request_id;
  usage.time_us = now_us;
  usage.quantities = {{std::string(ledger::meter::kApiGatewayUsagePlanRequests), 1}};
  journal_.append_usage(std::move(usage));
  facts.api_key = std::string(*value);
  facts.api_key_id = key_id;
  return std::nullopt;
}

}  // namespace nimbus::services::apigateway::internal
