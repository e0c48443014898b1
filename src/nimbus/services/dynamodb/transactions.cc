// Transactions: TransactWriteItems applies up to 100 puts, updates, deletes
// and condition checks all or none, and TransactGetItems reads up to 100
// items as of one moment. Every item involved is locked by its stripe
// (in stripe order, as BatchWriteItem locks) for the whole transaction, so
// conditions are checked against the items the writes replace, and the
// writes land in one store batch. Each item costs twice what a single
// operation on it would, as on DynamoDB.

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "nimbus/services/dynamodb/internal/evaluate.h"
#include "nimbus/services/dynamodb/internal/indexes.h"
#include "nimbus/services/dynamodb/internal/item_io.h"
#include "nimbus/services/dynamodb/internal/service_impl.h"

namespace nimbus::services::dynamodb {
namespace {

using storage::Store;

constexpr std::size_t kMaxTransactItems = 100;

constexpr std::size_t kMaxTransactionBytes = 4 * 1024 * 1024;

struct WriteAction {
  enum class Kind { kConditionCheck, kPut, kDelete, kUpdate } kind;
  TableHandle handle;
  std::string key;
  Item key_item;
  WriteParameters parameters;
  std::optional<Item> item;  // Put's
  std::size_t size = 0;      // Put's
};

Result<const json::array*> transact_items(const json::object& in) {
  const auto* items = member(in, "TransactItems");
  if (items == nullptr) return constraint("null", "transactItems", "Member must not be null");
  if (!items->is_array()) return AwsError::serialization("TransactItems must be a list");
  const auto& list = items->get_array();
  if (list.empty()) {
    return constraint("[]", "transactItems", "Member must have length greater than or equal to 1");
  }
  if (list.size() > kMaxTransactItems) {
    return constraint("[...]", "transactItems",
                      "Member must have length less than or equal to 100");
  }
  return &list;
}

AwsError multiple_operations() {
  return AwsError::validation("Transaction request cannot include multiple operations on one item");
}

// "Transaction cancelled, please refer cancellation reasons for specific
// reasons [None, ConditionalCheckFailed]" with the reasons as a member.
AwsError cancelled(const json::array& reasons) {
  std::vector<std::string> codes;
  for (const auto& reason : reasons) {
    codes.emplace_back(reason.as_object().at("Code").as_string());
  }
  AwsError error("TransactionCanceledException",
                 fmt::format("Transaction cancelled, please refer cancellation reasons for "
                             "specific reasons [{}]",
                             fmt::join(codes, ", ")),
                 400);
  error.with_json_field("CancellationReasons", json::serialize(reasons));
  return error;
}

}  // namespace

Result<json::object> DynamoDbServiceImpl::transact_write_items(Store& store, const json::object& in,
                                                               const aws::RequestContext&) {
  auto list = transact_items(in);
  if (!list) return list.error();
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();
  const auto token = string_member(in, "ClientRequestToken");
  if (token && (token->empty() || token->size() > 36)) {
    return constraint(*token, "clientRequestToken",
                      token->empty() ? "Member must have length greater than or equal to 1"
                                     : "Member must have length less than or equal to 36");
  }

  std::vector<WriteAction> actions;
  actions.reserve((*list)->size());
  std::set<std::pair<std::string, std::string>> seen;  // table id, key
  std::size_t index = 0;
  for (const auto& entry : **list) {
    ++index;
    const auto* request = entry.if_object();
    if (request == nullptr) return AwsError::serialization("TransactWriteItem must be a map");
    const json::value* body = nullptr;
    WriteAction action;
    int kinds = 0;
    for (const auto& [name, kind] :
         {std::pair{"ConditionCheck", WriteAction::Kind::kConditionCheck},
          std::pair{"Put", WriteAction::Kind::kPut},
          std::pair{"Delete", WriteAction::Kind::kDelete},
          std::pair{"Update", WriteAction::Kind::kUpdate}}) {
      if (const auto* found = member(*request, name)) {
        body = found;
        action.kind = kind;
        ++kinds;
      }
    }
    if (kinds != 1 || !body->is_object()) {
      return AwsError::validation(
          "TransactItems can only contain one of Check, Put, Update or Delete");
    }
    const auto& object = body->get_object();
    if (action.kind == WriteAction::Kind::kPut) {
      auto put =
          item_write(*this, store, object, fmt::format("transactItems.{}.member.put.item", index));
      if (!put) return put.error();
      action.handle = std::move(put->handle);
      action.key = std::move(put->key);
      action.item = std::move(put->item);
      action.size = put->size;
      action.parameters = std::move(put->parameters);
    } else {
      auto keyed = keyed_write(*this, store, object, action.kind == WriteAction::Kind::kUpdate);
      if (!keyed) return keyed.error();
      if (action.kind == WriteAction::Kind::kConditionCheck &&
          !keyed->parameters.expressions.condition) {
        return constraint(
            "null",
            fmt::format("transactItems.{}.member.conditionCheck.conditionExpression", index),
            "Member must not be null");
      }
      if (action.kind == WriteAction::Kind::kUpdate) {
        if (!keyed->parameters.expressions.update) {
          return constraint("null",
                            fmt::format("transactItems.{}.member.update.updateExpression", index),
                            "Member must not be null");
        }
        if (auto valid =
                check_key_untouched(*keyed->handle.record, *keyed->parameters.expressions.update);
            !valid) {
          return valid.error();
        }
      }
      action.handle = std::move(keyed->handle);
      action.key = std::move(keyed->key);
      action.key_item = std::move(keyed->key_item);
      action.parameters = std::move(keyed->parameters);
    }
    if (!seen.emplace(action.handle.record->id, action.key).second) return multiple_operations();
    actions.push_back(std::move(action));
  }
  // The items a transaction names, as sent (a Put's item, the others'
  // keys), may come to 4 MB together; refused before any condition is read.
  std::size_t aggregate = 0;
  for (const auto& action : actions) {
    aggregate += action.kind == WriteAction::Kind::kPut ? action.size : item_size(action.key_item);
  }
  if (aggregate > kMaxTransactionBytes) {
    return AwsError::validation("Transaction request cannot be larger than 4 MB");
  }

  // A token seen in the last ten minutes with the same request: done
  // already (or still running). Otherwise the token is claimed until the
  // transaction ends: kept if it succeeded, released if not.
  const std::size_t request_hash = std::hash<std::string>{}(json::serialize(in));
  struct TokenClaim {
    DynamoDbServiceImpl& service;
    std::optional<std::string> token;
    bool succeeded = false;
    ~TokenClaim() {
      if (!token) return;
      std::lock_guard lock(service.tokens_mutex_);
      if (succeeded) {
        service.tokens_[*token].in_progress = false;
      } else {
        service.tokens_.erase(*token);
      }
    }
  };
  TokenClaim claim{*this, std::nullopt};
  if (token) {
    std::lock_guard lock(tokens_mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(tokens_, [now](const auto& entry) {
      return !entry.second.in_progress && entry.second.expires < now;
    });
    if (const auto it = tokens_.find(*token); it != tokens_.end()) {
      if (it->second.request_hash != request_hash) {
        return AwsError("IdempotentParameterMismatchException",
                        "Request has already been processed with a different payload for the "
                        "same idempotent token",
                        400);
      }
      if (it->second.in_progress) {
        return AwsError("TransactionInProgressException",
                        "The transaction with the given request token is already in progress.",
                        400);
      }
      return json::object{};
    }
    tokens_[*token] = TransactionToken{request_hash, now + std::chrono::minutes(10), true};
    claim.token = token;
  }

  std::vector<std::size_t> stripes;
  for (const auto& action : actions)
    stripes.push_back(stripe_of(*action.handle.record, action.key));
  auto locks = lock_stripes(std::move(stripes));
  for (const auto& action : actions) {
    if (stale(action.handle)) return stale_table();
  }

  // Every condition is checked and every update applied before anything is
  // written; one failure cancels all.
  json::array reasons;
  bool failed = false;
  std::vector<ExistingItem> existing;
  std::vector<std::optional<Item>> written(actions.size());
  std::vector<std::size_t> written_sizes(actions.size(), 0);
  std::map<std::string, Consumed> consumed;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const WriteAction& action = actions[i];
    auto current = read_item(store, action.handle.items, action.key);
    if (!current) return current.error();
    existing.push_back(std::move(*current));
    const ExistingItem& old = existing.back();
    std::size_t size = old.size;
    json::object reason{{"Code", "None"}};
    const auto& condition = action.parameters.expressions.condition;
    if (condition && !evaluate(*condition, old.item_or_empty())) {
      reason = {{"Code", "ConditionalCheckFailed"}, {"Message", "The conditional request failed"}};
      if (action.parameters.return_old_on_failure && old.item) reason["Item"] = to_json(*old.item);
      failed = true;
    } else if (action.kind == WriteAction::Kind::kPut) {
      written[i] = action.item;
      written_sizes[i] = action.size;
      size = std::max(size, action.size);
    } else if (action.kind == WriteAction::Kind::kUpdate) {
      Item updated = old.item ? *old.item : action.key_item;
      const auto& updates = *action.parameters.expressions.update;
      auto applied = apply_update(updates, updated);
      const std::size_t new_size = applied ? item_size(updated) : 0;
      auto index_keys = applied ? check_index_keys(*action.handle.record, updated) : ok();
      if (!applied || new_size > kMaxItemBytes || !index_keys) {
        reason = {{"Code", "ValidationError"},
                  {"Message", !applied      ? applied.error().message()
                              : !index_keys ? index_keys.error().message()
                                            : "Item size to update has exceeded the maximum "
                                              "allowed size"}};
        failed = true;
      } else {
        written[i] = std::move(updated);
        written_sizes[i] = new_size;
        size = std::max(size, new_size);
      }
    }
    consumed[action.handle.record->name].write_units += 2 * units_of(size, 1024);
    reasons.push_back(std::move(reason));
  }
  for (const auto& [table, units] : consumed) meter(table, units);
  if (failed) return cancelled(reasons);

  storage::WriteBatch batch;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const WriteAction& action = actions[i];
    const bool deleted = action.kind == WriteAction::Kind::kDelete && existing[i].item;
    if (written[i]) {
      batch.put(action.handle.items, action.key, encode_item(*written[i], written_sizes[i]));
    } else if (deleted) {
      batch.del(action.handle.items, action.key);
    }
    if ((written[i] || deleted) && !action.handle.record->indexes.empty()) {
      // Index entries are written, not metered again: a transaction's two
      // units per KB already stand for its writes.
      (void)add_index_writes(*action.handle.record, action.handle.indexes, action.key,
                             existing[i].item ? &*existing[i].item : nullptr,
                             written[i] ? &*written[i] : nullptr, batch);
    }
  }
  if (auto stored = store.write(batch); !stored) return stored.error();
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const WriteAction& action = actions[i];
    if (written[i]) {
      action.handle.stats->changed(existing[i].size, written_sizes[i]);
    } else if (action.kind == WriteAction::Kind::kDelete) {
      action.handle.stats->changed(existing[i].size, 0);
    }
  }
  locks.clear();
  claim.succeeded = true;

  json::object out;
  add_consumed_capacities(in, consumed, out);
  return out;
}

