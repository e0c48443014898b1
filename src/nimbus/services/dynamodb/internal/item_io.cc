#include "nimbus/services/dynamodb/internal/item_io.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include "nimbus/services/dynamodb/internal/evaluate.h"
#include "nimbus/services/dynamodb/internal/table.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

const Item& ExistingItem::item_or_empty() const {
  static const Item kEmpty;
  return item ? *item : kEmpty;
}

Result<ExistingItem> read_item(storage::Store& store, const storage::Keyspace& items,
                               const std::string& key, bool decode) {
  auto bytes = store.get(items, key);
  if (!bytes) return bytes.error();
  ExistingItem out;
  if (!*bytes) return out;
  auto stored = read_stored(**bytes);
  if (!stored) return stored.error();
  out.size = stored->size;
  if (!decode) return out;
  auto item = decode_item(**bytes);
  if (!item) return item.error();
  out.item = std::move(*item);
  return out;
}

Result<json::value> item_json(std::string_view bytes,
                              const std::optional<std::vector<Path>>& projection,
                              std::size_t* size) {
  auto stored = read_stored(bytes);
  if (!stored) return stored.error();
  *size = stored->size;
  boost::system::error_code error;
  json::value parsed = parse_json(stored->json, error);
  if (error || !parsed.is_object()) return AwsError::internal("unreadable stored item");
  if (!projection) return parsed;
  auto item = parse_item(parsed);
  if (!item) return item.error();
  return json::value(to_json(project(*item, *projection)));
}

Result<Item> key_member(const json::object& in) {
  const auto* wire = in.if_contains("Key");
  if (wire == nullptr || wire->is_null()) {
    return AwsError::validation(
        "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member "
        "must not be null");
  }
  return parse_item(*wire);
}

Result<bool> bool_member(const json::object& in, std::string_view name) {
  const auto* value = in.if_contains(name);
  if (value == nullptr || value->is_null()) return false;
  if (!value->is_bool()) {
    return AwsError::serialization(fmt::format("{} must be a boolean", name));
  }
  return value->get_bool();
}

}  // namespace nimbus::services::dynamodb
