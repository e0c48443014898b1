#include "nimbus/ledger/journal.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace nimbus::ledger {

namespace {

namespace json = boost::json;

constexpr auto kLinger = std::chrono::milliseconds(10);
constexpr std::int64_t kHourUs = 3'600'000'000;
// Counters the journal thread remembers; past this it forgets and rereads.
constexpr std::size_t kCounterCacheLimit = 100'000;
// Minute aggregates carry their distributions (up to a few hundred buckets
// each) and are written to for a minute or two: fewer are kept.
constexpr std::size_t kMinuteCacheLimit = 20'000;

std::int64_t hour_start_s(std::int64_t time_us) {
  std::int64_t hour = time_us / kHourUs;
  if (time_us < 0 && time_us % kHourUs != 0) --hour;
  return hour * 3600;
}

// be64(sortable(time_s)) service NUL resource NUL name: the key of an
// hourly counter (name: the meter) and of a minute aggregate ("m:" or "o:").
std::string usage_key(std::int64_t time_s, std::string_view service, std::string_view resource,
                      std::string_view name) {
  std::string key;
  put_be64(key, sortable(time_s));
  key += service;
  key.push_back('\0');
  key += resource;
  key.push_back('\0');
  key += name;
  return key;
}

std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

std::int64_t unzigzag(std::uint64_t value) {
  return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

// The hand-off buffer: what append() copies in and the journal thread
// reads back, within this process (never stored). An entry is a tag and
// its fields: names and texts as varint(size) bytes, numbers as their
// native bytes, lists as varint(count) then their items.
constexpr char kEventEntry = 'E';
// An event of the same group and stream as the entry before it: those are
// not repeated (an invocation's lines are all of its instance's stream).
constexpr char kNextEventEntry = 'e';
constexpr char kUsageEntry = 'U';

// Equal views; found at once when both are the same bytes, as the views of
// events that came in one append are.
bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.data() == b.data() || a == b);
}

// An event of `group` and `stream`; `same_stream`: the entry just before
// it is an event of them too.
void put_event(std::string& out, std::string_view group, std::string_view stream,
               std::int64_t timestamp_ms, std::string_view message, bool same_stream) {
  using W = EntryWriter;
  if (same_stream) {
    W write(out, 1 + sizeof(std::int64_t) + W::room(message));
    write.tag(kNextEventEntry);
    write.native(timestamp_ms);
    write.sized(message);
    return;
  }
  W write(out, 1 + sizeof(std::int64_t) + W::room(group) + W::room(stream) + W::room(message));
  write.tag(kEventEntry);
  write.native(timestamp_ms);
  write.sized(group);
  write.sized(stream);
  write.sized(message);
}

void put_usage(std::string& out, const Usage& usage) {
  using W = EntryWriter;
  const std::string_view detail =
      usage.detail_json.empty() ? std::string_view("{}") : std::string_view(usage.detail_json);
  std::size_t most = 1 + W::room(usage.service) + W::room(usage.resource) + W::room(usage.id) +
                     sizeof(std::int64_t) + 3 * W::kMostVarint + W::room(detail);
  for (const auto& [name, amount] : usage.quantities) most += W::room(name) + sizeof(amount);
  for (const auto& [name, seconds] : usage.observations) most += W::room(name) + sizeof(seconds);
  for (const auto& [name, stat] : usage.merged_samples) {
    most += W::room(name) + 4 * sizeof(std::int64_t) + W::kMostVarint +
            stat.buckets.size() * (sizeof(std::int32_t) + sizeof(std::int64_t));
  }
  W write(out, most);
  write.tag(kUsageEntry);
  write.sized(usage.service);
  write.sized(usage.resource);
  write.sized(usage.id);
  write.native(usage.time_us);
  write.named_numbers(usage.quantities);
  write.named_numbers(usage.observations);
  write.count(usage.merged_samples.size());
  for (const auto& [name, stat] : usage.merged_samples) {
    write.sized(name);
    write.native(stat.count);
    write.native(stat.sum);
    write.native(stat.min);
    write.native(stat.max);
    write.count(stat.buckets.size());
    for (const auto& [bucket, samples] : stat.buckets) {
      write.native(bucket);
      write.native(samples);
    }
  }
  write.sized(detail);
}

// Reads what put_event and put_usage wrote in this process: well-formed by
// construction, so a short read is a bug and throws. Several reads a log
// line and a dozen a record: kept to a few instructions each.
class HandOffReader {
 public:
  explicit HandOffReader(std::string_view in) : next_(in.data()), end_(in.data() + in.size()) {}
  bool done() const { return next_ == end_; }
  char tag() {
    need(1);
    return *next_++;
  }
  std::size_t count() {
    std::uint64_t value = 0;
    if (!read_varint(next_, end_, value)) throw std::out_of_range("journal hand-off: a bad size");
    return static_cast<std::size_t>(value);
  }
  std::string_view sized() {
    const std::size_t size = count();
    need(size);
    const std::string_view bytes(next_, size);
    next_ += size;
    return bytes;
  }
  template <class Number>
  Number native() {
    need(sizeof(Number));
    Number value;
    std::memcpy(&value, next_, sizeof(Number));
    next_ += sizeof(Number);
    return value;
  }

