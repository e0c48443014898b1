#include "nimbus/engine/usage_record.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <boost/json.hpp>

#include "nimbus/core/request_id.h"
#include "nimbus/ledger/meters.h"

namespace nimbus::engine {

namespace json = boost::json;

namespace {

// What a lambda record's detail leaves out (docs/formats/ledger.md).
constexpr std::string_view kDefaultVersion = "$LATEST";
constexpr std::string_view kDefaultArchitecture = "x86_64";

// Writes a record's detail into a string sized once for it. Every
// invocation writes one: appending field by field, and a double's shortest
// round trip (std::to_chars), had cost more than the rest of the record.
class DetailWriter {
 public:
  // `most`: an upper bound on what will be written.
  DetailWriter(std::string& out, std::size_t most) : out_(out) {
    out.resize(most);
    next_ = out.data();
  }
  ~DetailWriter() { out_.resize(static_cast<std::size_t>(next_ - out_.data())); }
  DetailWriter(const DetailWriter&) = delete;
  DetailWriter& operator=(const DetailWriter&) = delete;

  template <std::size_t N>
  void literal(const char (&text)[N]) {
    std::memcpy(next_, text, N - 1);
    next_ += N - 1;
  }
  void text(std::string_view text) {
    std::memcpy(next_, text.data(), text.size());
    next_ += text.size();
  }
  void integer(std::uint64_t value) {
    next_ = std::to_chars(next_, next_ + kMostInteger, value).ptr;
  }
  // Milliseconds to the microsecond, as a JSON number: "12", "0.31", "2.005".
  void milliseconds(double ms) {
    // Durations are never negative; anything else (or beyond a year) is
    // recorded as its nearest sane value rather than as invalid JSON.
    ms = std::clamp(std::isnan(ms) ? 0.0 : ms, 0.0, 1e11);
    const auto us = static_cast<std::uint64_t>(std::llround(ms * 1000));
    integer(us / 1000);
    const auto fraction = static_cast<unsigned>(us % 1000);
    if (fraction == 0) return;
    const char digits[3] = {static_cast<char>('0' + fraction / 100),
                            static_cast<char>('0' + fraction / 10 % 10),
                            static_cast<char>('0' + fraction % 10)};
    std::size_t kept = 3;
    while (digits[kept - 1] == '0') --kept;
    *next_++ = '.';
    std::memcpy(next_, digits, kept);
    next_ += kept;
  }

  static constexpr std::size_t kMostInteger = 20;

