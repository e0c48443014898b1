#pragma once

// Where Nimbus's durable observations go: log events (what CloudWatch Logs
// serves) and usage records from every service (what cost reports bill
// from), with hourly counters kept beside the records. Writers append from
// any thread without waiting; a journal thread group-commits what
// accumulates over 10 ms, so an invocation or a gateway request never
// waits on the disk and a busy server writes one batch per 10 ms, not one
// per request, with each stream's lines in one chunk and the usage records
// in one value. Byte formats: docs/formats/ledger.md.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/ledger/log_format.h"
#include "nimbus/ledger/metrics.h"
#include "nimbus/storage/store.h"

namespace nimbus::ledger {

// One minute's samples of one meter or observation: what CloudWatch's
// statistics (Sum, SampleCount, Average, Minimum, Maximum, percentiles)
// are made from. Meters' samples are their amounts; observations' are
// micro-seconds.
struct MinuteStat {
  // Buckets per doubling: a bucket is 2.2% wide, so a percentile read
  // from it is within 1.1% of the sample's value.
  static constexpr int kBucketsPerOctave = 32;

  std::int64_t count = 0;
  std::int64_t sum = 0;
  std::int64_t min = 0;
  std::int64_t max = 0;
  // The samples' distribution: (bucket, samples in it), ordered by bucket,
  // which orders by value. Bucket 0 holds zero; bucket ±(i + 1) holds the
  // values of magnitude [2^(i/32), 2^((i+1)/32)), signed.
  std::vector<std::pair<std::int32_t, std::int64_t>> buckets;

  void add(std::int64_t value);
  void merge(const MinuteStat& other);
  // The nearest-rank percentile `p` (0..100) of the bucketed samples: the
  // bucket's middle, kept within [min, max]; nullopt without buckets
  // (aggregates written before they were kept).
  std::optional<double> percentile(double p) const;
  static std::int32_t bucket_of(std::int64_t value);
};

// One unit of work as a service meters it: what was used (quantities, by
// meter name, in the meter's recorded unit: meters.h) and what happened
// (`detail`, a JSON object the service defines, kept verbatim).
struct Usage {
  std::string service;       // "lambda", "apigateway"
  std::string resource;      // the function name, the API id
  std::string id;            // the request id
  std::int64_t time_us = 0;  // Unix epoch microseconds, when the work started
  std::vector<std::pair<std::string, std::int64_t>> quantities;
  // Durations for the live latency histograms (meters.h), in seconds; not stored.
  std::vector<std::pair<std::string, double>> observations;
  // Samples the service has already merged (many requests in one record),
  // by "m:<meter>" or "o:<observation>" (micro-seconds): they go into the
  // minute aggregates as they are, and an "m:" entry stands in for its
  // meter's amount there (which still goes to the hourly counters). Not stored.
  std::vector<std::pair<std::string, MinuteStat>> merged_samples;
  std::string detail_json = "{}";
};

// The summed quantities of one hour, service, resource and meter.
struct HourlyCounter {
  std::int64_t hour_start_s = 0;  // Unix epoch seconds, a multiple of 3600
  std::string service;
  std::string resource;
  std::string meter;
  std::int64_t amount = 0;
};

struct MinuteAggregate {
  std::int64_t minute_start_s = 0;
  std::string service;
  std::string resource;
  std::string name;  // "m:<meter>" or "o:<observation>"
  MinuteStat stat;
};

class Journal {
 public:
  static constexpr std::string_view kLogEventsKeyspace = "logs.events";
  static constexpr std::string_view kLogStreamsKeyspace = "logs.streams";
  static constexpr std::string_view kUsageKeyspace = "usage.records";
  // After a usage batch key's time, the batch's encoding: no service name
  // starts with either. Version 3 wrote JSON records; version 4 writes
  // compact ones (docs/formats/ledger.md).
  static constexpr char kUsageBatchMark = '\x01';
  static constexpr char kCompactUsageBatchMark = '\x02';
  static constexpr std::string_view kHourlyKeyspace = "usage.hourly";
  static constexpr std::string_view kMinutelyKeyspace = "usage.minutely";
  // Minute aggregates are kept as long as CloudWatch keeps 1-minute data.
  static constexpr std::int64_t kMinutelyRetentionS = 15 * 86'400;

  struct Options {
    bool metering = true;  // false: usage records are dropped (benchmarks)
    bool logs = true;      // false: log events are dropped (benchmarks)
  };

  static Result<std::unique_ptr<Journal>> open(storage::Store& store, Options options);
  static Result<std::unique_ptr<Journal>> open(storage::Store& store) {
    return open(store, Options{});
  }
  ~Journal();  // flushes

