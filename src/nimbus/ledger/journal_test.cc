#include "nimbus/ledger/journal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

#include "nimbus/ledger/meters.h"
#include "nimbus/storage/test_store.h"

namespace nimbus::ledger {
namespace {

TEST(Journal, LogEventsReadBackInOrderPerStream) {
  storage::TempDir dir;
  auto store = storage::open_store(dir.path());
  auto journal = Journal::open(*store);
  ASSERT_TRUE(journal);
  (*journal)->create_stream("/aws/lambda/f", "2026/11/26/[$LATEST]a", 1000);
  (*journal)->append_logs(
      std::vector<LogEvent>{{"/aws/lambda/f", "2026/11/26/[$LATEST]a", 1000, "one"},
                            {"/aws/lambda/f", "2026/11/26/[$LATEST]a", 1000, "two"},
                            {"/aws/lambda/f", "2026/11/26/[$LATEST]b", 999, "other stream"},
                            {"/aws/lambda/g", "2026/11/26/[$LATEST]a", 5, "other group"}});
  (*journal)->flush();
  auto events = Journal::read_logs(*store, "/aws/lambda/f", "2026/11/26/[$LATEST]a");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].message, "one");
  EXPECT_EQ((*events)[1].message, "two");
  EXPECT_EQ((*events)[0].timestamp_ms, 1000);
  auto all = Journal::read_logs(*store, "/aws/lambda/f");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
}

TEST(LogFormat, EventKeysRoundTripAndSortByTime) {
  auto early = log_event_key("g", "s", -5, 7);
  auto late = log_event_key("g", "s", 1'700'000'000'000, 1);
  EXPECT_LT(early, late);
  auto parsed = parse_log_event_key(late);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->group, "g");
  EXPECT_EQ(parsed->stream, "s");
  EXPECT_EQ(parsed->timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(parsed->sequence, 1u);
  EXPECT_EQ(parse_log_event_key(early)->timestamp_ms, -5);
  EXPECT_FALSE(parse_log_event_key("g\0s"));
  const auto stream_key = log_stream_key("/aws/lambda/f", "2026/x");
  auto stream = parse_log_stream_key(stream_key);
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->group, "/aws/lambda/f");
  EXPECT_EQ(stream->stream, "2026/x");
}

TEST(LogFormat, ChunksHoldOrderedEventsWithinTheirSpan) {
  LogChunkWriter chunk;
  EXPECT_TRUE(chunk.accepts(-40));  // anything starts a chunk
  chunk.add(1000, "first");
  chunk.add(1000, "");
  chunk.add(1000 + kLogChunkSpanMs, std::string(300, 'x'));
  EXPECT_FALSE(chunk.accepts(999));                     // earlier than the last
  EXPECT_FALSE(chunk.accepts(1001 + kLogChunkSpanMs));  // past the span
  EXPECT_TRUE(chunk.accepts(1000 + kLogChunkSpanMs));
  EXPECT_EQ(chunk.count(), 3u);
  {
    // Full once it holds kLogChunkBytes, even for an event in its span.
    LogChunkWriter big;
    big.add(7, std::string(kLogChunkBytes, 'b'));
    EXPECT_FALSE(big.accepts(7));
  }
  const auto first_ms = chunk.first_timestamp_ms();
  const std::string value = chunk.take();
  EXPECT_TRUE(chunk.empty());

  const std::string key = log_chunk_key("g", "s", first_ms, 70);
  // A chunk sorts after a single event at its first position.
  EXPECT_LT(log_event_key("g", "s", 1000, 70), key);
  EXPECT_LT(key, log_event_key("g", "s", 1000, 71));
  auto parsed = parse_log_event_key(key);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->chunk);
  auto events = decode_log_record(*parsed, value);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].message, "first");
  EXPECT_EQ((*events)[1].message, "");
  EXPECT_EQ((*events)[1].sequence, 71u);
  EXPECT_EQ((*events)[2].timestamp_ms, 1000 + kLogChunkSpanMs);
  EXPECT_EQ((*events)[2].message, std::string(300, 'x'));
  // Truncated or lying about its span: refused, not misread.
  EXPECT_FALSE(decode_log_record(*parsed, value.substr(0, value.size() - 1)));
  std::string past_span;
  put_varint(past_span, kLogChunkSpanMs + 1);
  put_varint(past_span, 1);
  past_span += "x";
  EXPECT_FALSE(decode_log_record(*parsed, past_span));
  // A single event (as version 2 wrote every event) is its own value.
  auto single = parse_log_event_key(log_event_key("g", "s", 5, 9));
  ASSERT_TRUE(single);
  EXPECT_FALSE(single->chunk);
  auto one = decode_log_record(*single, "raw message");
  ASSERT_TRUE(one && one->size() == 1);
  EXPECT_EQ((*one)[0].message, "raw message");
}

