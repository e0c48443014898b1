#pragma once

// The keys of the log keyspaces (docs/formats/ledger.md), shared by the
// journal that writes function logs and the Logs service that serves and
// writes them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nimbus::ledger {

struct LogEvent {
  std::string group;   // "/aws/lambda/<name>"
  std::string stream;  // "2026/11/26/[$LATEST]<instance id>"
  std::int64_t timestamp_ms = 0;
  std::string message;
};

void put_be64(std::string& out, std::uint64_t value);
std::uint64_t get_be64(std::string_view in);  // in.size() >= 8

// Signed times as unsigned bits that sort in the same order.
constexpr std::uint64_t sortable(std::int64_t value) {
  return static_cast<std::uint64_t>(value) ^ (std::uint64_t{1} << 63);
}
constexpr std::int64_t unsortable(std::uint64_t bits) {
  return static_cast<std::int64_t>(bits ^ (std::uint64_t{1} << 63));
}

// group NUL stream: a logs.streams key, and the prefix of the stream's events.
std::string log_stream_key(std::string_view group, std::string_view stream);
// group NUL stream NUL: the prefix of every event of a stream.
std::string log_stream_events_prefix(std::string_view group, std::string_view stream);
// group NUL: the prefix of every stream and event of a group.
std::string log_group_prefix(std::string_view group);
// group NUL stream NUL be64(sortable(timestamp)) [be64(sequence)]: with the
// sequence, an event's key; without it, the first key at `timestamp_ms`.
std::string log_event_key(std::string_view group, std::string_view stream,
                          std::int64_t timestamp_ms);
std::string log_event_key(std::string_view group, std::string_view stream,
                          std::int64_t timestamp_ms, std::uint64_t sequence);

struct LogEventKey {
  std::string_view group;
  std::string_view stream;
  std::int64_t timestamp_ms = 0;
  std::uint64_t sequence = 0;
};
// Views into `key`; nullopt for a key not in this format.
std::optional<LogEventKey> parse_log_event_key(std::string_view key);

struct LogStreamKey {
  std::string_view group;
  std::string_view stream;
};
std::optional<LogStreamKey> parse_log_stream_key(std::string_view key);

}  // namespace nimbus::ledger
