#include "nimbus/ledger/price_book.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace nimbus::ledger {
namespace {

constexpr char kDefaultText[] =
#include "default_price_book.inc"
    ;

AwsError invalid(std::string_view what) {
  return AwsError::validation(fmt::format("price book: {}", what));
}

// Non-negative decimal text in pico-units, up to 10^24 whole units.
std::optional<__int128> parse_wide_pico(std::string_view text) {
  if (text.empty()) return std::nullopt;
  __int128 whole = 0;
  std::size_t i = 0;
  bool digits = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    whole = whole * 10 + (text[i] - '0');
    digits = true;
    if (whole > static_cast<__int128>(INT64_MAX) * 1'000'000) return std::nullopt;
  }
  __int128 fraction = 0;
  int places = 0;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (++places > 12) {
        if (text[i] != '0') return std::nullopt;  // finer than a pico-unit
        continue;
      }
      fraction = fraction * 10 + (text[i] - '0');
      digits = true;
    }
  }
  if (!digits || i != text.size()) return std::nullopt;
  for (; places < 12; ++places) fraction *= 10;
  return whole * kPicoPerUnit + fraction;
}

// A non-negative decimal amount of billing units in recorded units.
std::optional<std::int64_t> recorded_units(const YAML::Node& node, const MeterInfo& meter) {
  if (!node.IsScalar()) return std::nullopt;
  auto pico = parse_wide_pico(node.Scalar());
  if (!pico) return std::nullopt;
  __int128 units = *pico * meter.per_billing_unit / kPicoPerUnit;
  if (units > INT64_MAX) return std::nullopt;
  return static_cast<std::int64_t>(units);
}

}  // namespace

std::optional<std::int64_t> parse_pico(std::string_view text) {
  auto pico = parse_wide_pico(text);
  if (!pico || *pico > INT64_MAX) return std::nullopt;
  return static_cast<std::int64_t>(*pico);
}

std::string_view PriceBook::default_text() { return kDefaultText; }

Result<PriceBook> PriceBook::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return invalid(fmt::format("cannot read {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  auto book = parse(text.str());
  if (!book) return invalid(fmt::format("{}: {}", path.string(), book.error().message()));
  return book;
}

Result<PriceBook> PriceBook::parse(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return invalid(e.what());
  }
  if (!root.IsMap()) return invalid("the document must be a mapping");
  PriceBook book;
  try {
    if (root["version"]) book.version = root["version"].as<int>();
    if (book.version != 1) return invalid(fmt::format("unknown version {}", book.version));
    if (root["name"]) book.name = root["name"].as<std::string>();
    if (root["currency"]) book.currency = root["currency"].as<std::string>();
    if (root["source"]) book.source = root["source"].as<std::string>();

    // Pools are read as written and converted with the first meter using them.
    std::map<std::string, YAML::Node> pools;
    if (const auto free = root["freeTiers"]) {
      if (!free.IsMap()) return invalid("freeTiers must be a mapping");
      for (const auto& entry : free) pools[entry.first.as<std::string>()] = entry.second;
    }
    std::map<std::string, std::int64_t> pool_scale;

    const auto meters = root["meters"];
    if (!meters || !meters.IsMap()) return invalid("meters must be a mapping");
    for (const auto& entry : meters) {
      const auto name = entry.first.as<std::string>();
      const auto* info = find_meter(name);
      if (info == nullptr) return invalid(fmt::format("unknown meter '{}'", name));
      const auto& node = entry.second;
      if (!node.IsMap()) return invalid(fmt::format("meters.{} must be a mapping", name));
      if (node["unit"] && node["unit"].as<std::string>() != info->billing_unit) {
        return invalid(fmt::format("meters.{}.unit is {}, not '{}'", name, info->billing_unit,
                                   node["unit"].as<std::string>()));
      }
      MeterPrice price;
      price.meter = info;
      if (node["freeTier"]) {
        price.free_tier = node["freeTier"].as<std::string>();
        auto pool = pools.find(price.free_tier);
        if (pool == pools.end()) {
          return invalid(fmt::format("meters.{}.freeTier names no freeTiers entry '{}'", name,
                                     price.free_tier));
        }
        auto scale = pool_scale.find(price.free_tier);
        if (scale == pool_scale.end()) {
          auto amount = recorded_units(pool->second, *info);
          if (!amount) return invalid(fmt::format("freeTiers.{} is not an amount", pool->first));
          book.free_tiers[price.free_tier] = *amount;
          pool_scale[price.free_tier] = info->per_billing_unit;
        } else if (scale->second != info->per_billing_unit) {
          return invalid(fmt::format("meters sharing freeTiers.{} must share a unit", pool->first));
        }
      }
      const auto tiers = node["tiers"];
      if (!tiers || !tiers.IsSequence() || tiers.size() == 0) {
        return invalid(fmt::format("meters.{}.tiers must be a non-empty list", name));
      }
      std::int64_t previous = 0;
      for (std::size_t i = 0; i < tiers.size(); ++i) {
        const auto tier = tiers[i];
        const auto where = fmt::format("meters.{}.tiers[{}]", name, i);
        if (!tier.IsMap() || !tier["price"]) return invalid(where + " needs a price");
        PriceTier parsed;
        auto pico = parse_pico(tier["price"].Scalar());
        if (!pico) return invalid(where + ".price is not a decimal amount");
        parsed.price_pico = *pico;
        if (tier["per"]) {
          parsed.per = tier["per"].as<std::int64_t>();
          if (parsed.per <= 0) return invalid(where + ".per must be positive");
        }
        if (tier["upTo"]) {
          auto up_to = recorded_units(tier["upTo"], *info);
          if (!up_to || *up_to <= previous) {
            return invalid(where + ".upTo must exceed the tier before it");
          }
          parsed.up_to = previous = *up_to;
        } else if (i + 1 != tiers.size()) {
          return invalid(where + " without upTo must be the last tier");
        }
        price.tiers.push_back(parsed);
      }
      book.meters.emplace(name, std::move(price));
    }
  } catch (const YAML::Exception& e) {
    return invalid(e.what());
  }
  return book;
}

}  // namespace nimbus::ledger