TEST(Journal, LinesOfAStreamHandedInTogetherAreStoredAsOneChunk) {
  storage::TempDir dir;
  auto store = storage::open_store(dir.path());
  auto journal = Journal::open(*store);
  ASSERT_TRUE(journal);
  std::vector<LogEvent> lines;
  for (int i = 0; i < 50; ++i) {
    lines.push_back({"/aws/lambda/f", "s", 1000 + i, "line " + std::to_string(i)});
  }
  // A line far later than the first starts another chunk.
  lines.push_back({"/aws/lambda/f", "s", 1000 + 3 * kLogChunkSpanMs, "much later"});
  (*journal)->append_logs(std::move(lines));
  (*journal)->flush();
  auto keyspace = store->open_keyspace(Journal::kLogEventsKeyspace);
  ASSERT_TRUE(keyspace);
  auto records = store->scan(*keyspace, storage::ScanOptions{});
  ASSERT_TRUE(records);
  ASSERT_EQ(records->items.size(), 2u);
  auto first = parse_log_event_key(records->items[0].key);
  ASSERT_TRUE(first && first->chunk);
  EXPECT_EQ(first->timestamp_ms, 1000);
  auto events = Journal::read_logs(*store, "/aws/lambda/f");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 51u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ((*events)[i].message, "line " + std::to_string(i));
  EXPECT_EQ(events->back().message, "much later");
}

Usage invocation(std::string function, std::int64_t time_us, std::int64_t mb_ms) {
  Usage usage;
  usage.service = "lambda";
  usage.resource = std::move(function);
  usage.id = "r" + std::to_string(time_us);
  usage.time_us = time_us;
  usage.quantities = {{std::string(meter::kLambdaRequests), 1},
                      {std::string(meter::kLambdaComputeX86), mb_ms}};
  usage.detail_json = R"({"memoryMb":128})";
  return usage;
}

TEST(Journal, UsageRecordsAndHourlyCountersSurviveReopen) {
  storage::TempDir dir;
  constexpr std::int64_t kHour = 1'700'002'800;  // a multiple of 3600
  {
    auto store = storage::open_store(dir.path());
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    (*journal)->append_usage(invocation("f", kHour * 1'000'000 + 5, 128 * 3));
    (*journal)->append_usage(invocation("f", kHour * 1'000'000 + 3'599'999'999, 128 * 7));
    (*journal)->append_usage(invocation("g", kHour * 1'000'000 + 10, 512));
    (*journal)->append_usage(invocation("f", (kHour + 3600) * 1'000'000, 128));
  }  // the destructor flushes
  {
    // A second run adds to the counters it finds rather than restarting them.
    auto store = storage::open_store(dir.path());
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    (*journal)->append_usage(invocation("f", kHour * 1'000'000 + 77, 128));
  }
  auto store = storage::open_store(dir.path());
  {
    // A record as version 2 wrote them, one per key, is still read.
    auto keyspace = store->open_keyspace(Journal::kUsageKeyspace);
    ASSERT_TRUE(keyspace);
    std::string key;
    put_be64(key, sortable(kHour * 1'000'000 + 1));
    key += std::string("lambda\0old", 10);
    ASSERT_TRUE(store->put(*keyspace, key,
                           R"({"service":"lambda","resource":"v2","id":"old","timeUs":1,)"
                           R"("quantities":{"lambda.requests":1},"detail":{}})"));
  }
  auto records = Journal::read_usage(*store);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 6u);
  EXPECT_EQ((*records)[0].resource, "v2");
  records->erase(records->begin());
  EXPECT_EQ((*records)[0].service, "lambda");
  EXPECT_EQ((*records)[0].resource, "f");
  EXPECT_EQ((*records)[0].detail_json, R"({"memoryMb":128})");

  auto hourly = Journal::read_hourly(*store, kHour, kHour + 3600);
  ASSERT_TRUE(hourly);
  std::map<std::string, std::int64_t> sums;
  for (const auto& counter : *hourly) {
    EXPECT_EQ(counter.hour_start_s, kHour);
    sums[counter.resource + "/" + counter.meter] = counter.amount;
  }
  EXPECT_EQ(sums.size(), 4u);
  EXPECT_EQ(sums["f/lambda.requests"], 3);
  EXPECT_EQ(sums["f/lambda.compute.x86_64"], 128 * 11);
  EXPECT_EQ(sums["g/lambda.requests"], 1);
  EXPECT_EQ(sums["g/lambda.compute.x86_64"], 512);
  auto next = Journal::read_hourly(*store, kHour + 3600, kHour + 7200);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->size(), 2u);
}