 private:
  void need(std::size_t size) const {
    if (static_cast<std::size_t>(end_ - next_) < size) {
      throw std::out_of_range("journal hand-off cut short");
    }
  }

  const char* next_;
  const char* end_;
};

// A log event and a usage record as the journal thread reads them: views
// into the hand-off buffer (the merged samples' distributions are copied).
struct EventView {
  std::string_view group;
  std::string_view stream;
  std::int64_t timestamp_ms = 0;
  std::string_view message;
};

struct UsageView {
  std::string_view service;
  std::string_view resource;
  std::string_view id;
  std::int64_t time_us = 0;
  std::span<const std::pair<std::string_view, std::int64_t>> quantities;
  std::span<const std::pair<std::string_view, double>> observations;
  std::span<const std::pair<std::string_view, MinuteStat>> merged_samples;
  std::string_view detail_json;
};

// One usage batch in version 4's compact encoding (docs/formats/ledger.md):
// each name (service, resource, meter) once, then the records referring to
// them by number. A batch's records come from few resources and list their
// meters in the same order, so a name is usually found where the previous
// record had it, without a search.
class CompactUsageBatch {
 public:
  // `count`: how many records it will hold, to make room for them at once.
  CompactUsageBatch(std::int64_t base_us, std::size_t count) : base_us_(base_us) {
    records_.reserve(count * kTypicalRecordBytes);
  }

  // `usage`'s names must outlive take(): they are kept as views.
  void add(const UsageView& usage) {
    using W = EntryWriter;
    W write(records_, 4 * W::kMostVarint + W::room(usage.id) + W::room(usage.detail_json) +
                          usage.quantities.size() * 2 * W::kMostVarint);
    write.count(number_of(usage.service, last_service_));
    write.count(number_of(usage.resource, last_resource_));
    write.sized(usage.id);
    write.count(static_cast<std::uint64_t>(usage.time_us - base_us_));
    write.count(usage.quantities.size());
    if (last_meters_.size() < usage.quantities.size()) {
      last_meters_.resize(usage.quantities.size(), kNone);
    }
    for (std::size_t i = 0; i < usage.quantities.size(); ++i) {
      write.count(number_of(usage.quantities[i].first, last_meters_[i]));
      write.count(zigzag(usage.quantities[i].second));
    }
    // The detail is the service's own JSON object, kept as it was given.
    write.sized(usage.detail_json);
  }