  // Appending copies what it is given into one byte buffer (the hand-off):
  // the caller's strings are freed where they were made, and the journal
  // thread reads views into that buffer instead of taking ownership of
  // many small allocations from other threads, which had made both sides'
  // malloc and free take their slow paths.
  void append_log(const LogEvent& event);
  void append_logs(std::span<const LogEvent> events);
  void create_stream(const std::string& group, const std::string& stream, std::int64_t created_ms);
  void append_usage(const Usage& usage);
  // Log events and (optionally) a usage record in one hand-off.
  void append(std::span<const LogEvent> events, const Usage* usage);
  // Lines of one stream and (optionally) a usage record in one hand-off:
  // what an instance hands in for an invocation, without a copy of its
  // group's and stream's names in every line.
  void append(std::string_view group, std::string_view stream, std::span<const LogLine> lines,
              const Usage* usage);

  // Whether appended log events and usage records are kept (Options): a
  // producer may skip making what would be dropped.
  bool keeps_logs() const { return options_.logs; }
  bool keeps_usage() const { return options_.metering; }

  // Sequence numbers for log events written by others (PutLogEvents), from
  // the same counter as the journal's own, so event keys never collide.
  std::uint64_t reserve_sequences(std::size_t count);

  // Blocks until everything appended before the call is in the store.
  void flush();

  // Sees every log event appended here (not ones others write), a call
  // each, on the appending thread: must be cheap, must not block and must
  // not append. Replaces any earlier observer.
  using LogObserver = std::function<void(std::string_view group, std::string_view message)>;
  void set_log_observer(LogObserver observer);

  // Counters and histograms of every usage record appended since start.
  const Metrics& metrics() const { return metrics_; }

  // Readers. Block on disk.
  static Result<std::vector<LogEvent>> read_logs(storage::Store& store, const std::string& group,
                                                 const std::string& stream_prefix = {});
  static Result<std::vector<Usage>> read_usage(storage::Store& store);
  // Counters of the hours in [from_s, until_s), in time order.
  static Result<std::vector<HourlyCounter>> read_hourly(storage::Store& store, std::int64_t from_s,
                                                        std::int64_t until_s);
  // Aggregates of the minutes in [from_s, until_s) of one service, in time order.
  static Result<std::vector<MinuteAggregate>> read_minutely(storage::Store& store,
                                                            std::string_view service,
                                                            std::int64_t from_s,
                                                            std::int64_t until_s);

 private:
  Journal(storage::Store& store, Options options, storage::Keyspace events,
          storage::Keyspace streams, storage::Keyspace usage, storage::Keyspace hourly,
          storage::Keyspace minutely);
  // What the journal thread reads out of the hand-off buffer: views into it.
  struct HandOff;
  // Both appends: put_events() copies `events` events into the hand-off
  // (under the lock), observe(observer) shows them to the log observer.
  template <class PutEvents, class Observe>
  void hand_in(std::size_t events, const Usage* usage, PutEvents put_events, Observe observe);
  // On the journal thread: the minute aggregates of the records into `batch`.
  void aggregate_minutes(const HandOff& hand_off, storage::WriteBatch& batch);
  // On the journal thread, hourly: drops minute aggregates past retention.
  void trim_minutes();
  void run();
  // On the journal thread: the records and their counters into `batch`.
  void meter(const HandOff& hand_off, storage::WriteBatch& batch);
  // On the journal thread: the events as chunks, one per stream and run.
  void chunk_logs(const HandOff& hand_off, storage::WriteBatch& batch);

  storage::Store& store_;
  Options options_;
  storage::Keyspace events_;
  storage::Keyspace streams_;
  storage::Keyspace usage_;
  storage::Keyspace hourly_;
  storage::Keyspace minutely_;
  Metrics metrics_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  storage::WriteBatch pending_;
  // Events and records appended since the last batch, encoded (journal.cc).
  std::string pending_bytes_;
  std::shared_ptr<const LogObserver> log_observer_;
  std::uint64_t appended_ = 0;  // batches handed in
  std::uint64_t written_ = 0;   // batches in the store
  // Tie-breaker for events in the same millisecond; also numbers chunks.
  std::atomic<std::uint64_t> sequence_;
  int flush_waiters_ = 0;  // flush() callers: no lingering while they wait
  bool stopping_ = false;

  // Journal thread only: the counters' current values. The journal is the
  // only writer of usage.hourly, so a value read once stays true.
  std::map<std::string, std::int64_t> counters_;
  std::map<std::string, MinuteStat> minutes_;
  // Unset until the first trim: the steady clock counts from boot, so a
  // default time point is not "long ago" on a machine up for under an hour.
  std::optional<std::chrono::steady_clock::time_point> last_trim_;
  // Journal thread only: the buffer being written out (its capacity kept
  // for the next) and what was read from it.
  std::string draining_;
  std::unique_ptr<HandOff> hand_off_;

  std::thread thread_;
};

}  // namespace nimbus::ledger
