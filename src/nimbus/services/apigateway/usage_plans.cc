// API keys and usage plans (REST APIs): the account's keys, the plans that
// grant them API stages with a throttle and a quota, and the check a method
// with apiKeyRequired makes of the x-api-key header.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

#include "nimbus/core/strings.h"
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

// The start of the quota period `now` falls in, as a number that changes
// when the period does (UTC days, weeks from Monday, calendar months).
std::int64_t period_index(std::string_view period, std::chrono::system_clock::time_point now) {
  const auto days = std::chrono::floor<std::chrono::days>(now);
  if (period == "WEEK")
    return (days.time_since_epoch().count() + 3) / 7;  // 1970-01-01 was a Thursday
  if (period == "MONTH") {
    const std::chrono::year_month_day date{days};
    return static_cast<int>(date.year()) * 12 +
           static_cast<int>(static_cast<unsigned>(date.month()));
  }
  return days.time_since_epoch().count();
}

}  // namespace

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
    if (auto patched = apply_patch(plan, call.body, {"name", "description", "throttle", "quota"});
        !patched) {
      return patched.error();
    }
    // Patch values are strings; limits are numbers.
    for (const auto* group : {"throttle", "quota"}) {
      auto* settings = plan.if_contains(group);
      if (settings == nullptr || !settings->is_object()) continue;
      for (auto& [name, value] : settings->as_object()) {
        if (!value.is_string() || name == "period") continue;
        char* end = nullptr;
        const std::string text(value.as_string());
        const double number = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || number < 0) {
          return bad_request(
              fmt::format("Invalid value for /{}/{}: {}", group, std::string_view(name), text));
        }
        if (name == "rateLimit") {
          value = number;
        } else {
          value = static_cast<std::int64_t>(number);
        }
      }
    }
    updated = plan;
    return std::optional(JsonRecord{std::move(plan)});
  };
  auto stored = co_await change_json_record(*usage_plans_, id, change);
  if (!stored) co_return stored.error();
  co_return json_reply(200, plan_view(updated));
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
    aws::ProxyRequestFacts& facts) {
  const auto forbidden = [] { return aws::gateway_message(403, "Forbidden"); };
  const auto value = request.headers.get("x-api-key");
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
  for (const auto& candidate : usage_plans_->all()) {
    bool holds_key = false;
    if (const auto* keys = candidate->value.if_contains("keyIds"); keys && keys->is_array()) {
      for (const auto& id : keys->as_array()) {
        holds_key = holds_key || (id.is_string() && id.as_string() == key_id);
      }
    }
    bool grants_stage = false;
    if (const auto* stages = candidate->value.if_contains("apiStages");
        stages && stages->is_array()) {
      for (const auto& item : stages->as_array()) {
        if (!item.is_object()) continue;
        grants_stage = grants_stage || (text_member(item.as_object(), "apiId") == record.id &&
                                        text_member(item.as_object(), "stage") == stage);
      }
    }
    if (holds_key && grants_stage) {
      plan = candidate;
      break;
    }
  }
  if (!plan) return forbidden();
  const std::string plan_id = text_member(plan->value, "id");
  if (const auto* throttle = plan->value.if_contains("throttle");
      throttle && throttle->is_object()) {
    const auto& settings = throttle->as_object();
    const auto* rate = settings.if_contains("rateLimit");
    const auto* burst = settings.if_contains("burstLimit");
    if ((rate && rate->is_number()) || (burst && burst->is_number())) {
      BucketLimits limits{
          rate && rate->is_number() ? rate->to_number<double>() : options_.account_rate_limit,
          burst && burst->is_number() ? burst->to_number<std::int64_t>()
                                      : options_.account_burst_limit};
      if (!throttle_.take(fmt::format("plan/{}/{}", plan_id, key_id), limits,
                          std::chrono::steady_clock::now())) {
        return aws::gateway_message(429, "Too Many Requests");
      }
    }
  }
  if (const auto* quota = plan->value.if_contains("quota"); quota && quota->is_object()) {
    const auto& settings = quota->as_object();
    const auto* limit = settings.if_contains("limit");
    if (limit && limit->is_int64()) {
      const auto period =
          period_index(text_member(settings, "period"), std::chrono::system_clock::now());
      const std::string prefix = fmt::format("{}/{}/", plan_id, key_id);
      const std::string counter = prefix + std::to_string(period);
      std::lock_guard lock(mutex_);
      if (!quota_used_.contains(counter)) {
        // A new period: the key's counts of earlier ones are done with.
        for (auto it = quota_used_.lower_bound(prefix);
             it != quota_used_.end() && it->first.starts_with(prefix);) {
          it = quota_used_.erase(it);
        }
      }
      auto& used = quota_used_[counter];
      if (used >= limit->as_int64()) return aws::gateway_message(429, "Limit Exceeded");
      ++used;
    }
  }
  facts.api_key = std::string(*value);
  facts.api_key_id = key_id;
  return std::nullopt;
}

}  // namespace nimbus::services::apigateway::internal