  std::string take() {
    std::string value;
    std::size_t names_size = 0;
    for (auto name : names_) names_size += name.size() + 2;
    value.reserve(8 + names_size + records_.size());
    put_varint(value, names_.size());
    for (auto name : names_) {
      put_varint(value, name.size());
      value += name;
    }
    value += records_;
    return value;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  // A warm invocation's record, with room to spare.
  static constexpr std::size_t kTypicalRecordBytes = 160;

  std::size_t number_of(std::string_view name, std::size_t& hint) {
    if (hint < names_.size() && names_[hint] == name) return hint;
    auto [it, added] = numbers_.try_emplace(name, names_.size());
    if (added) names_.push_back(name);
    hint = it->second;
    return hint;
  }

  std::int64_t base_us_;
  std::vector<std::string_view> names_;
  std::map<std::string_view, std::size_t> numbers_;
  std::size_t last_service_ = kNone;
  std::size_t last_resource_ = kNone;
  std::vector<std::size_t> last_meters_;  // by the quantity's position
  std::string records_;
};

// Reads a version-4 batch whose key time is `base_us` into `records`;
// false if it is malformed (what it decoded before that is kept).
bool read_compact_usage_batch(std::string_view value, std::int64_t base_us,
                              std::vector<Usage>& records) {
  auto count = get_varint(value);
  if (!count || *count > value.size()) return false;
  std::vector<std::string_view> names;
  names.reserve(*count);
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto name = get_sized(value);
    if (!name) return false;
    names.push_back(*name);
  }
  auto read_name = [&](std::string_view& in) -> std::optional<std::string_view> {
    auto number = get_varint(in);
    if (!number || *number >= names.size()) return std::nullopt;
    return names[*number];
  };
  while (!value.empty()) {
    Usage usage;
    auto service = read_name(value);
    auto resource = read_name(value);
    if (!service || !resource) return false;
    auto id = get_sized(value);
    auto offset = get_varint(value);
    auto quantities = get_varint(value);
    if (!id || !offset || !quantities || *quantities > value.size()) return false;
    usage.service = *service;
    usage.resource = *resource;
    usage.id = *id;
    // In unsigned arithmetic: a corrupt offset wraps rather than overflows.
    usage.time_us = static_cast<std::int64_t>(static_cast<std::uint64_t>(base_us) + *offset);
    for (std::uint64_t i = 0; i < *quantities; ++i) {
      auto meter_name = read_name(value);
      auto amount = get_varint(value);
      if (!meter_name || !amount) return false;
      usage.quantities.emplace_back(*meter_name, unzigzag(*amount));
    }
    auto detail = get_sized(value);
    if (!detail) return false;
    usage.detail_json = *detail;
    records.push_back(std::move(usage));
  }
  return true;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "count sum min max" then " bucket:samples" for each bucket
std::string encode_stat(const MinuteStat& stat) {
  std::string out = std::to_string(stat.count) + ' ' + std::to_string(stat.sum) + ' ' +
                    std::to_string(stat.min) + ' ' + std::to_string(stat.max);
  for (const auto& [bucket, samples] : stat.buckets) {
    out += ' ';
    out += std::to_string(bucket);
    out += ':';
    out += std::to_string(samples);
  }
  return out;
}

std::optional<MinuteStat> decode_stat(std::string_view text) {
  MinuteStat stat;
  std::int64_t* fields[] = {&stat.count, &stat.sum, &stat.min, &stat.max};
  for (std::size_t i = 0;; ++i) {
    const auto space = text.find(' ');
    const std::string_view field = text.substr(0, space);
    if (i < 4) {
      auto value = parse_int(field);
      if (!value) return std::nullopt;
      *fields[i] = *value;
    } else {
      const auto colon = field.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      auto bucket = parse_int(field.substr(0, colon));
      auto samples = parse_int(field.substr(colon + 1));
      if (!bucket || !samples || *samples <= 0 || std::abs(*bucket) > 4096 ||
          (!stat.buckets.empty() && *bucket <= stat.buckets.back().first)) {
        return std::nullopt;
      }
      stat.buckets.emplace_back(static_cast<std::int32_t>(*bucket), *samples);
    }
    if (space == std::string_view::npos) return i >= 3 ? std::optional(stat) : std::nullopt;
    text = text.substr(space + 1);
  }
}

// be64(sortable(time_s)) service NUL resource NUL name: the hourly and
// minute keyspaces' keys.
struct UsageKey {
  std::int64_t time_s = 0;
  std::string_view service;
  std::string_view resource;
  std::string_view name;
};

// Calls visit(key, value) for every key of `keyspace_name` in [from_s, until_s).
template <class Visit>
Result<void> scan_usage_keys(storage::Store& store, std::string_view keyspace_name,
                             std::int64_t from_s, std::int64_t until_s, Visit visit) {
  auto keyspace = store.open_keyspace(keyspace_name);
  if (!keyspace) return keyspace.error();
  std::string lower;
  put_be64(lower, sortable(from_s));
  std::string upper;
  put_be64(upper, sortable(until_s));
  storage::ScanOptions options;
  options.lower = storage::Bound{lower, true};
  options.upper = storage::Bound{upper, false};
  for (;;) {
    auto page = store.scan(*keyspace, options);
    if (!page) return page.error();
    for (const auto& item : page->items) {
      std::string_view key = item.key;
      if (key.size() < 8) continue;
      UsageKey parsed;
      parsed.time_s = unsortable(get_be64(key));
      key.remove_prefix(8);
      const auto first = key.find('\0');
      if (first == std::string_view::npos) continue;
      const auto second = key.find('\0', first + 1);
      if (second == std::string_view::npos) continue;
      parsed.service = key.substr(0, first);
      parsed.resource = key.substr(first + 1, second - first - 1);
      parsed.name = key.substr(second + 1);
      visit(parsed, std::string_view(item.value));
    }
    if (!page->cursor) return ok();
    options.cursor = page->cursor;
  }
}

std::int64_t floor_div(std::int64_t value, std::int64_t divisor) {
  std::int64_t quotient = value / divisor;
  if (value < 0 && value % divisor != 0) --quotient;
  return quotient;
}

// One batch's amounts (or samples) per (period, service, resource) and
// name, before they meet the stored counters. A batch's records come from
// few resources and list their quantities in the same order, so a record
// finds its group as the previous record's and each amount at the position
// its quantity has in the record: no map search or key built per quantity,
// which is what every invocation would otherwise pay.
template <class Value>
class BatchSums {
 public:
  // A name with its kind: 'm' a meter, 'o' an observation.
  using Name = std::pair<char, std::string_view>;
  struct Group {
    std::int64_t period = 0;
    std::string_view service;
    std::string_view resource;
    std::vector<std::pair<Name, Value>> entries;

    // The entry named `name`; `hint` is where it usually is.
    Value& at(Name name, std::size_t hint) {
      if (hint < entries.size() && entries[hint].first == name) return entries[hint].second;
      for (auto& entry : entries) {
        if (entry.first == name) return entry.second;
      }
      return entries.emplace_back(name, Value{}).second;
    }
  };

