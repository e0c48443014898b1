#include "nimbus/ledger/cost.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace nimbus::ledger {
namespace {

constexpr __int128 kAttoPerPico = 1'000'000;

std::string utc_day(std::int64_t time_s) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_seconds(seconds(time_s)));
  const year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string utc_time(std::int64_t time_s) {
  return fmt::format("{}T{:02}:00:00Z", utc_day(time_s),
                     (((time_s % 86400) + 86400) % 86400) / 3600);
}

// The cost of recorded units [from, to) of a month's cumulative usage.
__int128 tiered_cost(const MeterPrice& price, std::int64_t from, std::int64_t to) {
  __int128 cost = 0;
  std::int64_t tier_start = 0;
  for (const auto& tier : price.tiers) {
    const std::int64_t tier_end = tier.up_to.value_or(INT64_MAX);
    const std::int64_t lo = std::max(from, tier_start);
    const std::int64_t hi = std::min(to, tier_end);
    if (hi > lo) {
      cost += static_cast<__int128>(hi - lo) * tier.price_pico * kAttoPerPico /
              (static_cast<__int128>(tier.per) * price.meter->per_billing_unit);
    }
    tier_start = tier_end;
    if (tier_start >= to) break;
  }
  return cost;
}

}  // namespace

Result<CostGrouping> parse_cost_grouping(std::string_view text) {
  if (text == "service") return CostGrouping::kService;
  if (text == "resource" || text == "function") return CostGrouping::kResource;
  if (text == "day") return CostGrouping::kDay;
  if (text == "meter") return CostGrouping::kMeter;
  return AwsError::validation(
      fmt::format("cannot group costs by '{}' (function, resource, service, day or meter)", text));
}

std::int64_t month_start(std::int64_t time_s) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_seconds(seconds(time_s)));
  const year_month_day ymd(day);
  const sys_days first = ymd.year() / ymd.month() / 1;
  return first.time_since_epoch().count() * 86400;
}

CostReport price_usage(const std::vector<HourlyCounter>& counters, const PriceBook& book,
                       const CostQuery& query) {
  CostReport report;
  report.query = query;
  report.price_book = book.name;
  report.currency = book.currency;

  using LineKey = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<LineKey, CostLine> lines;
  std::int64_t month = INT64_MIN;
  std::map<std::string, std::int64_t> free_left;          // pool -> recorded units
  std::map<std::string, std::int64_t, std::less<>> used;  // meter -> cumulative this month
  for (const auto& counter : counters) {
    if (counter.hour_start_s >= query.until_s) break;
    auto price = book.meters.find(counter.meter);
    if (price == book.meters.end()) continue;  // not billed: a statistic
    if (const auto this_month = month_start(counter.hour_start_s); this_month != month) {
      month = this_month;
      free_left = book.free_tiers;
      used.clear();
    }
    std::int64_t& before = used[counter.meter];
    std::int64_t free = 0;
    if (!price->second.free_tier.empty()) {
      std::int64_t& pool = free_left[price->second.free_tier];
      free = std::min(pool, counter.amount);
      pool -= free;
    }
    const __int128 cost = tiered_cost(price->second, before + free, before + counter.amount);
    before += counter.amount;
    if (counter.hour_start_s < query.since_s) continue;  // counted toward tiers only

    LineKey key;
    switch (query.grouping) {
      case CostGrouping::kService:
        key = {counter.service, "", "", counter.meter};
        break;
      case CostGrouping::kResource:
        key = {counter.service, counter.resource, "", counter.meter};
        break;
      case CostGrouping::kDay:
        key = {"", "", utc_day(counter.hour_start_s), counter.meter};
        break;
      case CostGrouping::kMeter:
        key = {counter.service, "", "", counter.meter};
        break;
    }
    auto& line = lines[key];
    if (line.meter.empty()) {
      line.service = query.grouping == CostGrouping::kDay ? "" : counter.service;
      line.resource = std::get<1>(key);
      line.day = std::get<2>(key);
      line.meter = counter.meter;
    }
    line.used += counter.amount;
    line.free_tier += free;
    line.cost_atto += cost;
    report.total_atto += cost;
  }
  report.lines.reserve(lines.size());
  for (auto& [key, line] : lines) report.lines.push_back(std::move(line));
  if (query.grouping == CostGrouping::kMeter) {
    std::stable_sort(report.lines.begin(), report.lines.end(),
                     [](const CostLine& a, const CostLine& b) { return a.meter < b.meter; });
  }
  return report;
}

std::string format_units(std::int64_t recorded, const MeterInfo& meter) {
  if (meter.per_billing_unit == 1) return std::to_string(recorded);
  // Six decimals of the billing unit: 1 MB-ms is 1e-6 GB-seconds.
  const __int128 micro = static_cast<__int128>(recorded) * 1'000'000 / meter.per_billing_unit;
  auto whole = static_cast<std::int64_t>(micro / 1'000'000);
  auto fraction = static_cast<std::int64_t>(micro % 1'000'000);
  std::string text = fmt::format("{}.{:06}", whole, fraction);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string format_money(__int128 atto) {
  // Ten decimals: finer than any unit price in the default book.
  const __int128 units = atto / 100'000'000;  // 1e-10
  auto whole = static_cast<std::int64_t>(units / 10'000'000'000);
  auto fraction = static_cast<std::int64_t>(units % 10'000'000'000);
  return fmt::format("{}.{:010}", whole, fraction);
}

boost::json::object to_json(const CostReport& report) {
  boost::json::array lines;
  for (const auto& line : report.lines) {
    const auto* meter = find_meter(line.meter);
    boost::json::object out;
    if (!line.service.empty()) out["service"] = line.service;
    if (!line.resource.empty()) out["resource"] = line.resource;
    if (!line.day.empty()) out["day"] = line.day;
    out["meter"] = line.meter;
    out["unit"] = meter->billing_unit;
    out["usage"] = format_units(line.used, *meter);
    // Exact, in the unit the ledger records (usage is rounded to 6 decimals).
    out["recorded"] = line.used;
    out["recordedUnit"] = meter->recorded_unit;
    out["freeTier"] = format_units(line.free_tier, *meter);
    out["cost"] = format_money(line.cost_atto);
    lines.push_back(std::move(out));
  }
  static constexpr std::string_view kGroupings[] = {"service", "resource", "day", "meter"};
  return {{"since", utc_time(report.query.since_s)},
          {"until", utc_time(report.query.until_s)},
          {"by", kGroupings[static_cast<int>(report.query.grouping)]},
          {"priceBook", report.price_book},
          {"currency", report.currency},
          {"lines", std::move(lines)},
          {"total", format_money(report.total_atto)}};
}

}  // namespace nimbus::ledger
