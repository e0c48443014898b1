#include "nimbus/cli/client_commands.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "nimbus/aws/encoding.h"
#include "nimbus/aws/sigv4.h"
#include "nimbus/cli/svg_chart.h"
#include "nimbus/net/http_client.h"

namespace nimbus::cli {
namespace {

namespace json = boost::json;

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

std::string path_escape(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Sends one API request to `service`, signed when credentials are in the
// environment; prints transport errors itself.
std::optional<net::HttpResponse> call(const ClientFlags& client, net::HttpRequest request,
                                      std::string_view service = "lambda") {
  const auto scheme_end = client.endpoint.find("://");
  std::string authority =
      scheme_end == std::string::npos ? client.endpoint : client.endpoint.substr(scheme_end + 3);
  if (const auto slash = authority.find('/'); slash != std::string::npos) authority.resize(slash);
  request.headers.set("Host", authority);
  const std::string key = env_or("AWS_ACCESS_KEY_ID", "");
  const std::string secret = env_or("AWS_SECRET_ACCESS_KEY", "");
  if (!key.empty() && !secret.empty()) {
    const std::string region = env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1"));
    aws::sign_request(request, key, secret, region, std::string(service),
                      std::chrono::system_clock::now());
  }
  // Long enough for a synchronous invoke of a function at Lambda's longest
  // timeout (900 s).
  auto response = net::http_call(client.endpoint, std::move(request), std::chrono::seconds(910));
  if (!response) {
    fmt::print(stderr, "nimbus: {}\n", response.error().message());
    return std::nullopt;
  }
  return std::move(*response);
}

// Prints an AWS error response as the AWS CLI would ("Code: message").
int report_error(const net::HttpResponse& response) {
  std::string code(response.headers.get("X-Amzn-ErrorType").value_or("Error"));
  code = code.substr(0, code.find(':'));
  std::string message = response.body;
  boost::system::error_code error;
  const auto body = json::parse(response.body, error);
  if (!error && body.is_object()) {
    // JSON protocols name the error in the body: "__type": "...#Code".
    if (const auto* type = body.as_object().if_contains("__type"); type && type->is_string()) {
      code = std::string(type->as_string());
      code = code.substr(code.find('#') == std::string::npos ? 0 : code.find('#') + 1);
    }
    for (const auto* key : {"message", "Message"}) {
      if (const auto* value = body.as_object().if_contains(key); value && value->is_string()) {
        message = std::string(value->as_string());
      }
    }
  }
  fmt::print(stderr, "nimbus: {} ({}): {}\n", code, response.status, message);
  return 1;
}

// Writes `svg` to `path`; says so on stderr.
int write_plot(const std::string& path, const std::string& svg) {
  std::ofstream out(path, std::ios::binary);
  out << svg;
  if (!out) {
    fmt::print(stderr, "nimbus: cannot write {}\n", path);
    return 1;
  }
  fmt::print(stderr, "wrote {}\n", path);
  return 0;
}

// Sends the request and reads a JSON object back; says what went wrong
// itself (nullopt then).
std::optional<json::object> call_json(const ClientFlags& client, net::HttpRequest request,
                                      std::string_view service = "lambda") {
  auto response = call(client, std::move(request), service);
  if (!response) return std::nullopt;
  if (response->status != 200) {
    report_error(*response);
    return std::nullopt;
  }
  boost::system::error_code error;
  auto parsed = json::parse(response->body, error);
  if (error || !parsed.is_object()) {
    fmt::print(stderr, "nimbus: unreadable answer from {}\n", client.endpoint);
    return std::nullopt;
  }
  return std::move(parsed.as_object());
}

std::optional<json::object> get_json(const ClientFlags& client, std::string target) {
  net::HttpRequest request;
  request.method = "GET";
  request.target = std::move(target);
  return call_json(client, std::move(request));
}

// A number, or decimal text; NaN when absent.
double number_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return std::nan("");
  if (value->is_string()) return std::strtod(std::string(value->as_string()).c_str(), nullptr);
  return value->is_number() ? value->to_number<double>() : std::nan("");
}

std::string text_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

// /_nimbus/cost for the flags' bounds, lines grouped `by`.
std::string cost_target(const CostFlags& flags, std::string_view by) {
  std::string target = "/_nimbus/cost?by=" + path_escape(by);
  if (!flags.since.empty()) target += "&since=" + path_escape(flags.since);
  if (!flags.until.empty()) target += "&until=" + path_escape(flags.until);
  return target;
}

int plot_cost(const ClientFlags& client, const CostFlags& flags) {
  auto report = get_json(client, cost_target(flags, "day"));
  if (!report) return 1;
  // Per day: cost by service (the meter's first word), and requests.
  std::map<std::string, std::map<std::string, double>> cost;  // day -> service -> cost
  std::map<std::string, std::map<std::string, double>> requests;
  std::set<std::string> services;
  for (const auto& value : report->at("lines").as_array()) {
    const auto& line = value.as_object();
    const std::string day = text_member(line, "day");
    const std::string meter = text_member(line, "meter");
    const std::string service = meter.substr(0, meter.find('.'));
    services.insert(service);
    cost[day][service] += number_member(line, "cost");
    if (meter.ends_with(".requests")) requests[day][service] += number_member(line, "usage");
  }
  Chart chart;
  chart.title = fmt::format("Cost per day, {} to {} ({})", text_member(*report, "since"),
                            text_member(*report, "until"), text_member(*report, "priceBook"));
  ChartPanel money{"Cost", text_member(*report, "currency"), {}};
  ChartPanel count{"Requests", "per day", {}};
  for (const auto& service : services) {
    money.series.push_back({service, {}});
    count.series.push_back({service, {}});
  }
  for (const auto& [day, by_service] : cost) {
    int year = 0;
    unsigned month = 0, date = 0;
    if (std::sscanf(day.c_str(), "%d-%u-%u", &year, &month, &date) != 3) continue;
    const std::chrono::sys_days when =
        std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(date);
    chart.times.push_back(when.time_since_epoch().count() * 86400);
    std::size_t i = 0;
    for (const auto& service : services) {
      auto found = by_service.find(service);
      money.series[i].values.push_back(found == by_service.end() ? 0 : found->second);
      auto counted = requests[day].find(service);
      count.series[i].values.push_back(counted == requests[day].end() ? 0 : counted->second);
      ++i;
    }
  }
  chart.panels = {std::move(money), std::move(count)};
  return write_plot(flags.plot, render_svg(chart));
}

}  // namespace

int run_invoke(const ClientFlags& client, const InvokeFlags& flags) {
  std::string payload = flags.payload;
  if (payload.starts_with('@')) {
    std::ifstream file(payload.substr(1), std::ios::binary);
    if (!file) {
      fmt::print(stderr, "nimbus: cannot read {}\n", payload.substr(1));
      return 2;
    }
    std::ostringstream contents;
    contents << file.rdbuf();
    payload = contents.str();
  }
  net::HttpRequest request;
  request.method = "POST";
  request.target = fmt::format("/2015-03-31/functions/{}/invocations", path_escape(flags.function));
  if (!flags.qualifier.empty()) request.target += "?Qualifier=" + path_escape(flags.qualifier);
  request.headers.add("Content-Type", "application/json");
  if (flags.event) request.headers.add("X-Amz-Invocation-Type", "Event");
  if (flags.show_log) request.headers.add("X-Amz-Log-Type", "Tail");
  request.body = std::move(payload);
  auto response = call(client, std::move(request));
  if (!response) return 1;
  if (response->status >= 300) return report_error(*response);
  if (response->status == 202) {
    fmt::print(stderr, "accepted: request id {}\n",
               response->headers.get("x-amzn-RequestId").value_or(""));
    return 0;
  }
  if (flags.show_log) {
    if (auto log = aws::base64_decode(response->headers.get("X-Amz-Log-Result").value_or(""))) {
      fmt::print(stderr, "{}", *log);
    }
  }
  fmt::print("{}\n", response->body);
  if (auto function_error = response->headers.get("X-Amz-Function-Error")) {
    fmt::print(stderr, "nimbus: the function failed ({})\n", *function_error);
    return 1;
  }
  return 0;
}

int run_functions(const ClientFlags& client) {
  std::vector<json::object> functions;
  std::string marker;
  do {
    net::HttpRequest request;
    request.method = "GET";
    request.target = "/2015-03-31/functions/?MaxItems=50";
    if (!marker.empty()) request.target += "&Marker=" + path_escape(marker);
    auto page = call_json(client, std::move(request));
    if (!page) return 1;
    for (auto& function : (*page)["Functions"].as_array()) {
      functions.push_back(std::move(function.as_object()));
    }
    const auto* next = page->if_contains("NextMarker");
    marker = next && next->is_string() ? std::string(next->as_string()) : std::string();
  } while (!marker.empty());

  auto text = [](const json::object& object, std::string_view key) -> std::string {
    const auto* value = object.if_contains(key);
    if (value == nullptr) return "-";
    if (value->is_string()) return std::string(value->as_string());
    if (value->is_number()) return std::to_string(value->to_number<std::int64_t>());
    return "-";
  };
  fmt::print("{:<32} {:<16} {:>7} {:>8} {:>10}  {}\n", "NAME", "RUNTIME", "MEMORY", "TIMEOUT",
             "CODE SIZE", "LAST MODIFIED");
  for (const auto& function : functions) {
    fmt::print("{:<32} {:<16} {:>7} {:>8} {:>10}  {}\n", text(function, "FunctionName"),
               text(function, "Runtime"), text(function, "MemorySize") + "MB",
               text(function, "Timeout") + "s", text(function, "CodeSize"),
               text(function, "LastModified"));
  }
  return 0;
}

int run_logs(const ClientFlags& client, const LogsFlags& flags) {
  const std::string group =
      flags.function.starts_with('/') ? flags.function : "/aws/lambda/" + flags.function;
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::int64_t start = now_ms() - static_cast<std::int64_t>(flags.since_minutes * 60'000);
  // Events already printed at the newest timestamp: the next poll starts there.
  std::set<std::string> printed_at_start;
  for (;;) {
    std::string token;
    std::int64_t newest = start;
    std::set<std::string> printed_at_newest = printed_at_start;
    do {
      json::object input{{"logGroupName", group}, {"startTime", start}};
      if (!flags.filter.empty()) input["filterPattern"] = flags.filter;
      if (!token.empty()) input["nextToken"] = token;
      net::HttpRequest request;
      request.method = "POST";
      request.target = "/";
      request.headers.add("Content-Type", "application/x-amz-json-1.1");
      request.headers.add("X-Amz-Target", "Logs_20140328.FilterLogEvents");
      request.body = json::serialize(input);
      auto page = call_json(client, std::move(request), "logs");
      if (!page) return 1;
      for (const auto& value : (*page)["events"].as_array()) {
        const auto& event = value.as_object();
        const auto timestamp = event.at("timestamp").to_number<std::int64_t>();
        const std::string id(event.at("eventId").as_string());
        if (timestamp == start && printed_at_start.contains(id)) continue;
        if (timestamp > newest) {
          newest = timestamp;
          printed_at_newest.clear();
        }
        printed_at_newest.insert(id);
        const auto seconds = std::chrono::sys_seconds(std::chrono::seconds(timestamp / 1000));
        std::string message(event.at("message").as_string());
        while (!message.empty() && message.back() == '\n') message.pop_back();
        fmt::print("{:%Y-%m-%dT%H:%M:%S}.{:03}Z {}\n", seconds, timestamp % 1000, message);
      }
      const auto* next = page->if_contains("nextToken");
      token = next && next->is_string() ? std::string(next->as_string()) : std::string();
    } while (!token.empty());
    std::fflush(stdout);
    if (!flags.follow) return 0;
    start = newest;
    printed_at_start = std::move(printed_at_newest);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int run_stats(const ClientFlags& client, const StatsFlags& flags) {
  std::string target =
      fmt::format("/_nimbus/stats?{}={}", flags.api ? "api" : "function", path_escape(flags.name));
  if (!flags.since.empty()) target += "&since=" + path_escape(flags.since);
  if (!flags.until.empty()) target += "&until=" + path_escape(flags.until);
  if (flags.period > 0) target += fmt::format("&period={}", flags.period);
  auto stats = get_json(client, target);
  if (!stats) return 1;
  if (flags.json) {
    fmt::print("{}\n", json::serialize(*stats));
    return 0;
  }
  const auto& points = stats->at("points").as_array();
  const bool lambda = !flags.api;
  const std::string prefix = lambda ? "duration" : "latency";
  const std::vector<std::string> counts =
      lambda ? std::vector<std::string>{"invocations", "errors", "coldStarts"}
             : std::vector<std::string>{"requests", "4xx", "5xx"};
  if (!flags.plot.empty()) {
    Chart chart;
    chart.title = fmt::format("{} {}, per {} s", lambda ? "Function" : "API", flags.name,
                              stats->at("period").to_number<std::int64_t>());
    ChartPanel calls{lambda ? "Invocations" : "Requests", "per period", {}};
    for (const auto& name : counts) calls.series.push_back({name, {}});
    ChartPanel times{
        lambda ? "Duration" : "Latency", "ms", {{"max", {}}, {"average", {}}, {"min", {}}}};
    for (const auto& value : points) {
      const auto& point = value.as_object();
      chart.times.push_back(point.at("epoch").to_number<std::int64_t>());
      for (std::size_t i = 0; i < counts.size(); ++i) {
        calls.series[i].values.push_back(number_member(point, counts[i]));
      }
      times.series[0].values.push_back(number_member(point, prefix + "MaxMs"));
      times.series[1].values.push_back(number_member(point, prefix + "AvgMs"));
      times.series[2].values.push_back(number_member(point, prefix + "MinMs"));
    }
    chart.panels = {std::move(calls), std::move(times)};
    return write_plot(flags.plot, render_svg(chart));
  }
  fmt::print("{:<22} {:>12} {:>8} {:>8} {:>12} {:>12}  {}\n", "TIME (UTC)",
             lambda ? "INVOCATIONS" : "REQUESTS", lambda ? "ERRORS" : "4XX",
             lambda ? "COLD" : "5XX", "AVG MS", "MAX MS", lambda ? "GB-SECONDS" : "BYTES");
  // A period without requests has no durations: "-", not "nan".
  auto milliseconds = [](double value) {
    return std::isnan(value) ? std::string("-") : fmt::format("{:.2f}", value);
  };
  for (const auto& value : points) {
    const auto& point = value.as_object();
    const double extra = lambda ? number_member(point, "gbSeconds") : number_member(point, "bytes");
    fmt::print("{:<22} {:>12} {:>8} {:>8} {:>12} {:>12}  {}\n", text_member(point, "time"),
               number_member(point, counts[0]), number_member(point, counts[1]),
               number_member(point, counts[2]),
               milliseconds(number_member(point, prefix + "AvgMs")),
               milliseconds(number_member(point, prefix + "MaxMs")), extra);
  }
  return 0;
}

int run_cost(const ClientFlags& client, const CostFlags& flags) {
  if (!flags.plot.empty()) return plot_cost(client, flags);
  auto answer = get_json(client, cost_target(flags, flags.by));
  if (!answer) return 1;
  if (flags.json) {
    fmt::print("{}\n", json::serialize(*answer));
    return 0;
  }
  const json::object& report = *answer;
  // Money to the cent, or to the first significant digit below a cent.
  auto money = [](std::string amount) {
    auto dot = amount.find('.');
    if (dot == std::string::npos) return amount;
    std::size_t keep = dot + 3;
    if (amount.substr(0, dot) == "0" && amount.compare(dot + 1, 2, "00") == 0) {
      auto digit = amount.find_first_not_of('0', dot + 1);
      keep = digit == std::string::npos ? dot + 3 : digit + 1;
    }
    return amount.substr(0, std::min(keep, amount.size()));
  };
  const std::string by = text_member(report, "by");
  const std::string currency = text_member(report, "currency");
  fmt::print("Usage from {} to {}, priced with \"{}\" ({})\n\n", text_member(report, "since"),
             text_member(report, "until"), text_member(report, "priceBook"), currency);
  const std::string group_heading = by == "day"                        ? "DAY"
                                    : by == "service" || by == "meter" ? "SERVICE"
                                                                       : "RESOURCE";
  // Columns as wide as their widest entry: meter names with their units,
  // and resources, run longer than any fixed width would allow.
  using Row = std::array<std::string, 5>;
  std::vector<Row> rows{{group_heading, "METER", "USAGE", "FREE TIER", "COST"}};
  for (const auto& value : report.at("lines").as_array()) {
    const auto& line = value.as_object();
    std::string group = by == "day" ? text_member(line, "day") : text_member(line, "service");
    if (by == "resource") group += ":" + text_member(line, "resource");
    rows.push_back({group, text_member(line, "meter") + " (" + text_member(line, "unit") + ")",
                    text_member(line, "usage"), text_member(line, "freeTier"),
                    money(text_member(line, "cost"))});
  }
  rows.push_back({"TOTAL", "", "", "", money(text_member(report, "total"))});
  std::array<std::size_t, 5> width{};
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    // The total's currency follows its amount, outside the column.
    fmt::print("{:<{}}  {:<{}}  {:>{}}  {:>{}}  {:>{}}{}\n", row[0], width[0], row[1], width[1],
               row[2], width[2], row[3], width[3], row[4], width[4],
               r + 1 == rows.size() ? " " + currency : "");
  }
  return 0;
}

}  // namespace nimbus::cli