// The start of the minute `minutes` ago: recent, as older aggregates are
// trimmed (kMinutelyRetentionS).
std::int64_t minutes_ago(std::int64_t minutes) {
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  return (now_s / 60 - minutes) * 60;
}

TEST(Journal, UsageBatchesKeepEveryRecordAsHandedIn) {
  storage::TempDir dir;
  auto store = storage::open_store(dir.path());
  constexpr std::int64_t kTime = 1'700'000'000'000'000;
  std::vector<Usage> handed;
  for (int i = 0; i < 6; ++i) {
    // Two services and three resources interleaved; meters in different
    // orders and counts; a negative amount; an empty detail.
    Usage usage;
    usage.service = i % 3 == 2 ? "apigateway" : "lambda";
    usage.resource = i % 3 == 2 ? "api1" : (i % 2 == 0 ? "f" : "g");
    usage.id = "id-" + std::to_string(i);
    usage.time_us = kTime + (5 - i) * 1000;  // the earliest record comes last
    if (i % 2 == 0) {
      usage.quantities = {{"a.one", i}, {"a.two", -i}};
    } else {
      usage.quantities = {{"a.two", 7}, {"a.three", 1'000'000'000'000}, {"a.one", 0}};
    }
    usage.detail_json = i == 4 ? "" : R"({"n":)" + std::to_string(i) + "}";
    handed.push_back(usage);
  }
  {
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    for (auto usage : handed) (*journal)->append_usage(std::move(usage));
    (*journal)->flush();
  }
  {
    // A batch of JSON records as version 3 wrote them is still read.
    auto keyspace = store->open_keyspace(Journal::kUsageKeyspace);
    ASSERT_TRUE(keyspace);
    std::string key;
    put_be64(key, sortable(kTime - 1));
    key.push_back(Journal::kUsageBatchMark);
    put_be64(key, 1);
    const std::string record = R"({"service":"lambda","resource":"v3","id":"old","timeUs":)" +
                               std::to_string(kTime - 1) +
                               R"(,"quantities":{"lambda.requests":1},"detail":{"n":-1}})";
    std::string value;
    put_varint(value, record.size());
    value += record;
    ASSERT_TRUE(store->put(*keyspace, key, value));
  }
  auto records = Journal::read_usage(*store);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), handed.size() + 1);
  EXPECT_EQ((*records)[0].resource, "v3");
  EXPECT_EQ((*records)[0].time_us, kTime - 1);
  EXPECT_EQ((*records)[0].detail_json, R"({"n":-1})");
  // By id: the journal may have split them over batches, read in key order.
  std::map<std::string, Usage> by_id;
  for (std::size_t i = 1; i < records->size(); ++i) by_id[(*records)[i].id] = (*records)[i];
  ASSERT_EQ(by_id.size(), handed.size());
  for (std::size_t i = 0; i < handed.size(); ++i) {
    const Usage& read = by_id[handed[i].id];
    EXPECT_EQ(read.service, handed[i].service) << i;
    EXPECT_EQ(read.resource, handed[i].resource) << i;
    EXPECT_EQ(read.id, handed[i].id) << i;
    EXPECT_EQ(read.time_us, handed[i].time_us) << i;
    EXPECT_EQ(read.quantities, handed[i].quantities) << i;
    EXPECT_EQ(read.detail_json, i == 4 ? "{}" : handed[i].detail_json) << i;
  }
}

