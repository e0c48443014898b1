#pragma once

// Cost reports: the hourly usage counters priced with a price book, free
// tiers applied month by month (docs/compatibility/cost.md says how).

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "nimbus/core/result.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/ledger/price_book.h"

namespace nimbus::ledger {

enum class CostGrouping { kService, kResource, kDay, kMeter };
Result<CostGrouping> parse_cost_grouping(std::string_view text);  // "function" is "resource"

struct CostQuery {
  std::int64_t since_s = 0;  // a multiple of 3600
  std::int64_t until_s = 0;  // exclusive, a multiple of 3600
  CostGrouping grouping = CostGrouping::kResource;
};

struct CostLine {
  std::string service;
  std::string resource;  // kResource
  std::string day;       // kDay: "2026-11-27"
  std::string meter;
  std::int64_t used = 0;       // recorded units
  std::int64_t free_tier = 0;  // recorded units the free tier covered
  __int128 cost_atto = 0;      // 1e-18 of the currency
};

struct CostReport {
  CostQuery query;
  std::string price_book;
  std::string currency;
  std::vector<CostLine> lines;  // ordered by grouping key, then meter
  __int128 total_atto = 0;
};

// `counters` must cover every hour from the start of the month holding
// query.since_s to query.until_s, in time order (free tiers and tiers count
// from the first of the month).
CostReport price_usage(const std::vector<HourlyCounter>& counters, const PriceBook& book,
                       const CostQuery& query);

// The first second of the UTC month holding `time_s`.
std::int64_t month_start(std::int64_t time_s);

// Amounts as decimal text: recorded units in billing units; money to 1e-10.
std::string format_units(std::int64_t recorded, const MeterInfo& meter);
std::string format_money(__int128 atto);

boost::json::object to_json(const CostReport& report);

}  // namespace nimbus::ledger