  // Valid until the next call.
  Group& group(std::int64_t period, std::string_view service, std::string_view resource) {
    if (last_ < groups_.size()) {
      const Group& last = groups_[last_];
      if (last.period == period && last.service == service && last.resource == resource) {
        return groups_[last_];
      }
    }
    auto [it, added] = index_.try_emplace({period, service, resource}, groups_.size());
    if (added) groups_.push_back(Group{period, service, resource, {}});
    last_ = it->second;
    return groups_[last_];
  }

  const std::vector<Group>& groups() const { return groups_; }

 private:
  std::vector<Group> groups_;
  std::map<std::tuple<std::int64_t, std::string_view, std::string_view>, std::size_t> index_;
  std::size_t last_ = 0;
};

}  // namespace

struct Journal::HandOff {
  std::vector<EventView> events;
  std::vector<UsageView> records;
  // The records' lists, one after another; each record's spans point in.
  std::vector<std::pair<std::string_view, std::int64_t>> quantities;
  std::vector<std::pair<std::string_view, double>> observations;
  std::vector<std::pair<std::string_view, MinuteStat>> merged_samples;

  // Reads `bytes` (which must outlive the views). The vectors keep their
  // capacity from batch to batch.
  void read(std::string_view bytes) {
    events.clear();
    records.clear();
    quantities.clear();
    observations.clear();
    merged_samples.clear();
    lists_.clear();
    HandOffReader in(bytes);
    while (!in.done()) {
      const char tag = in.tag();
      if (tag == kEventEntry || tag == kNextEventEntry) {
        EventView& event = events.emplace_back();
        event.timestamp_ms = in.native<std::int64_t>();
        if (tag == kEventEntry) {
          event.group = in.sized();
          event.stream = in.sized();
        } else {
          // put_event writes this tag only right after another event.
          if (events.size() < 2) throw std::logic_error("journal hand-off: no event before");
          event.group = events[events.size() - 2].group;
          event.stream = events[events.size() - 2].stream;
        }
        event.message = in.sized();
        continue;
      }
      UsageView& usage = records.emplace_back();
      usage.service = in.sized();
      usage.resource = in.sized();
      usage.id = in.sized();
      usage.time_us = in.native<std::int64_t>();
      Lists& lists = lists_.emplace_back();
      lists.quantities = read_named_numbers(in, quantities);
      lists.observations = read_named_numbers(in, observations);
      lists.merged_samples = {merged_samples.size(), in.count()};
      for (std::size_t i = 0; i < lists.merged_samples.second; ++i) {
        auto& [name, stat] = merged_samples.emplace_back(in.sized(), MinuteStat{});
        stat.count = in.native<std::int64_t>();
        stat.sum = in.native<std::int64_t>();
        stat.min = in.native<std::int64_t>();
        stat.max = in.native<std::int64_t>();
        stat.buckets.resize(in.count());
        for (auto& [bucket, samples] : stat.buckets) {
          bucket = in.native<std::int32_t>();
          samples = in.native<std::int64_t>();
        }
      }
      usage.detail_json = in.sized();
    }
    // The lists are complete (no longer moving as they grow): point in.
    for (std::size_t i = 0; i < records.size(); ++i) {
      records[i].quantities =
          std::span(quantities).subspan(lists_[i].quantities.first, lists_[i].quantities.second);
      records[i].observations =
          std::span(observations)
              .subspan(lists_[i].observations.first, lists_[i].observations.second);
      records[i].merged_samples =
          std::span(merged_samples)
              .subspan(lists_[i].merged_samples.first, lists_[i].merged_samples.second);
    }
  }

 private:
  // What EntryWriter::named_numbers wrote, onto the end of `into`: where
  // the list starts there, and its length.
  template <class Number>
  static std::pair<std::size_t, std::size_t> read_named_numbers(
      HandOffReader& in, std::vector<std::pair<std::string_view, Number>>& into) {
    const std::pair<std::size_t, std::size_t> list{into.size(), in.count()};
    for (std::size_t i = 0; i < list.second; ++i) {
      const auto name = in.sized();
      into.emplace_back(name, in.native<Number>());
    }
    return list;
  }

  // Where each record's lists start in the vectors above, and their lengths.
  struct Lists {
    std::pair<std::size_t, std::size_t> quantities;
    std::pair<std::size_t, std::size_t> observations;
    std::pair<std::size_t, std::size_t> merged_samples;
  };
  std::vector<Lists> lists_;
};

std::int32_t MinuteStat::bucket_of(std::int64_t value) {
  if (value == 0) return 0;
  const double magnitude = std::abs(static_cast<double>(value));
  const auto index =
      static_cast<std::int32_t>(std::floor(std::log2(magnitude) * kBucketsPerOctave));
  return value > 0 ? index + 1 : -(index + 1);
}

