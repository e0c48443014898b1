#include "nimbus/ledger/price_book.h"

#include <gtest/gtest.h>

#include "nimbus/ledger/cost.h"

namespace nimbus::ledger {
namespace {

TEST(PriceBook, DecimalTextIsExactInPicoUnits) {
  EXPECT_EQ(parse_pico("0.20"), 200'000'000'000);
  EXPECT_EQ(parse_pico("0.0000166667"), 16'666'700);
  EXPECT_EQ(parse_pico("3"), 3'000'000'000'000);
  EXPECT_EQ(parse_pico("0.000000000001"), 1);
  EXPECT_EQ(parse_pico("0.0000000000010"), 1);
  EXPECT_FALSE(parse_pico("0.0000000000001"));  // finer than a pico-unit
  EXPECT_FALSE(parse_pico("-1"));
  EXPECT_FALSE(parse_pico("1e3"));
  EXPECT_FALSE(parse_pico(""));
  EXPECT_FALSE(parse_pico("."));
  EXPECT_FALSE(parse_pico("99999999999"));
}

TEST(PriceBook, TheShippedBookHasSeptember2023Prices) {
  auto book = PriceBook::parse(PriceBook::default_text());
  ASSERT_TRUE(book) << book.error().message();
  EXPECT_EQ(book->currency, "USD");
  const auto& requests = book->meters.at("lambda.requests");
  EXPECT_EQ(requests.tiers[0].price_pico, 200'000'000'000);
  EXPECT_EQ(requests.tiers[0].per, 1'000'000);
  EXPECT_EQ(book->meters.at("lambda.compute.x86_64").tiers[0].price_pico, 16'666'700);
  EXPECT_EQ(book->meters.at("lambda.compute.arm64").tiers[0].price_pico, 13'333'400);
  EXPECT_EQ(book->meters.at("apigateway.rest.requests").tiers[0].price_pico, 3'500'000'000'000);
  // 400,000 GB-seconds in MB-ms.
  EXPECT_EQ(book->free_tiers.at("lambda-compute"), 400'000LL * 1'024'000);
  EXPECT_EQ(book->free_tiers.at("lambda-requests"), 1'000'000);
  EXPECT_EQ(*book->meters.at("apigateway.http.requests").tiers[0].up_to, 300'000'000);
}

TEST(PriceBook, MistakesAreNamed) {
  auto unknown = PriceBook::parse("meters:\n  lambda.nope:\n    tiers: [{price: '1'}]\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("unknown meter 'lambda.nope'"), std::string::npos);
  auto price = PriceBook::parse("meters:\n  lambda.requests:\n    tiers: [{price: abc}]\n");
  ASSERT_FALSE(price);
  EXPECT_NE(price.error().message().find("meters.lambda.requests.tiers[0].price"),
            std::string::npos);
  auto pool =
      PriceBook::parse("meters:\n  lambda.requests:\n    freeTier: x\n    tiers: [{price: '1'}]\n");
  ASSERT_FALSE(pool);
  auto order = PriceBook::parse(
      "meters:\n  lambda.requests:\n    tiers: [{price: '1'}, {price: '2', upTo: 5}]\n");
  ASSERT_FALSE(order);
  EXPECT_FALSE(PriceBook::parse("version: 2\nmeters: {}\n"));
  EXPECT_FALSE(PriceBook::parse("[1, 2"));
}

constexpr std::int64_t kNov1 = 1'793'491'200;  // 2026-11-01T00:00:00Z

HourlyCounter counter(std::int64_t hour, std::string resource, std::string_view meter,
                      std::int64_t amount) {
  return {kNov1 + hour * 3600, "lambda", std::move(resource), std::string(meter), amount};
}

TEST(Cost, FreeTierThenPriceToTheCent) {
  auto book = PriceBook::parse(PriceBook::default_text());
  ASSERT_TRUE(book);
  ASSERT_EQ(month_start(kNov1 + 86400 * 20), kNov1);
  // 1.5M requests and 1M GB-seconds (x86) in November.
  std::vector<HourlyCounter> counters = {
      counter(0, "a", meter::kLambdaRequests, 1'000'000),
      counter(0, "a", meter::kLambdaComputeX86, 600'000LL * 1'024'000),
      counter(5, "b", meter::kLambdaRequests, 500'000),
      counter(5, "b", meter::kLambdaComputeX86, 400'000LL * 1'024'000),
      counter(5, "b", meter::kLambdaColdStarts, 3),  // not priced
  };
  auto report = price_usage(counters, *book, {kNov1, kNov1 + 30 * 86400, CostGrouping::kResource});
  // 500,000 requests x $0.20/M = $0.10; 600,000 GB-s x $0.0000166667 = $10.00002.
  EXPECT_EQ(format_money(report.total_atto), "10.1000200000");
  ASSERT_EQ(report.lines.size(), 4u);
  // The free tier goes to the earliest usage: all of a's, none of b's.
  EXPECT_EQ(report.lines[0].resource, "a");
  EXPECT_EQ(report.lines[0].meter, "lambda.compute.x86_64");
  EXPECT_EQ(format_units(report.lines[0].free_tier, *find_meter(report.lines[0].meter)), "400000");
  EXPECT_EQ(format_money(report.lines[0].cost_atto), "3.3333400000");
  EXPECT_EQ(format_money(report.lines[1].cost_atto), "0.0000000000");  // a's requests
  EXPECT_EQ(format_money(report.lines[2].cost_atto), "6.6666800000");
  EXPECT_EQ(format_money(report.lines[3].cost_atto), "0.1000000000");

  // A new month has a new free tier.
  counters.push_back(counter(30 * 24, "a", meter::kLambdaRequests, 1'000'000));
  auto december = price_usage(counters, *book,
                              {kNov1 + 30 * 86400, kNov1 + 31 * 86400, CostGrouping::kService});
  EXPECT_EQ(december.total_atto, 0);
  ASSERT_EQ(december.lines.size(), 1u);
  EXPECT_EQ(december.lines[0].free_tier, 1'000'000);
}

TEST(Cost, UsageBeforeTheReportStillSpendsTheFreeTier) {
  auto book = PriceBook::parse(PriceBook::default_text());
  ASSERT_TRUE(book);
  std::vector<HourlyCounter> counters = {
      counter(0, "a", meter::kLambdaRequests, 900'000),
      counter(48, "a", meter::kLambdaRequests, 200'000),
  };
  auto report =
      price_usage(counters, *book, {kNov1 + 86400, kNov1 + 3 * 86400, CostGrouping::kDay});
  ASSERT_EQ(report.lines.size(), 1u);
  EXPECT_EQ(report.lines[0].day, "2026-11-03");
  EXPECT_EQ(report.lines[0].used, 200'000);
  EXPECT_EQ(report.lines[0].free_tier, 100'000);
  EXPECT_EQ(format_money(report.total_atto), "0.0200000000");
}

TEST(Cost, TiersSplitAtTheirBoundary) {
  auto book = PriceBook::parse(PriceBook::default_text());
  ASSERT_TRUE(book);
  std::vector<HourlyCounter> counters = {
      {kNov1, "apigateway", "api1", std::string(meter::kHttpApiRequests), 299'000'000},
      {kNov1 + 3600, "apigateway", "api1", std::string(meter::kHttpApiRequests), 2'000'000},
  };
  auto report = price_usage(counters, *book, {kNov1, kNov1 + 7200, CostGrouping::kService});
  // 300M at $1.00/M, then 1M at $0.90/M.
  EXPECT_EQ(format_money(report.total_atto), "300.9000000000");
  auto json = to_json(report);
  EXPECT_EQ(json.at("since").as_string(), "2026-11-01T00:00:00Z");
  EXPECT_EQ(json.at("lines").as_array()[0].as_object().at("usage").as_string(), "301000000");
}

}  // namespace
}  // namespace nimbus::ledger