Result<json::object> DynamoDbServiceImpl::transact_get_items(Store& store, const json::object& in,
                                                             const aws::RequestContext&) {
  auto list = transact_items(in);
  if (!list) return list.error();
  if (auto checked = check_capacity_modes(in); !checked) return checked.error();
  struct GetAction {
    TableHandle handle;
    std::string key;
    std::optional<std::vector<Path>> projection;
  };
  std::vector<GetAction> gets;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& entry : **list) {
    const auto* request = entry.if_object();
    const auto* get = request == nullptr ? nullptr : member(*request, "Get");
    if (get == nullptr || !get->is_object() || request->size() != 1) {
      return AwsError::validation("TransactItems can only contain one of Get");
    }
    const auto& object = get->get_object();
    auto handle = table(store, object);
    if (!handle) return handle.error();
    auto key_item = key_member(object);
    if (!key_item) return key_item.error();
    ExpressionParameters parameters;
    parameters.projection = true;
    auto expressions = parse_request_expressions(object, parameters);
    if (!expressions) return expressions.error();
    auto key = storage_key(*handle->record, *key_item, KeySource::kKey);
    if (!key) return key.error();
    if (!seen.emplace(handle->record->id, *key).second) return multiple_operations();
    gets.push_back(GetAction{std::move(*handle), std::move(*key), expressions->projection});
  }

  // Locked together: the items are read as of one moment, no write between.
  std::vector<std::size_t> stripes;
  for (const auto& get : gets) stripes.push_back(stripe_of(*get.handle.record, get.key));
  auto locks = lock_stripes(std::move(stripes));
  std::vector<std::optional<std::string>> stored;
  for (const auto& get : gets) {
    auto bytes = store.get(get.handle.items, get.key);
    if (!bytes) return bytes.error();
    stored.push_back(std::move(*bytes));
  }
  locks.clear();

  json::array responses;
  std::map<std::string, Consumed> consumed;
  for (std::size_t i = 0; i < gets.size(); ++i) {
    json::object response;
    std::size_t size = 0;
    if (stored[i]) {
      auto item = item_json(*stored[i], gets[i].projection, &size);
      if (!item) return item.error();
      if (item->is_object()) response["Item"] = std::move(*item);
    }
    // Twice a strongly consistent read: four halves per 4 KB.
    consumed[gets[i].handle.record->name].read_half_units += 4 * units_of(size, 4096);
    responses.push_back(std::move(response));
  }
  for (const auto& [table, units] : consumed) meter(table, units);
  json::object out{{"Responses", std::move(responses)}};
  add_consumed_capacities(in, consumed, out);
  return out;
}

}  // namespace nimbus::services::dynamodb