void MinuteStat::add(std::int64_t value) {
  // Many meters repeat one value (a request is 1, an error mostly 0): while
  // every sample is `value`, its bucket is the only one, and no logarithm
  // or search is needed to find it.
  if (count > 0 && value == min && value == max && buckets.size() == 1) {
    ++count;
    sum += value;
    ++buckets.front().second;
    return;
  }
  min = count == 0 ? value : std::min(min, value);
  max = count == 0 ? value : std::max(max, value);
  ++count;
  sum += value;
  const std::int32_t bucket = bucket_of(value);
  auto it = std::lower_bound(buckets.begin(), buckets.end(), bucket,
                             [](const auto& entry, std::int32_t b) { return entry.first < b; });
  if (it != buckets.end() && it->first == bucket) {
    ++it->second;
  } else {
    buckets.insert(it, {bucket, 1});
  }
}

void MinuteStat::merge(const MinuteStat& other) {
  if (other.count == 0) return;
  min = count == 0 ? other.min : std::min(min, other.min);
  max = count == 0 ? other.max : std::max(max, other.max);
  count += other.count;
  sum += other.sum;
  if (other.buckets.empty()) return;
  std::vector<std::pair<std::int32_t, std::int64_t>> merged;
  merged.reserve(buckets.size() + other.buckets.size());
  auto a = buckets.begin();
  auto b = other.buckets.begin();
  while (a != buckets.end() || b != other.buckets.end()) {
    if (b == other.buckets.end() || (a != buckets.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a;
      ++b;
    }
  }
  buckets = std::move(merged);
}

std::optional<double> MinuteStat::percentile(double p) const {
  std::int64_t total = 0;
  for (const auto& entry : buckets) total += entry.second;
  if (total == 0) return std::nullopt;
  const auto rank = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(p / 100.0 * static_cast<double>(total) - 1e-9)));
  // The first and last ranks are the extremes, known exactly.
  if (rank == 1) return static_cast<double>(min);
  if (rank >= total) return static_cast<double>(max);
  std::int64_t seen = 0;
  for (const auto& [bucket, samples] : buckets) {
    seen += samples;
    if (seen < rank) continue;
    double value = 0;
    if (bucket != 0) {
      value = std::exp2((std::abs(bucket) - 1 + 0.5) / kBucketsPerOctave);
      if (bucket < 0) value = -value;
    }
    return std::clamp(value, static_cast<double>(min), static_cast<double>(max));
  }
  return static_cast<double>(max);
}

Result<std::unique_ptr<Journal>> Journal::open(storage::Store& store, Options options) {
  auto events = store.open_or_create_keyspace(kLogEventsKeyspace);
  if (!events) return events.error();
  auto streams = store.open_or_create_keyspace(kLogStreamsKeyspace);
  if (!streams) return streams.error();
  auto usage = store.open_or_create_keyspace(kUsageKeyspace);
  if (!usage) return usage.error();
  auto hourly = store.open_or_create_keyspace(kHourlyKeyspace);
  if (!hourly) return hourly.error();
  auto minutely = store.open_or_create_keyspace(kMinutelyKeyspace);
  if (!minutely) return minutely.error();
  return std::unique_ptr<Journal>(
      new Journal(store, options, *events, *streams, *usage, *hourly, *minutely));
}

Journal::Journal(storage::Store& store, Options options, storage::Keyspace events,
                 storage::Keyspace streams, storage::Keyspace usage, storage::Keyspace hourly,
                 storage::Keyspace minutely)
    : store_(store),
      options_(options),
      events_(std::move(events)),
      streams_(std::move(streams)),
      usage_(std::move(usage)),
      hourly_(std::move(hourly)),
      minutely_(std::move(minutely)),
      // Unique across restarts without reading anything back: start from the clock.
      sequence_(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count())),
      hand_off_(std::make_unique<HandOff>()),
      thread_([this] { run(); }) {}

Journal::~Journal() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Journal::append_log(const LogEvent& event) { append(std::span(&event, 1), nullptr); }

void Journal::append_logs(std::span<const LogEvent> events) { append(events, nullptr); }

void Journal::create_stream(const std::string& group, const std::string& stream,
                            std::int64_t created_ms) {
  if (!options_.logs) return;
  json::object record{{"creationTime", created_ms}};
  std::lock_guard lock(mutex_);
  pending_.put(streams_, log_stream_key(group, stream), json::serialize(record));
  ++appended_;
  wake_.notify_one();
}

void Journal::append_usage(const Usage& usage) { append({}, &usage); }

std::uint64_t Journal::reserve_sequences(std::size_t count) {
  return sequence_.fetch_add(count, std::memory_order_relaxed);
}