 private:
  std::string& out_;
  char* next_;
};

// `name` as kept per qualifier and, if `version` is not empty, per version
// run (meters.h), assigned into `out`'s memory.
void assign_qualified(std::string& out, std::string_view name, std::string_view qualifier,
                      std::string_view version) {
  out.assign(name);
  out += ledger::meter::kLambdaQualifierSeparator;
  out += qualifier;
  if (version.empty()) return;
  out += ledger::meter::kLambdaQualifierSeparator;
  out += version;
}

}  // namespace

bool is_alias_qualifier(std::string_view qualifier) {
  return !qualifier.empty() && qualifier != kDefaultVersion &&
         !std::all_of(qualifier.begin(), qualifier.end(),
                      [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view invoked_qualifier(std::string_view invoked_arn) {
  // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
  std::size_t at = 0;
  for (int field = 0; field < 7; ++field) {
    at = invoked_arn.find(':', at);
    if (at == std::string_view::npos) return {};
    ++at;
  }
  return invoked_arn.substr(at);
}

ledger::Usage to_usage(const UsageRecord& record) {
  ledger::Usage usage;
  fill_usage(record, usage);
  return usage;
}

void fill_usage(const UsageRecord& record, ledger::Usage& usage) {
  // Every string is assigned, not constructed: a warm instance refills the
  // same record without allocating.
  usage.service.assign("lambda");
  usage.resource.assign(record.function);
  usage.id.assign(record.request_id);
  usage.time_us = record.start_time_us;
  const auto billed = static_cast<std::int64_t>(record.billed_ms);
  auto& quantities = usage.quantities;
  // Requests, errors and duration again per qualifier as invoked, and for
  // an alias per alias and version run (meters.h).
  const std::size_t copies = is_alias_qualifier(record.qualifier) ? 2 : 1;
  quantities.resize(5 + 2 * copies);
  auto set = [](auto& entry, std::string_view name, auto value) {
    entry.first.assign(name);
    entry.second = value;
  };
  const std::int64_t error = record.outcome == InvocationOutcome::kSuccess ? 0 : 1;
  set(quantities[0], ledger::meter::kLambdaRequests, std::int64_t{1});
  set(quantities[1],
      record.architecture == "arm64" ? ledger::meter::kLambdaComputeArm
                                     : ledger::meter::kLambdaComputeX86,
      billed * record.memory_mb);
  set(quantities[2], ledger::meter::kLambdaBilledMs, billed);
  set(quantities[3], ledger::meter::kLambdaColdStarts, std::int64_t{record.cold_start ? 1 : 0});
  set(quantities[4], ledger::meter::kLambdaErrors, error);
  auto& observations = usage.observations;
  const bool init = record.cold_start && record.init_ms > 0;
  // Concurrency again by Resource (and ExecutedVersion), where counted.
  const std::size_t concurrency_copies =
      record.resource_concurrency == 0 ? 0 : (record.executed_version_concurrency > 0 ? 2 : 1);
  observations.resize(1 + (init ? 1 : 0) + (record.concurrency > 0 ? 3 : 0) + concurrency_copies +
                      copies);
  for (std::size_t copy = 0; copy < copies; ++copy) {
    const std::string_view version = copy == 0 ? std::string_view() : record.version;
    auto& requests = quantities[5 + 2 * copy];
    assign_qualified(requests.first, ledger::meter::kLambdaRequests, record.qualifier, version);
    requests.second = 1;
    auto& errors = quantities[6 + 2 * copy];
    assign_qualified(errors.first, ledger::meter::kLambdaErrors, record.qualifier, version);
    errors.second = error;
    auto& duration = observations[observations.size() - copies + copy];
    assign_qualified(duration.first, ledger::observation::kLambdaDuration, record.qualifier,
                     version);
    duration.second = record.duration_ms / 1000;
  }
  std::size_t next = 0;
  set(observations[next++], ledger::observation::kLambdaDuration, record.duration_ms / 1000);
  if (init) {
    set(observations[next++], ledger::observation::kLambdaInitDuration, record.init_ms / 1000);
  }
  if (record.concurrency > 0) {
    set(observations[next++], ledger::observation::kLambdaConcurrency,
        static_cast<double>(record.concurrency));
    set(observations[next++], ledger::observation::kLambdaAccountConcurrency,
        static_cast<double>(record.account_concurrency));
    set(observations[next++], ledger::observation::kLambdaUnreservedConcurrency,
        static_cast<double>(record.unreserved_concurrency));
  }
  for (std::size_t copy = 0; copy < concurrency_copies; ++copy) {
    auto& concurrency = observations[next++];
    assign_qualified(concurrency.first, ledger::observation::kLambdaConcurrency, record.qualifier,
                     copy == 0 ? std::string_view() : std::string_view(record.version));
    concurrency.second = static_cast<double>(copy == 0 ? record.resource_concurrency
                                                       : record.executed_version_concurrency);
  }
  usage.merged_samples.clear();
  // The record's head carries the name, request id and start time. Every
  // field is a number or a name Lambda restricts to characters JSON need
  // not escape. Fields at their usual value (docs/formats/ledger.md) are
  // left out: every byte is checksummed and copied several times on its
  // way to the disk, and these were a third of a record.
  // At most 251 bytes besides the version, qualifier and architecture
  // themselves: 146 of names and punctuation, three 64-bit integers of up
  // to 20 digits, memory's up to 10, the outcome's up to 3, and two
  // durations of up to 16.
  DetailWriter detail(usage.detail_json, 256 + record.version.size() + record.qualifier.size() +
                                             record.architecture.size());
  detail.literal(R"({"durationMs":)");
  detail.milliseconds(record.duration_ms);
  detail.literal(R"(,"billedMs":)");
  detail.integer(record.billed_ms);
  detail.literal(R"(,"memoryMb":)");
  detail.integer(record.memory_mb);
  detail.literal(R"(,"bytesIn":)");
  detail.integer(record.bytes_in);
  detail.literal(R"(,"bytesOut":)");
  detail.integer(record.bytes_out);
  if (record.version != kDefaultVersion) {
    detail.literal(R"(,"version":")");
    detail.text(record.version);
    detail.literal(R"(")");
  }
  if (!record.qualifier.empty()) {
    detail.literal(R"(,"qualifier":")");
    detail.text(record.qualifier);
    detail.literal(R"(")");
  }
  if (record.architecture != kDefaultArchitecture) {
    detail.literal(R"(,"architecture":")");
    detail.text(record.architecture);
    detail.literal(R"(")");
  }
  if (record.cold_start) {
    detail.literal(R"(,"coldStart":true,"initMs":)");
    detail.milliseconds(record.init_ms);
  }
  if (record.outcome != InvocationOutcome::kSuccess) {
    detail.literal(R"(,"outcome":)");
    detail.integer(static_cast<std::uint64_t>(record.outcome));
  }
  detail.literal("}");
}

std::optional<UsageRecord> from_usage(const ledger::Usage& usage) {
  if (usage.service != "lambda") return std::nullopt;
  boost::system::error_code ec;
  auto value = json::parse(usage.detail_json, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& o = value.as_object();
  try {
    UsageRecord record;
    record.function = usage.resource;
    record.request_id = usage.id;
    record.start_time_us = usage.time_us;
    record.duration_ms = o.at("durationMs").to_number<double>();
    record.billed_ms = o.at("billedMs").to_number<std::uint64_t>();
    record.memory_mb = o.at("memoryMb").to_number<std::uint32_t>();
    record.bytes_in = o.at("bytesIn").to_number<std::uint64_t>();
    record.bytes_out = o.at("bytesOut").to_number<std::uint64_t>();
    // Left out at their usual value; records written before 2026-11-28 have them all.
    const auto* version = o.if_contains("version");
    record.version = version ? json::value_to<std::string>(*version) : std::string(kDefaultVersion);
    if (const auto* qualifier = o.if_contains("qualifier")) {
      record.qualifier = json::value_to<std::string>(*qualifier);
    }
    const auto* architecture = o.if_contains("architecture");
    record.architecture = architecture ? json::value_to<std::string>(*architecture)
                                       : std::string(kDefaultArchitecture);
    const auto* cold_start = o.if_contains("coldStart");
    record.cold_start = cold_start != nullptr && cold_start->as_bool();
    const auto* init_ms = o.if_contains("initMs");
    record.init_ms = init_ms ? init_ms->to_number<double>() : 0;
    const auto* outcome = o.if_contains("outcome");
    record.outcome = outcome ? static_cast<InvocationOutcome>(outcome->to_number<int>())
                             : InvocationOutcome::kSuccess;
    return record;
  } catch (const std::exception&) {
    // A record this version does not understand: not one of ours.
    return std::nullopt;
  }
}

ledger::Usage throttle_usage(const std::string& function, std::string_view qualifier,
                             std::string_view version, std::int64_t time_us) {
  ledger::Usage usage;
  usage.service = "lambda";
  usage.resource = function;
  usage.id = new_request_id();
  usage.time_us = time_us;
  usage.quantities.emplace_back(ledger::meter::kLambdaThrottles, 1);
  assign_qualified(usage.quantities.emplace_back(std::string(), 1).first,
                   ledger::meter::kLambdaThrottles, qualifier, {});
  if (is_alias_qualifier(qualifier)) {
    assign_qualified(usage.quantities.emplace_back(std::string(), 1).first,
                     ledger::meter::kLambdaThrottles, qualifier, version);
  }
  usage.detail_json = R"({"outcome":"throttled"})";
  return usage;
}

}  // namespace nimbus::engine