TEST(Journal, AMalformedUsageBatchIsSkippedNotMisread) {
  storage::TempDir dir;
  auto store = storage::open_store(dir.path());
  {
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    (*journal)->append_usage(invocation("f", 1'700'000'000'000'000, 128));
  }
  auto keyspace = store->open_keyspace(Journal::kUsageKeyspace);
  ASSERT_TRUE(keyspace);
  auto stored = store->scan(*keyspace, storage::ScanOptions{});
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->items.size(), 1u);
  const std::string key = stored->items[0].key;
  ASSERT_EQ(key[8], Journal::kCompactUsageBatchMark);
  const std::string whole = stored->items[0].value;
  // Cut anywhere, or with a name number past the batch's names: never a
  // record made up from what is left.
  for (std::size_t size = 0; size < whole.size(); ++size) {
    ASSERT_TRUE(store->put(*keyspace, key, whole.substr(0, size)));
    auto records = Journal::read_usage(*store);
    ASSERT_TRUE(records);
    EXPECT_TRUE(records->empty()) << size;
  }
  std::string bad_name = whole;
  bad_name[bad_name.find("r1700000000000000") - 3] = '\x7f';  // the record's service number
  ASSERT_TRUE(store->put(*keyspace, key, bad_name));
  auto records = Journal::read_usage(*store);
  ASSERT_TRUE(records);
  EXPECT_TRUE(records->empty());
}

TEST(Journal, MinuteAggregatesKeepCountSumMinMax) {
  storage::TempDir dir;
  const std::int64_t kMinute = minutes_ago(10);
  {
    auto store = storage::open_store(dir.path());
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    for (auto [offset_us, seconds, errors] :
         {std::tuple{5, 0.010, 0}, std::tuple{30'000'000, 0.250, 1},
          std::tuple{59'999'999, 0.002, 0}, std::tuple{60'000'000, 1.0, 0}}) {
      Usage usage = invocation("f", kMinute * 1'000'000 + offset_us, 128);
      usage.quantities.emplace_back(std::string(meter::kLambdaErrors), errors);
      usage.observations = {{std::string(observation::kLambdaDuration), seconds}};
      (*journal)->append_usage(std::move(usage));
    }
  }
  auto store = storage::open_store(dir.path());
  auto minutes = Journal::read_minutely(*store, "lambda", kMinute, kMinute + 120);
  ASSERT_TRUE(minutes);
  // Past retention they are gone.
  {
    auto journal = Journal::open(*store);
    Usage old = invocation("f", (kMinute - Journal::kMinutelyRetentionS - 60) * 1'000'000, 1);
    (*journal)->append_usage(std::move(old));
  }
  EXPECT_TRUE(Journal::read_minutely(*store, "lambda", 0, kMinute)->empty());
  std::map<std::pair<std::int64_t, std::string>, MinuteStat> by;
  for (const auto& m : *minutes) by[{m.minute_start_s, m.name}] = m.stat;
  auto stat = [&](std::int64_t minute, const char* name) { return by[{minute, name}]; };
  const auto duration = stat(kMinute, "o:lambda.duration");
  EXPECT_EQ(duration.count, 3);
  EXPECT_EQ(duration.sum, 262'000);  // micro-seconds
  EXPECT_EQ(duration.min, 2'000);
  EXPECT_EQ(duration.max, 250'000);
  // The distribution is kept too: the median of 2, 10 and 250 ms.
  ASSERT_TRUE(duration.percentile(50));
  EXPECT_NEAR(*duration.percentile(50), 10'000, 10'000 * 0.012);
  const auto errors = stat(kMinute, "m:lambda.errors");
  EXPECT_EQ(errors.count, 3);  // zeros are samples
  EXPECT_EQ(errors.sum, 1);
  EXPECT_EQ(stat(kMinute + 60, "m:lambda.requests").count, 1);
  EXPECT_TRUE(Journal::read_minutely(*store, "apigateway", kMinute, kMinute + 120)->empty());
}

TEST(Journal, MergedSamplesStandInForTheirMetersAmountInMinuteAggregates) {
  storage::TempDir dir;
  const std::int64_t kMinute = minutes_ago(5);
  auto store = storage::open_store(dir.path());
  {
    auto journal = Journal::open(*store);
    ASSERT_TRUE(journal);
    // One record for three requests returning 2, 0 and 7 items, 1 ms, 3 ms
    // and 2 ms: the hourly counter takes the amount (9), the minute the
    // three samples; a meter without merged samples is one sample.
    Usage usage;
    usage.service = "dynamodb";
    usage.resource = "t";
    usage.id = "r1";
    usage.time_us = kMinute * 1'000'000 + 5;
    usage.quantities = {{"dynamodb.returned-items.Query", 9}, {"dynamodb.requests.Query", 3}};
    MinuteStat items;
    for (std::int64_t n : {2, 0, 7}) items.add(n);
    MinuteStat latency;
    for (std::int64_t us : {1'000, 3'000, 2'000}) latency.add(us);
    usage.merged_samples = {{"m:dynamodb.returned-items.Query", items},
                            {"o:dynamodb.latency.Query", latency}};
    (*journal)->append_usage(std::move(usage));
  }
  auto minutes = Journal::read_minutely(*store, "dynamodb", kMinute, kMinute + 60);
  ASSERT_TRUE(minutes);
  std::map<std::string, MinuteStat> by;
  for (const auto& m : *minutes) by[m.name] = m.stat;
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(by["m:dynamodb.returned-items.Query"].count, 3);
  EXPECT_EQ(by["m:dynamodb.returned-items.Query"].sum, 9);
  EXPECT_EQ(by["m:dynamodb.returned-items.Query"].min, 0);
  EXPECT_EQ(by["m:dynamodb.returned-items.Query"].max, 7);
  EXPECT_EQ(by["o:dynamodb.latency.Query"].count, 3);
  EXPECT_EQ(by["o:dynamodb.latency.Query"].sum, 6'000);
  EXPECT_EQ(by["m:dynamodb.requests.Query"].count, 1);
  EXPECT_EQ(by["m:dynamodb.requests.Query"].sum, 3);
  auto hours = Journal::read_hourly(*store, kMinute - 3600, kMinute + 3600);
  ASSERT_TRUE(hours);
  std::map<std::string, std::int64_t> counters;
  for (const auto& hour : *hours) counters[hour.meter] = hour.amount;
  EXPECT_EQ(counters["dynamodb.returned-items.Query"], 9);
  EXPECT_EQ(counters["dynamodb.requests.Query"], 3);
}

TEST(MinuteStat, PercentilesAreWithinTheBucketWidthOfTheSamples) {
  MinuteStat stat;
  for (std::int64_t value = 1; value <= 1000; ++value) stat.add(value * 1000);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9}) {
    const double exact = std::ceil(p * 10) * 1000;  // nearest rank of 1000 samples
    ASSERT_TRUE(stat.percentile(p));
    EXPECT_NEAR(*stat.percentile(p), exact, exact * 0.012) << "p" << p;
  }
  EXPECT_EQ(stat.percentile(100), 1'000'000);
  EXPECT_EQ(stat.percentile(0), 1'000);
  // Identical samples: exact, kept within [min, max].
  MinuteStat same;
  for (int i = 0; i < 5; ++i) same.add(777);
  EXPECT_EQ(same.percentile(50), 777);
  // Merging keeps the distribution; zero and negative samples order first.
  MinuteStat low;
  MinuteStat high;
  for (std::int64_t value : {-50, 0, 3}) low.add(value);
  for (std::int64_t value : {100, 200, 300, 400}) high.add(value);
  high.merge(low);
  EXPECT_EQ(high.count, 7);
  EXPECT_EQ(high.percentile(100.0 / 7), -50);
  EXPECT_EQ(high.percentile(200.0 / 7), 0);
  EXPECT_NEAR(*high.percentile(50), 100, 1.2);
  EXPECT_FALSE(MinuteStat{}.percentile(50));
}

TEST(Journal, MeteringAndLogsCanBeTurnedOff) {
  storage::TempDir dir;
  auto store = storage::open_store(dir.path());
  {
    auto journal = Journal::open(*store, {.metering = false, .logs = false});
    ASSERT_TRUE(journal);
    auto usage = invocation("f", 1'000'000, 128);
    (*journal)->append(std::vector<LogEvent>{{"/aws/lambda/f", "s", 1, "line"}}, &usage);
  }
  EXPECT_TRUE(Journal::read_logs(*store, "/aws/lambda/f")->empty());
  EXPECT_TRUE(Journal::read_usage(*store)->empty());
}

}  // namespace
}  // namespace nimbus::ledger