void Journal::append(std::span<const LogEvent> events, const Usage* usage) {
  hand_in(
      events.size(), usage,
      [&] {
        for (std::size_t i = 0; i < events.size(); ++i) {
          const LogEvent& event = events[i];
          const bool same_stream =
              i > 0 && events[i - 1].group == event.group && events[i - 1].stream == event.stream;
          put_event(pending_bytes_, event.group, event.stream, event.timestamp_ms, event.message,
                    same_stream);
        }
      },
      [&](const LogObserver& observer) {
        for (const auto& event : events) observer(event.group, event.message);
      });
}

void Journal::append(std::string_view group, std::string_view stream,
                     std::span<const LogLine> lines, const Usage* usage) {
  hand_in(
      lines.size(), usage,
      [&] {
        for (std::size_t i = 0; i < lines.size(); ++i) {
          put_event(pending_bytes_, group, stream, lines[i].timestamp_ms, lines[i].message, i > 0);
        }
      },
      [&](const LogObserver& observer) {
        for (const auto& line : lines) observer(group, line.message);
      });
}

template <class PutEvents, class Observe>
void Journal::hand_in(std::size_t events, const Usage* usage, PutEvents put_events,
                      Observe observe) {
  if (!options_.logs) events = 0;
  if (!options_.metering) usage = nullptr;
  if (events == 0 && usage == nullptr) return;
  if (usage != nullptr) metrics_.record(*usage);
  std::shared_ptr<const LogObserver> observer;
  {
    // Only the copy into the hand-off is serialised: keys, chunks and
    // sums are the journal thread's work.
    std::lock_guard lock(mutex_);
    if (events > 0) put_events();
    if (usage != nullptr) put_usage(pending_bytes_, *usage);
    ++appended_;
    if (events > 0) observer = log_observer_;
  }
  wake_.notify_one();
  if (observer) observe(*observer);
}

void Journal::set_log_observer(LogObserver observer) {
  auto shared = observer ? std::make_shared<const LogObserver>(std::move(observer)) : nullptr;
  std::lock_guard lock(mutex_);
  log_observer_ = std::move(shared);
}

void Journal::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = appended_;
  ++flush_waiters_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return written_ >= target; });
  --flush_waiters_;
}

void Journal::meter(const HandOff& hand_off, storage::WriteBatch& batch) {
  const auto& records = hand_off.records;
  // Sum the batch's amounts per counter first: one put per counter per
  // batch, however many records it carries.
  BatchSums<std::int64_t> sums;
  // The records go in one value, a usage batch (docs/formats/ledger.md),
  // whose key carries the earliest record's time.
  std::int64_t first_us = records.front().time_us;
  for (const auto& usage : records) first_us = std::min(first_us, usage.time_us);
  CompactUsageBatch records_value(first_us, records.size());
  for (const auto& usage : records) {
    records_value.add(usage);
    auto& group = sums.group(hour_start_s(usage.time_us), usage.service, usage.resource);
    for (std::size_t i = 0; i < usage.quantities.size(); ++i) {
      const auto& [meter_name, amount] = usage.quantities[i];
      if (amount != 0) group.at({'m', meter_name}, i) += amount;
    }
  }
  std::string records_key;
  put_be64(records_key, sortable(first_us));
  records_key.push_back(kCompactUsageBatchMark);
  put_be64(records_key, sequence_.fetch_add(1, std::memory_order_relaxed));
  batch.put(usage_, records_key, records_value.take());
  if (counters_.size() > kCounterCacheLimit) counters_.clear();
  for (const auto& group : sums.groups()) {
    for (const auto& [name, amount] : group.entries) {
      const std::string counter_key =
          usage_key(group.period, group.service, group.resource, name.second);
      auto it = counters_.find(counter_key);
      if (it == counters_.end()) {
        // First touch since start (or since the cache was cleared): the store
        // has the value, including what earlier batches of this run wrote.
        std::int64_t stored = 0;
        auto value = store_.get(hourly_, counter_key);
        if (value && *value) stored = parse_int(**value).value_or(0);
        it = counters_.emplace(counter_key, stored).first;
      }
      it->second += amount;
      batch.put(hourly_, counter_key, std::to_string(it->second));
    }
  }
}

void Journal::chunk_logs(const HandOff& hand_off, storage::WriteBatch& batch) {
  const auto& events = hand_off.events;
  // A stream's open chunk, by (group, stream); views into `events`.
  struct Open {
    std::string_view group;
    std::string_view stream;
    LogChunkWriter chunk;
  };
  std::vector<Open> open;
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> by_stream;
  auto close = [&](Open& chunk) {
    const std::size_t count = chunk.chunk.count();
    const std::int64_t first_ms = chunk.chunk.first_timestamp_ms();
    batch.put(events_,
              log_chunk_key(chunk.group, chunk.stream, first_ms,
                            sequence_.fetch_add(count, std::memory_order_relaxed)),
              chunk.chunk.take());
  };
  std::size_t last = 0;  // consecutive events are mostly of one stream
  for (const auto& event : events) {
    std::size_t index = last;
    if (open.empty() || !same_text(open[index].group, event.group) ||
        !same_text(open[index].stream, event.stream)) {
      auto [it, added] = by_stream.try_emplace({event.group, event.stream}, open.size());
      if (added) open.push_back(Open{event.group, event.stream, {}});
      index = it->second;
    }
    last = index;
    Open& chunk = open[index];
    if (!chunk.chunk.accepts(event.timestamp_ms)) close(chunk);
    chunk.chunk.add(event.timestamp_ms, event.message);
  }
  for (auto& chunk : open) {
    if (!chunk.chunk.empty()) close(chunk);
  }
}

