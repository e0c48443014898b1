#include "nimbus/server/nimbus_endpoints.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/rest_protocol.h"
#include "nimbus/ledger/cost.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/storage/async_store.h"

namespace nimbus::server {
namespace {

constexpr std::string_view kPrefix = "/_nimbus/";
constexpr std::size_t kOwnBodyLimit = 64 * 1024;

net::HttpResponse json(int status, const boost::json::object& body) {
  auto response =
      net::HttpResponse::with_body(status, "application/json", boost::json::serialize(body));
  response.headers.add("Cache-Control", "no-store");
  return response;
}

net::HttpResponse error(int status, std::string message) {
  return json(status, {{"message", std::move(message)}});
}

// A report bound: "2026-11-01", "2026-11-01T10:00:00Z" (or without seconds),
// "1793491200" (Unix seconds), or "7d" / "12h" / "30m" before now.
std::optional<std::int64_t> parse_report_time(std::string_view text, std::int64_t now_s) {
  const std::string value(text);
  const auto first_other = value.find_first_not_of("0123456789");
  // Digit counts are bounded so nothing below can overflow: 11 digits of
  // seconds reach the year 5138; 9 of minutes, hours, days or weeks suffice.
  if (first_other == std::string::npos) {  // Unix seconds
    if (value.empty() || value.size() > 11) return std::nullopt;
    return std::atoll(value.c_str());
  }
  if (first_other > 0 && first_other == value.size() - 1) {  // an age: "7d"
    if (first_other > 9) return std::nullopt;
    const long long amount = std::atoll(value.c_str());
    switch (value.back()) {
      case 'm':
        return now_s - amount * 60;
      case 'h':
        return now_s - amount * 3600;
      case 'd':
        return now_s - amount * 86400;
      case 'w':
        return now_s - amount * 7 * 86400;
      default:
        return std::nullopt;
    }
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(value.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(value).substr(static_cast<std::size_t>(consumed));
  if (!rest.empty()) {
    int more = 0;
    const std::string time(rest);
    if (std::sscanf(time.c_str(), "T%2d:%2d:%2dZ%n", &hour, &minute, &second, &more) == 3 &&
        static_cast<std::size_t>(more) == time.size()) {
    } else if (second = 0, more = 0;
               std::sscanf(time.c_str(), "T%2d:%2dZ%n", &hour, &minute, &more) == 2 &&
               static_cast<std::size_t>(more) == time.size()) {
    } else {
      return std::nullopt;
    }
  }
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year),
                            std::chrono::month(static_cast<unsigned>(month)),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  return sys_days(date).time_since_epoch().count() * 86400 + hour * 3600 + minute * 60 + second;
}

// What the kernel says about this process (/proc is memory, not disk).
struct ProcessFacts {
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double threads = 0;
};

ProcessFacts process_facts() {
  ProcessFacts facts;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  if (auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> values;
    for (std::string field; fields >> field;) values.push_back(field);
    // values[0] is field 3 (state): utime is field 14, stime 15, threads 20, starttime 22.
    if (values.size() > 20) {
      facts.cpu_seconds = (std::stod(values[11]) + std::stod(values[12])) / ticks;
      facts.threads = std::stod(values[17]);
      double boot = 0;
      std::ifstream proc_stat("/proc/stat");
      for (std::string line; std::getline(proc_stat, line);) {
        if (line.starts_with("btime ")) boot = std::stod(line.substr(6));
      }
      facts.start_time_seconds = boot + std::stod(values[19]) / ticks;
    }
  }
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  if (statm >> size >> resident) {
    facts.virtual_bytes = size * page;
    facts.resident_bytes = resident * page;
  }
  if (DIR* fds = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(fds)) {
      if (entry->d_name[0] != '.') ++facts.open_fds;
    }
    closedir(fds);
    --facts.open_fds;  // the directory stream itself
  }
  return facts;
}

// ?since= and ?until= (parse_report_time's forms), by default `since` and now.
Result<std::pair<std::int64_t, std::int64_t>> report_bounds(const net::HttpRequest& request,
                                                            std::int64_t now_s,
                                                            std::int64_t since) {
  std::int64_t until = now_s;
  for (auto [name, bound] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
    if (auto text = aws::query_value(request, name); !text.empty()) {
      auto parsed = parse_report_time(text, now_s);
      if (!parsed) {
        return AwsError::validation(
            fmt::format("{} '{}' is not a date (2026-11-01), a time "
                        "(2026-11-01T10:00:00Z) or an age (7d, 12h, 30m)",
                        name, text));
      }
      *bound = *parsed;
    }
  }
  return std::pair{since, until};
}

}  // namespace

NimbusEndpoints::NimbusEndpoints(aws::Router& router, const env::Clock& clock)
    : router_(router), clock_(clock), started_(clock.steady_now()) {}

void NimbusEndpoints::set_http_server(const net::HttpServer* server, HealthFacts facts) {
  http_server_ = server;
  facts_ = std::move(facts);
}

std::size_t NimbusEndpoints::body_limit(const net::HttpRequest& head) const {
  if (head.path().starts_with(kPrefix)) return kOwnBodyLimit;
  return router_.body_limit(head);
}

net::HttpResponse NimbusEndpoints::reject(const net::HttpRequest& head, net::RequestRejection why,
                                          std::size_t limit) const {
  return router_.reject(head, why, limit);
}

boost::asio::awaitable<net::HttpResponse> NimbusEndpoints::handle(net::HttpRequest request) {
  const auto path = request.path();
  if (!path.starts_with(kPrefix)) co_return co_await router_.handle(std::move(request));
  const bool head_too = path == "/_nimbus/health" || path == "/_nimbus/metrics";
  const bool known =
      head_too || (store_ != nullptr && (path == "/_nimbus/stats" || path == "/_nimbus/cost"));
  if (!known) co_return json(404, {{"message", "Not Found"}});
  // Every endpoint here reads: GET (and HEAD for the cheap ones).
  if (request.method != "GET" && !(head_too && request.method == "HEAD")) {
    auto response = json(405, {{"message", "Method Not Allowed"}});
    response.headers.add("Allow", head_too ? "GET, HEAD" : "GET");
    co_return response;
  }
  if (path == "/_nimbus/health") co_return health();
  if (path == "/_nimbus/metrics") co_return metrics();
  if (path == "/_nimbus/stats" && store_ != nullptr) co_return co_await stats(request);
  if (path == "/_nimbus/cost" && store_ != nullptr) co_return co_await cost(request);
  co_return json(404, {{"message", "Not Found"}});
}

net::HttpResponse NimbusEndpoints::metrics() const {
  ledger::PrometheusWriter out;
  if (journal_ != nullptr) journal_->metrics().write(out);
  if (engine_ != nullptr) {
    const auto stats = engine_->stats();
    out.single("nimbus_lambda_throttles_total", "counter",
               "Invocations refused for lack of concurrency or memory.",
               static_cast<double>(stats.throttles));
    out.single("nimbus_lambda_concurrent_executions", "gauge", "Invocations running now.",
               static_cast<double>(stats.busy));
    out.single("nimbus_lambda_pending_invocations", "gauge", "Invocations waiting for an instance.",
               static_cast<double>(stats.pending));
    out.family("nimbus_lambda_instances", "gauge", "Function instances by state.");
    out.sample("nimbus_lambda_instances", "state=\"starting\"",
               static_cast<double>(stats.starting));
    out.sample("nimbus_lambda_instances", "state=\"idle\"", static_cast<double>(stats.idle));
    out.sample("nimbus_lambda_instances", "state=\"busy\"", static_cast<double>(stats.busy));
    // Answered, not yet polling for the next event: the rest of them.
    const auto accounted = stats.starting + stats.idle + stats.busy;
    out.sample("nimbus_lambda_instances", "state=\"returning\"",
               static_cast<double>(stats.instances > accounted ? stats.instances - accounted : 0));
    out.single("nimbus_lambda_instance_exits_total", "counter",
               "Instances that exited or were stopped.", static_cast<double>(stats.instance_exits));
    out.single("nimbus_lambda_memory_reserved_bytes", "gauge",
               "Memory reserved by function instances.",
               static_cast<double>(stats.memory_reserved_mb) * 1024 * 1024);
    out.single("nimbus_lambda_functions", "gauge", "Function versions the engine runs.",
               static_cast<double>(stats.functions));
  }
  for (const auto& source : metrics_sources_) source(out);
  if (http_server_ != nullptr) {
    const auto stats = http_server_->stats();
    out.single("nimbus_http_requests_total", "counter", "HTTP requests received.",
               static_cast<double>(stats.requests));
    out.single("nimbus_http_rejected_total", "counter",
               "Requests refused before their body was read (limits, malformed HTTP).",
               static_cast<double>(stats.rejected));
    out.single("nimbus_http_connections_accepted_total", "counter", "Connections accepted.",
               static_cast<double>(stats.connections_accepted));
    out.single("nimbus_http_open_connections", "gauge", "Connections open now.",
               static_cast<double>(stats.open_connections));
  }
  if (store_ != nullptr) {
    out.single("nimbus_store_calls_in_flight", "gauge", "Store calls queued or running.",
               static_cast<double>(store_->in_flight()));
    out.single("nimbus_store_calls_refused_total", "counter",
               "Store calls refused because too many were in flight.",
               static_cast<double>(store_->refused()));
  }
  const auto facts = process_facts();
  out.single("process_cpu_seconds_total", "counter", "User and system CPU time spent.",
             facts.cpu_seconds);
  out.single("process_resident_memory_bytes", "gauge", "Resident memory size.",
             facts.resident_bytes);
  out.single("process_virtual_memory_bytes", "gauge", "Virtual memory size.", facts.virtual_bytes);
  out.single("process_open_fds", "gauge", "Open file descriptors.", facts.open_fds);
  out.single("process_threads", "gauge", "Threads.", facts.threads);
  out.single("process_start_time_seconds", "gauge", "Start time since the Unix epoch.",
             facts.start_time_seconds);
  out.single("nimbus_uptime_seconds", "gauge", "Seconds since the server started.",
             std::chrono::duration<double>(clock_.steady_now() - started_).count());
  auto response =
      net::HttpResponse::with_body(200, "text/plain; version=0.0.4; charset=utf-8", out.take());
  response.headers.add("Cache-Control", "no-store");
  return response;
}

boost::asio::awaitable<net::HttpResponse> NimbusEndpoints::stats(const net::HttpRequest& request) {
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string service = "lambda";
  std::string resource = aws::query_value(request, "function");
  if (resource.empty()) {
    service = "apigateway";
    resource = aws::query_value(request, "api");
  }
  if (resource.empty()) co_return error(400, "name a function (?function=) or an API (?api=)");
  auto bounds = report_bounds(request, now_s, now_s - 3600);
  if (!bounds) co_return error(400, bounds.error().message());
  auto [since, until] = *bounds;
  since -= ((since % 60) + 60) % 60;
  if (until <= since) co_return error(400, "until must be after since");
  // Sixty points or so unless told: a minute for an hour, an hour for days.
  std::int64_t period = std::max<std::int64_t>(60, (until - since) / 60 / 60 * 60);
  if (auto text = aws::query_value(request, "period"); !text.empty()) {
    period = std::strtoll(text.c_str(), nullptr, 10);  // saturates, never overflows
    if (period < 60 || period % 60 != 0) co_return error(400, "period must be a multiple of 60");
  }
  if ((until - since) / period > 10'000) co_return error(400, "too many points: widen the period");

  auto read = [journal = journal_, service, resource, since, until,
               period](storage::Store& store) -> Result<boost::json::object> {
    if (journal != nullptr) journal->flush();
    auto minutes = ledger::Journal::read_minutely(store, service, since, until);
    if (!minutes) return minutes.error();
    std::map<std::int64_t, std::map<std::string, ledger::MinuteStat>> buckets;
    for (const auto& minute : *minutes) {
      if (minute.resource != resource) continue;
      buckets[since + (minute.minute_start_s - since) / period * period][minute.name].merge(
          minute.stat);
    }
    // Every period gets a point, empty ones with zero counts (charts show
    // the quiet time too).
    for (std::int64_t start = since; start < until; start += period) buckets[start];
    boost::json::array points;
    for (const auto& [start, stats] : buckets) {
      auto sum = [&](std::string_view name) -> std::int64_t {
        auto it = stats.find(std::string(name));
        return it == stats.end() ? 0 : it->second.sum;
      };
      auto stat = [&](std::string_view name) -> const ledger::MinuteStat* {
        auto it = stats.find(std::string(name));
        return it == stats.end() || it->second.count == 0 ? nullptr : &it->second;
      };
      boost::json::object point{
          {"epoch", start},
          {"time", fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                               std::chrono::sys_seconds(std::chrono::seconds(start)))}};
      auto durations = [&](std::string_view name, std::string_view prefix) {
        if (const auto* d = stat(name)) {
          point[fmt::format("{}AvgMs", prefix)] =
              static_cast<double>(d->sum) / static_cast<double>(d->count) / 1000.0;
          point[fmt::format("{}MinMs", prefix)] = static_cast<double>(d->min) / 1000.0;
          point[fmt::format("{}MaxMs", prefix)] = static_cast<double>(d->max) / 1000.0;
        }
      };
      if (service == "lambda") {
        point["invocations"] = sum("m:lambda.requests");
        point["errors"] = sum("m:lambda.errors");
        point["coldStarts"] = sum("m:lambda.cold-starts");
        point["gbSeconds"] =
            static_cast<double>(sum("m:lambda.compute.x86_64") + sum("m:lambda.compute.arm64")) /
            1'024'000.0;
        durations("o:lambda.duration", "duration");
      } else {
        point["requests"] = sum("m:apigateway.requests");
        point["4xx"] = sum("m:apigateway.4xx");
        point["5xx"] = sum("m:apigateway.5xx");
        point["bytes"] = sum("m:apigateway.bytes");
        durations("o:apigateway.latency", "latency");
      }
      points.push_back(std::move(point));
    }
    return boost::json::object{{"service", service}, {"resource", resource},
                               {"period", period},   {"since", since},
                               {"until", until},     {"points", std::move(points)}};
  };
  auto answer = co_await store_->run(std::move(read));
  if (!answer) co_return error(500, answer.error().message());
  co_return json(200, *answer);
}

boost::asio::awaitable<net::HttpResponse> NimbusEndpoints::cost(const net::HttpRequest& request) {
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto param = [&](std::string_view name) { return aws::query_value(request, name); };
  ledger::CostQuery cost_query;
  if (auto by = param("by"); !by.empty()) {
    auto grouping = ledger::parse_cost_grouping(by);
    if (!grouping) co_return error(400, grouping.error().message());
    cost_query.grouping = *grouping;
  }
  auto bounds = report_bounds(request, now_s, ledger::month_start(now_s));
  if (!bounds) co_return error(400, bounds.error().message());
  const auto [since, until] = *bounds;
  // Whole hours: the counters' resolution.
  cost_query.since_s = since - ((since % 3600) + 3600) % 3600;
  cost_query.until_s = until + (3600 - ((until % 3600) + 3600) % 3600) % 3600;
  if (cost_query.until_s <= cost_query.since_s) co_return error(400, "until must be after since");

  auto compute = [journal = journal_, price_book = price_book_,
                  cost_query](storage::Store& store) -> Result<boost::json::object> {
    if (journal != nullptr) journal->flush();
    auto book = ledger::PriceBook::load(price_book);
    if (!book) return book.error();
    auto counters = ledger::Journal::read_hourly(store, ledger::month_start(cost_query.since_s),
                                                 cost_query.until_s);
    if (!counters) return counters.error();
    return ledger::to_json(ledger::price_usage(*counters, *book, cost_query));
  };
  auto report = co_await store_->run(std::move(compute));
  if (!report) co_return error(500, report.error().message());
  co_return json(200, *report);
}

net::HttpResponse NimbusEndpoints::health() const {
  boost::json::object services;
  for (const auto* service : router_.services()) {
    services[service->descriptor().name] = aws::to_string(service->state());
  }
  boost::json::object body;
  body["status"] = "running";
  body["version"] = NIMBUS_VERSION;
  body["uptime_seconds"] = std::chrono::duration<double>(clock_.steady_now() - started_).count();
  body["endpoint"] = facts_.endpoint;
  body["data_dir"] = facts_.data_dir.string();
  body["region"] = router_.options().region;
  body["account_id"] = router_.options().account_id;
  body["auth"] = aws::to_string(router_.options().auth);
  body["durability"] = facts_.durability;
  body["services"] = std::move(services);
  if (http_server_ != nullptr) {
    const auto stats = http_server_->stats();
    body["http"] = {{"io_threads", facts_.io_threads},
                    {"connections_accepted", stats.connections_accepted},
                    {"open_connections", stats.open_connections},
                    {"requests", stats.requests},
                    {"rejected", stats.rejected}};
  }
  if (engine_ != nullptr) {
    const auto stats = engine_->stats();
    body["functions"] = {{"isolation", stats.isolation},
                         {"cgroups", stats.cgroups},
                         {"functions", stats.functions},
                         {"instances", stats.instances},
                         {"starting", stats.starting},
                         {"idle", stats.idle},
                         {"busy", stats.busy},
                         {"pending", stats.pending},
                         {"memory_reserved_mb", stats.memory_reserved_mb},
                         {"invocations", stats.invocations},
                         {"cold_starts", stats.cold_starts},
                         {"prepared_starts", stats.prepared_starts},
                         {"prepared_sandboxes", stats.prepared_sandboxes},
                         {"throttles", stats.throttles},
                         {"instance_exits", stats.instance_exits}};
  }
  return json(200, body);
}

}  // namespace nimbus::server
