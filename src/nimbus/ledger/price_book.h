#pragma once

// Unit prices and free tiers (docs/formats/ledger.md#price-book): a YAML
// file users edit, with AWS's us-east-1 on-demand prices of September 2023
// shipped as the default. Money is exact: prices are held in pico-units of
// the currency and multiplied as integers.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/ledger/meters.h"

namespace nimbus::ledger {

inline constexpr std::int64_t kPicoPerUnit = 1'000'000'000'000;

struct PriceTier {
  std::optional<std::int64_t> up_to;  // cumulative monthly usage, in recorded units
  std::int64_t price_pico = 0;        // for `per` billing units
  std::int64_t per = 1;
};

struct MeterPrice {
  const MeterInfo* meter = nullptr;
  std::string free_tier;  // a pool of PriceBook::free_tiers; empty: none
  std::vector<PriceTier> tiers;
};

struct PriceBook {
  int version = 1;
  std::string name;
  std::string currency = "USD";
  std::string source;
  // Pool name -> monthly amount, in the recorded unit of the meters sharing it.
  std::map<std::string, std::int64_t> free_tiers;
  std::map<std::string, MeterPrice, std::less<>> meters;

  // Validates everything, with the offending key in the message.
  static Result<PriceBook> parse(std::string_view yaml);
  static Result<PriceBook> load(const std::filesystem::path& path);
  // The shipped price book's text.
  static std::string_view default_text();
};

// Exact decimal text ("0.0000166667") in pico-units; nullopt if malformed,
// negative or finer than a pico-unit.
std::optional<std::int64_t> parse_pico(std::string_view text);

}  // namespace nimbus::ledger