void Journal::run() {
  pthread_setname_np(pthread_self(), "nimbus-journal");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty() || !pending_bytes_.empty(); });
    if (pending_.empty() && pending_bytes_.empty() && stopping_) return;
    if (!stopping_ && flush_waiters_ == 0) {
      // Linger a moment so one write carries many requests' records: one
      // wake-up and one WAL append per batch, not per request.
      lock.unlock();
      std::this_thread::sleep_for(kLinger);
      lock.lock();
    }
    storage::WriteBatch batch = std::move(pending_);
    pending_ = storage::WriteBatch();
    // The next batch will be about as big: no regrowing it write by write.
    pending_.reserve(batch.writes().size());
    // The two buffers trade places, each keeping its capacity.
    draining_.clear();
    std::swap(draining_, pending_bytes_);
    std::uint64_t covered = appended_;
    lock.unlock();
    hand_off_->read(draining_);
    if (!hand_off_->events.empty()) chunk_logs(*hand_off_, batch);
    // Records and the counters they add to go in one batch: a crash keeps
    // both or neither, so the counters always equal the records' sum.
    if (!hand_off_->records.empty()) {
      meter(*hand_off_, batch);
      aggregate_minutes(*hand_off_, batch);
    }
    // A failing disk loses log lines and usage records, never a request:
    // say so and go on. The counters are reread, not trusted, after that.
    if (auto written = store_.write(batch); !written) {
      spdlog::error("journal: {} writes lost: {}", batch.writes().size(),
                    written.error().message());
      counters_.clear();
    }
    if (!last_trim_ || std::chrono::steady_clock::now() - *last_trim_ > std::chrono::hours(1)) {
      last_trim_ = std::chrono::steady_clock::now();
      trim_minutes();
    }
    lock.lock();
    written_ = covered;
    flushed_.notify_all();
  }
}

void Journal::aggregate_minutes(const HandOff& hand_off, storage::WriteBatch& batch) {
  const auto& records = hand_off.records;
  // As for the hourly counters: merged per key first, keys built once.
  BatchSums<MinuteStat> added;
  for (const auto& usage : records) {
    auto& group =
        added.group(floor_div(usage.time_us, 60'000'000) * 60, usage.service, usage.resource);
    // Zero amounts are samples too: an invocation without an error makes
    // the Errors average an error rate.
    for (std::size_t i = 0; i < usage.quantities.size(); ++i) {
      const std::string_view meter_name = usage.quantities[i].first;
      const bool merged = std::any_of(
          usage.merged_samples.begin(), usage.merged_samples.end(), [&](const auto& samples) {
            return samples.first.starts_with("m:") &&
                   std::string_view(samples.first).substr(2) == meter_name;
          });
      if (!merged) group.at({'m', meter_name}, i).add(usage.quantities[i].second);
    }
    const std::size_t observed = usage.quantities.size();
    for (const auto& [name, stat] : usage.merged_samples) {
      if (name.size() < 3 || name[1] != ':') continue;
      group.at({name[0], std::string_view(name).substr(2)}, observed).merge(stat);
    }
    for (std::size_t i = 0; i < usage.observations.size(); ++i) {
      const auto& [name, seconds] = usage.observations[i];
      group.at({'o', name}, observed + i)
          .add(static_cast<std::int64_t>(std::llround(seconds * 1e6)));
    }
  }
  if (minutes_.size() > kMinuteCacheLimit) minutes_.clear();
  for (const auto& group : added.groups()) {
    for (const auto& [name, stat] : group.entries) {
      const std::string minute_key =
          usage_key(group.period, group.service, group.resource,
                    std::string{name.first, ':'} + std::string(name.second));
      auto it = minutes_.find(minute_key);
      if (it == minutes_.end()) {
        MinuteStat stored;
        auto value = store_.get(minutely_, minute_key);
        if (value && *value) stored = decode_stat(**value).value_or(MinuteStat{});
        it = minutes_.emplace(minute_key, stored).first;
      }
      it->second.merge(stat);
      batch.put(minutely_, minute_key, encode_stat(it->second));
    }
  }
}

