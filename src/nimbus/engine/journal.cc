#include "nimbus/engine/journal.h"

#include <chrono>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace nimbus::engine {

namespace {

namespace json = boost::json;

void put_be64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint64_t get_be64(std::string_view in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

std::string stream_key(const std::string& group, const std::string& stream) {
  std::string key = group;
  key.push_back('\0');
  key += stream;
  return key;
}

// The event's bits of an int64 timestamp, offset so negative times still sort.
std::uint64_t sortable(std::int64_t value) {
  return static_cast<std::uint64_t>(value) ^ (std::uint64_t{1} << 63);
}

constexpr auto kLinger = std::chrono::milliseconds(2);

}  // namespace

Result<std::unique_ptr<Journal>> Journal::open(storage::Store& store) {
  auto events = store.open_or_create_keyspace(kLogEventsKeyspace);
  if (!events) return events.error();
  auto streams = store.open_or_create_keyspace(kLogStreamsKeyspace);
  if (!streams) return streams.error();
  auto usage = store.open_or_create_keyspace(kUsageKeyspace);
  if (!usage) return usage.error();
  return std::unique_ptr<Journal>(new Journal(store, *events, *streams, *usage));
}

Journal::Journal(storage::Store& store, storage::Keyspace events, storage::Keyspace streams,
                 storage::Keyspace usage)
    : store_(store),
      events_(events),
      streams_(streams),
      usage_(usage),
      // Unique across restarts without reading anything back: start from the clock.
      sequence_(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count())),
      thread_([this] { run(); }) {}

Journal::~Journal() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Journal::append_log(LogEvent event) {
  std::vector<LogEvent> events;
  events.push_back(std::move(event));
  append_logs(std::move(events));
}

void Journal::append_logs(std::vector<LogEvent> events) { append(std::move(events), nullptr); }

void Journal::create_stream(const std::string& group, const std::string& stream,
                            std::int64_t created_ms) {
  json::object record{{"creationTime", created_ms}};
  std::lock_guard lock(mutex_);
  pending_.put(streams_, stream_key(group, stream), json::serialize(record));
  ++appended_;
  wake_.notify_one();
}

void Journal::append_usage(const UsageRecord& record) { append({}, &record); }

void Journal::append(std::vector<LogEvent> events, const UsageRecord* usage) {
  if (events.empty() && usage == nullptr) return;
  // Encode outside the lock; only the hand-off is serialised.
  std::string usage_key;
  std::string usage_value;
  if (usage != nullptr) {
    put_be64(usage_key, sortable(usage->start_time_us));
    usage_key += usage->request_id;
    json::object value{
        {"function", usage->function},      {"version", usage->version},
        {"requestId", usage->request_id},   {"startTimeUs", usage->start_time_us},
        {"durationMs", usage->duration_ms}, {"billedMs", usage->billed_ms},
        {"memoryMb", usage->memory_mb},     {"coldStart", usage->cold_start},
        {"initMs", usage->init_ms},         {"outcome", static_cast<int>(usage->outcome)},
        {"bytesIn", usage->bytes_in},       {"bytesOut", usage->bytes_out},
    };
    usage_value = json::serialize(value);
  }
  std::vector<std::string> keys;
  keys.reserve(events.size());
  for (const auto& event : events) {
    std::string key = stream_key(event.group, event.stream);
    key.push_back('\0');
    put_be64(key, sortable(event.timestamp_ms));
    keys.push_back(std::move(key));
  }
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < events.size(); ++i) {
    put_be64(keys[i], sequence_++);
    pending_.put(events_, keys[i], events[i].message);
  }
  if (usage != nullptr) pending_.put(usage_, usage_key, usage_value);
  ++appended_;
  wake_.notify_one();
}

void Journal::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = appended_;
  ++flush_waiters_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return written_ >= target; });
  --flush_waiters_;
}

void Journal::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty() && stopping_) return;
    if (!stopping_ && flush_waiters_ == 0) {
      // Linger a moment so one write carries many invocations' records:
      // one wake-up and one WAL append per batch, not per invocation.
      lock.unlock();
      std::this_thread::sleep_for(kLinger);
      lock.lock();
    }
    storage::WriteBatch batch = std::move(pending_);
    pending_ = storage::WriteBatch();
    std::uint64_t covered = appended_;
    lock.unlock();
    // A failing disk loses log lines and usage records, never an
    // invocation: say so and go on.
    if (auto written = store_.write(batch); !written) {
      spdlog::error("journal: {} writes lost: {}", batch.writes().size(),
                    written.error().message());
    }
    lock.lock();
    written_ = covered;
    flushed_.notify_all();
  }
}

Result<std::vector<LogEvent>> Journal::read_logs(storage::Store& store, const std::string& group,
                                                 const std::string& stream_prefix) {
  auto keyspace = store.open_keyspace(kLogEventsKeyspace);
  if (!keyspace) return keyspace.error();
  std::string prefix = group;
  prefix.push_back('\0');
  prefix += stream_prefix;
  auto options = storage::ScanOptions::with_prefix(prefix);
  std::vector<LogEvent> events;
  for (;;) {
    auto page = store.scan(*keyspace, options);
    if (!page) return page.error();
    for (auto& item : page->items) {
      const std::string& key = item.key;
      auto first = key.find('\0');
      auto second = key.find('\0', first + 1);
      if (first == std::string::npos || second == std::string::npos || key.size() < second + 17) {
        continue;
      }
      LogEvent event;
      event.group = key.substr(0, first);
      event.stream = key.substr(first + 1, second - first - 1);
      event.timestamp_ms = static_cast<std::int64_t>(
          get_be64(std::string_view(key).substr(second + 1)) ^ (std::uint64_t{1} << 63));
      event.message = std::move(item.value);
      events.push_back(std::move(event));
    }
    if (!page->cursor) break;
    options.cursor = page->cursor;
  }
  return events;
}

Result<std::vector<UsageRecord>> Journal::read_usage(storage::Store& store) {
  auto keyspace = store.open_keyspace(kUsageKeyspace);
  if (!keyspace) return keyspace.error();
  storage::ScanOptions options;
  std::vector<UsageRecord> records;
  for (;;) {
    auto page = store.scan(*keyspace, options);
    if (!page) return page.error();
    for (auto& item : page->items) {
      boost::system::error_code ec;
      auto value = json::parse(item.value, ec);
      if (ec || !value.is_object()) continue;
      const auto& o = value.as_object();
      UsageRecord record;
      record.function = json::value_to<std::string>(o.at("function"));
      record.version = json::value_to<std::string>(o.at("version"));
      record.request_id = json::value_to<std::string>(o.at("requestId"));
      record.start_time_us = o.at("startTimeUs").to_number<std::int64_t>();
      record.duration_ms = o.at("durationMs").to_number<double>();
      record.billed_ms = o.at("billedMs").to_number<std::uint64_t>();
      record.memory_mb = o.at("memoryMb").to_number<std::uint32_t>();
      record.cold_start = o.at("coldStart").as_bool();
      record.init_ms = o.at("initMs").to_number<double>();
      record.outcome = static_cast<InvocationOutcome>(o.at("outcome").to_number<int>());
      record.bytes_in = o.at("bytesIn").to_number<std::uint64_t>();
      record.bytes_out = o.at("bytesOut").to_number<std::uint64_t>();
      records.push_back(std::move(record));
    }
    if (!page->cursor) break;
    options.cursor = page->cursor;
  }
  return records;
}

}  // namespace nimbus::engine