void Journal::trim_minutes() {
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string upper;
  put_be64(upper, sortable(now_s - kMinutelyRetentionS));
  storage::ScanOptions options;
  options.upper = storage::Bound{upper, false};
  options.limit = 1000;
  for (;;) {
    auto page = store_.scan(minutely_, options);
    if (!page || page->items.empty()) return;
    storage::WriteBatch expired;
    for (const auto& item : page->items) {
      expired.del(minutely_, item.key);
      minutes_.erase(item.key);
    }
    if (!store_.write(expired) || !page->cursor) return;
    options.cursor = page->cursor;
  }
}

Result<std::vector<MinuteAggregate>> Journal::read_minutely(storage::Store& store,
                                                            std::string_view service,
                                                            std::int64_t from_s,
                                                            std::int64_t until_s) {
  std::vector<MinuteAggregate> out;
  auto scanned = scan_usage_keys(
      store, kMinutelyKeyspace, from_s, until_s, [&](const UsageKey& key, std::string_view value) {
        if (key.service != service) return;
        auto stat = decode_stat(value);
        if (!stat) return;
        out.push_back({key.time_s, std::string(key.service), std::string(key.resource),
                       std::string(key.name), *stat});
      });
  if (!scanned) return scanned.error();
  return out;
}

Result<std::vector<LogEvent>> Journal::read_logs(storage::Store& store, const std::string& group,
                                                 const std::string& stream_prefix) {
  auto keyspace = store.open_keyspace(kLogEventsKeyspace);
  if (!keyspace) return keyspace.error();
  auto options = storage::ScanOptions::with_prefix(log_stream_key(group, stream_prefix));
  std::vector<LogEvent> events;
  for (;;) {
    auto page = store.scan(*keyspace, options);
    if (!page) return page.error();
    for (auto& item : page->items) {
      auto key = parse_log_event_key(item.key);
      if (!key) continue;
      auto stored = decode_log_record(*key, item.value);
      if (!stored) continue;
      for (const auto& event : *stored) {
        events.push_back(LogEvent{std::string(key->group), std::string(key->stream),
                                  event.timestamp_ms, std::string(event.message)});
      }
    }
    if (!page->cursor) break;
    options.cursor = page->cursor;
  }
  return events;
}

Result<std::vector<Usage>> Journal::read_usage(storage::Store& store) {
  auto keyspace = store.open_keyspace(kUsageKeyspace);
  if (!keyspace) return keyspace.error();
  storage::ScanOptions options;
  std::vector<Usage> records;
  auto read_record = [&](std::string_view text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) return;
    const auto& o = value.as_object();
    Usage usage;
    if (const auto* s = o.if_contains("service"); s && s->is_string()) {
      usage.service = s->as_string();
    }
    if (const auto* s = o.if_contains("resource"); s && s->is_string()) {
      usage.resource = s->as_string();
    }
    if (const auto* s = o.if_contains("id"); s && s->is_string()) usage.id = s->as_string();
    if (const auto* t = o.if_contains("timeUs"); t && t->is_int64()) usage.time_us = t->as_int64();
    if (const auto* q = o.if_contains("quantities"); q && q->is_object()) {
      for (const auto& [meter_name, amount] : q->as_object()) {
        if (amount.is_int64()) usage.quantities.emplace_back(meter_name, amount.as_int64());
      }
    }
    if (const auto* d = o.if_contains("detail")) usage.detail_json = json::serialize(*d);
    records.push_back(std::move(usage));
  };
  for (;;) {
    auto page = store.scan(*keyspace, options);
    if (!page) return page.error();
    for (const auto& item : page->items) {
      // A batch's key has the mark after the time; a single record's (as
      // version 2 wrote them) the service's name.
      const char mark = item.key.size() > 8 ? item.key[8] : '\0';
      if (mark == kCompactUsageBatchMark) {
        const std::int64_t base_us = unsortable(get_be64(item.key));
        if (!read_compact_usage_batch(item.value, base_us, records)) {
          spdlog::warn("usage records: a malformed batch was skipped in part");
        }
        continue;
      }
      if (mark != kUsageBatchMark) {
        read_record(item.value);
        continue;
      }
      std::string_view rest = item.value;
      while (!rest.empty()) {
        const auto record = get_sized(rest);
        if (!record) break;
        read_record(*record);
      }
    }
    if (!page->cursor) break;
    options.cursor = page->cursor;
  }
  return records;
}

Result<std::vector<HourlyCounter>> Journal::read_hourly(storage::Store& store, std::int64_t from_s,
                                                        std::int64_t until_s) {
  std::vector<HourlyCounter> counters;
  auto scanned = scan_usage_keys(
      store, kHourlyKeyspace, from_s, until_s, [&](const UsageKey& key, std::string_view value) {
        auto amount = parse_int(value);
        if (!amount) return;
        counters.push_back({key.time_s, std::string(key.service), std::string(key.resource),
                            std::string(key.name), *amount});
      });
  if (!scanned) return scanned.error();
  return counters;
}

}  // namespace nimbus::ledger
