// Functions engine benchmarks, each beside a baseline measured in the same run.
//
//   engine_bench warm  [--workers 2] [--clients 16] [--seconds 5] [--rounds 1]
//                      [--process-isolation 0]
//       Warm invocations of a native function through Engine::invoke, beside
//       a minimal relay written here: the same worker binary, the same
//       Runtime API long poll, nothing else (no scheduling, no limits, no
//       logs, no usage records).
//   engine_bench cold  [--runs 30] [--process-isolation 1] [--prepared-sandboxes 2]
//       Cold start (invoke to result on a new instance) for native, bash,
//       node and python, beside the bare cost of the same process doing the
//       same: spawned, answered its first Runtime API request with the same
//       event, until its response arrives (and to its first request).
//   engine_bench memory [--instances 50]
//       Server memory held per idle warm instance.
//   engine_bench journal [--threads 2] [--rate 10000] [--warmup 0] [--seconds 4]
//                        [--profile 0]
//       What the journal costs per invocation on its own: each thread hands
//       in what one warm invocation produces (START, END and REPORT lines and
//       its usage record) at `rate` invocations a second in all (0: as fast
//       as it can); process CPU per invocation with logs and metering on and
//       each alone, less the same with both off. --profile 1 runs only logs
//       and metering on, for a profiler (callgrind's instructions per
//       invocation) to see that alone.
//
// Run through bench/engine_bench.py, which reproduces the numbers quoted on
// the issue. Needs the engine_native_echo test function (built with the tests).

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "nimbus/core/request_id.h"
#include "nimbus/engine/engine.h"
#include "nimbus/engine/usage_record.h"
#include "nimbus/env/process.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/storage/store.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Args {
  std::map<std::string, double> values;
  double get(const std::string& name, double fallback) const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<std::size_t>(p * (samples.size() - 1))];
}

// The middle value, or the mean of the two middle values.
double median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const std::size_t half = samples.size() / 2;
  return samples.size() % 2 == 1 ? samples[half] : (samples[half - 1] + samples[half]) / 2;
}

fs::path scratch_dir() {
  fs::path dir = fs::temp_directory_path() / fmt::format("nimbus-bench-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  return dir;
}

// ---------------------------------------------------------------- the relay

// One thread; workers long-poll GET next; a job goes to a waiting worker or
// waits in a queue; the worker's POST completes it.
class Relay {
 public:
  struct Job {
    std::string payload;
    std::function<void(std::string)> done;
  };

  Relay() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Relay() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void submit(Job job) {
    asio::post(io_, [this, job = std::move(job)]() mutable {
      if (!waiting_.empty()) {
        auto worker = waiting_.front();
        waiting_.pop_front();
        worker->job = std::move(job);
        worker->wake.cancel();
      } else {
        queue_.push_back(std::move(job));
      }
    });
  }

 private:
  struct Worker {
    explicit Worker(asio::io_context& io) : wake(io) {}
    asio::steady_timer wake;
    std::optional<Job> job;
    std::optional<Job> current;
  };

  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(io_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto worker = std::make_shared<Worker>(io_);
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      auto [ec, n] = co_await http::async_read(socket, buffer, request, kNoThrow);
      if (ec) co_return;
      http::response<http::string_body> response{http::status::accepted, 11};
      if (request.method() == http::verb::get) {
        if (queue_.empty()) {
          worker->wake.expires_at(asio::steady_timer::time_point::max());
          waiting_.push_back(worker);
          co_await worker->wake.async_wait(kNoThrow);
          worker->current = std::move(worker->job);
        } else {
          worker->current = std::move(queue_.front());
          queue_.pop_front();
        }
        response.result(http::status::ok);
        response.set("Lambda-Runtime-Aws-Request-Id", "relay");
        response.set("Lambda-Runtime-Deadline-Ms", "99999999999999");
        response.body() = worker->current->payload;
      } else {
        auto job = std::move(*worker->current);
        worker->current.reset();
        job.done(std::move(request.body()));
      }
      response.keep_alive(true);
      response.prepare_payload();
      auto [write_error, written] = co_await http::async_write(socket, response, kNoThrow);
      if (write_error) co_return;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::deque<Job> queue_;
  std::deque<std::shared_ptr<Worker>> waiting_;
};

// ------------------------------------------------------------ warm invokes

struct LoadResult {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  double cpu_us_per_op = 0;          // this process's CPU (all threads) per invocation
  double journal_cpu_us_per_op = 0;  // of which the journal thread's
  double rocksdb_cpu_us_per_op = 0;  // and RocksDB's background threads'
  double flush_ms = 0;               // the journal's flush after the load
  double machine_cpu_us_per_op = 0;  // every process's CPU (/proc/stat) per invocation
  double machine_idle = 0;           // share of the machine's CPU time idle during the load
};

// The machine's CPU time so far in micro-seconds, busy and idle (iowait
// counted idle), from /proc/stat: with what the functions' processes and
// the kernel's own threads spend, which this process's CPU leaves out.
struct MachineCpu {
  double busy_us = 0;
  double idle_us = 0;
};

MachineCpu machine_cpu() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double us_per_tick = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  return {static_cast<double>(user + nice + system + irq + softirq + steal) * us_per_tick,
          static_cast<double>(idle + iowait) * us_per_tick};
}

// CPU time of this process's threads so far, in micro-seconds, summed by
// thread name (schedstat: nanoseconds on a CPU, finer than rusage's ticks).
// Threads that ended are not counted.
std::map<std::string, double> thread_cpu_us() {
  std::map<std::string, double> by_name;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::ifstream schedstat(task.path() / "schedstat");
    std::string name;
    double on_cpu_ns = 0;
    if (std::getline(comm, name) && schedstat >> on_cpu_ns) by_name[name] += on_cpu_ns / 1000;
  }
  return by_name;
}

// The CPU threads named with `prefix` spent between two thread_cpu_us() readings.
double thread_cpu_between(const std::map<std::string, double>& before,
                          const std::map<std::string, double>& after, std::string_view prefix) {
  double total = 0;
  for (const auto& [name, us] : after) {
    if (!name.starts_with(prefix)) continue;
    auto it = before.find(name);
    total += us - (it == before.end() ? 0 : it->second);
  }
  return total;
}

double process_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// `clients` coroutines on one thread, each invoking in a loop.
template <class InvokeFn>
LoadResult drive(std::size_t clients, std::chrono::duration<double> length, InvokeFn invoke_one) {
  asio::io_context io;
  std::vector<double> latencies;
  std::atomic<bool> stop{false};
  std::size_t done = 0;
  auto start = Clock::now();
  for (std::size_t i = 0; i < clients; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (!stop.load()) {
            auto begin = Clock::now();
            bool ok = co_await invoke_one();
            if (!ok) {
              std::cerr << "invoke failed\n";
              co_return;
            }
            latencies.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - begin).count());
            ++done;
            if (Clock::now() - start > length) stop = true;
          }
        },
        asio::detached);
  }
  io.run();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {done / seconds, percentile(latencies, 0.5), percentile(latencies, 0.99)};
}

// The store and the journal an engine writes its logs and usage records to.
struct Ledger {
  explicit Ledger(const fs::path& dir, nimbus::ledger::Journal::Options options = {},
                  const std::string& name = "store") {
    nimbus::storage::StoreOptions store_options;
    store_options.path = dir / name;
    auto opened = nimbus::storage::Store::open(store_options);
    if (!opened) {
      std::cerr << opened.error().message() << "\n";
      std::exit(1);
    }
    store = std::move(*opened);
    auto made = nimbus::ledger::Journal::open(*store, options);
    if (!made) {
      std::cerr << made.error().message() << "\n";
      std::exit(1);
    }
    journal = std::move(*made);
  }
  std::unique_ptr<nimbus::storage::Store> store;
  std::unique_ptr<nimbus::ledger::Journal> journal;
};

nimbus::engine::FunctionConfig native_function(const fs::path& dir, const std::string& name) {
  fs::path code = dir / "code" / name;
  fs::create_directories(code);
  fs::copy_file(NIMBUS_NATIVE_ECHO, code / "bootstrap", fs::copy_options::overwrite_existing);
  nimbus::engine::FunctionConfig config;
  config.name = name;
  config.arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name;
  config.runtime = "provided.al2023";
  config.code_dir = code;
  config.timeout = 30s;
  return config;
}

nimbus::engine::EngineOptions engine_options(const fs::path& dir) {
  nimbus::engine::EngineOptions options;
  options.work_dir = dir / "engine";
  options.runtimes_dir = NIMBUS_RUNTIMES_DIR;
  options.init_path = NIMBUS_INIT_PATH;
  return options;
}

int warm(const Args& args) {
  auto workers = static_cast<std::uint32_t>(args.get("workers", 2));
  auto clients = static_cast<std::size_t>(args.get("clients", 16));
  std::chrono::duration<double> length(args.get("seconds", 5));
  const std::string payload = R"({"op":"echo","data":"0123456789abcdef"})";
  fs::path dir = scratch_dir();

  // Baseline: the relay with `workers` copies of the same worker binary.
  LoadResult relay_result;
  // --relay 0 skips the baseline (profiling the engine alone).
  if (args.get("relay", 1) != 0) {
    Relay relay;
    std::vector<nimbus::env::ChildProcess> children;
    for (std::uint32_t i = 0; i < workers; ++i) {
      nimbus::env::SpawnOptions spawn;
      spawn.argv = {NIMBUS_NATIVE_ECHO};
      spawn.env = {fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", relay.port())};
      auto child = nimbus::env::spawn_process(spawn);
      if (!child) return 1;
      children.push_back(std::move(*child));
    }
    relay_result = drive(clients, length, [&]() -> asio::awaitable<bool> {
      auto executor = co_await asio::this_coro::executor;
      asio::experimental::concurrent_channel<void(boost::system::error_code, std::string)> channel(
          executor, 1);
      Relay::Job job{payload, [&channel](std::string out) {
                       channel.try_send(boost::system::error_code{}, std::move(out));
                     }};
      relay.submit(std::move(job));
      auto [ec, out] = co_await channel.async_receive(kNoThrow);
      co_return !ec && out == payload;
    });
  }

  // Nimbus: the same worker as a provisioned function with `workers`
  // instances and reserved concurrency `workers`, so the pool matches; once
  // as it runs (logs and usage records written), once with both off, to
  // show what metering and log capture cost. Each configuration keeps one
  // store and journal through all its runs, as a server does: a store
  // opened moments ago spends its first seconds faulting in fresh memory
  // for its memtables, which a server that has run a while reuses.
  std::map<std::pair<bool, bool>, std::unique_ptr<Ledger>> ledgers;
  auto run_engine = [&](nimbus::ledger::Journal::Options journal_options,
                        std::chrono::duration<double> length) -> LoadResult {
    auto& kept = ledgers[{journal_options.metering, journal_options.logs}];
    if (!kept) {
      const std::string name = fmt::format("store-{}{}", journal_options.metering ? "m" : "",
                                           journal_options.logs ? "l" : "");
      fs::remove_all(dir / name);
      kept = std::make_unique<Ledger>(dir, journal_options, name);
    }
    Ledger& ledger = *kept;
    auto options = engine_options(dir);
    // valgrind does not follow the sandbox's clone: profile with --process-isolation 1.
    if (args.get("process-isolation", 0) != 0)
      options.isolation = nimbus::engine::Isolation::kProcess;
    auto engine = nimbus::engine::Engine::start(options, *ledger.journal);
    if (!engine) std::exit(1);
    auto config = native_function(dir, "warm");
    config.provisioned_concurrency = workers;
    // With more clients than workers the engine starts more instances (as
    // Lambda would); run with --clients equal to --workers for equal pools.
    config.reserved_concurrency =
        std::max<std::uint32_t>(workers, static_cast<std::uint32_t>(clients));
    (void)(*engine)->put_function(config);
    while ((*engine)->stats().idle < workers) std::this_thread::sleep_for(10ms);
    std::string key = config.key();
    const double cpu_before = process_cpu_us();
    const auto threads_before = thread_cpu_us();
    const auto machine_before = machine_cpu();
    LoadResult result = drive(clients, length, [&]() -> asio::awaitable<bool> {
      std::string body = payload;
      nimbus::engine::InvokeOptions invoke_options;
      auto answer = co_await (*engine)->invoke(key, std::move(body), std::move(invoke_options));
      co_return answer && answer->payload == payload;
    });
    // The journal's work for these invocations counts too; how long the
    // flush waits says how far behind the load it had fallen.
    const auto flush_start = Clock::now();
    ledger.journal->flush();
    result.flush_ms = std::chrono::duration<double, std::milli>(Clock::now() - flush_start).count();
    const double invocations = result.per_second * length.count();
    const auto threads_after = thread_cpu_us();
    const auto machine_after = machine_cpu();
    result.cpu_us_per_op = (process_cpu_us() - cpu_before) / invocations;
    const double machine_busy = machine_after.busy_us - machine_before.busy_us;
    const double machine_idle = machine_after.idle_us - machine_before.idle_us;
    result.machine_cpu_us_per_op = machine_busy / invocations;
    result.machine_idle = machine_idle / std::max(1.0, machine_busy + machine_idle);
    result.journal_cpu_us_per_op =
        thread_cpu_between(threads_before, threads_after, "nimbus-journal") / invocations;
    result.rocksdb_cpu_us_per_op =
        thread_cpu_between(threads_before, threads_after, "rocksdb:") / invocations;
    auto stats = (*engine)->stats();
    (*engine)->stop();
    fmt::print("engine instances at the end: {} (cold starts {})\n", stats.instances,
               stats.cold_starts);
    return result;
  };
  // --metering 0 / --logs 0 turn one of them off in the first
  // configuration, to see which costs what.
  const nimbus::ledger::Journal::Options as_run{.metering = args.get("metering", 1) != 0,
                                                .logs = args.get("logs", 1) != 0};
  const nimbus::ledger::Journal::Options unmetered{.metering = false, .logs = false};
  LoadResult engine_result, unmetered_result;
  std::vector<double> costs;  // per round
  // --only 1 / --only 2: just the first or the second configuration (profiling).
  if (const auto only = args.get("only", 0); only != 0) {
    (only == 1 ? engine_result : unmetered_result) =
        run_engine(only == 1 ? as_run : unmetered, length);
  } else {
    // In runs here the configuration that ran second in a process often
    // came out faster: a short run first, not counted, so neither starts
    // in a fresh process.
    if (args.get("warmup", 1) != 0) (void)run_engine(as_run, 1s);
    // Rounds of both, the order alternating (--unmetered-first says which
    // starts), so neither always gets the colder machine; medians of the rounds.
    const auto rounds = static_cast<std::size_t>(std::max(1.0, args.get("rounds", 1)));
    const bool unmetered_first = args.get("unmetered-first", 0) != 0;
    std::vector<LoadResult> metered_runs, unmetered_runs;
    for (std::size_t round = 0; round < rounds; ++round) {
      if ((round % 2 == 0) == unmetered_first) {
        unmetered_runs.push_back(run_engine(unmetered, length));
        metered_runs.push_back(run_engine(as_run, length));
      } else {
        metered_runs.push_back(run_engine(as_run, length));
        unmetered_runs.push_back(run_engine(unmetered, length));
      }
      costs.push_back(100.0 *
                      (1.0 - metered_runs.back().per_second / unmetered_runs.back().per_second));
    }
    auto medians = [](const std::vector<LoadResult>& runs) {
      auto median_of = [&](double LoadResult::*field) {
        std::vector<double> values;
        for (const auto& run : runs) values.push_back(run.*field);
        return median(values);
      };
      LoadResult result;
      for (auto field : {&LoadResult::per_second, &LoadResult::p50_us, &LoadResult::p99_us,
                         &LoadResult::cpu_us_per_op, &LoadResult::journal_cpu_us_per_op,
                         &LoadResult::rocksdb_cpu_us_per_op, &LoadResult::flush_ms,
                         &LoadResult::machine_cpu_us_per_op, &LoadResult::machine_idle}) {
        result.*field = median_of(field);
      }
      return result;
    };
    engine_result = medians(metered_runs);
    unmetered_result = medians(unmetered_runs);
  }
  ledgers.clear();
  fs::remove_all(dir);
  fmt::print("{:<28}{:>12}{:>12}{:>12}\n", "warm invoke", "per second", "p50 us", "p99 us");
  fmt::print("{:<28}{:>12.0f}{:>12.1f}{:>12.1f}\n", "relay (baseline)", relay_result.per_second,
             relay_result.p50_us, relay_result.p99_us);
  fmt::print("{:<28}{:>12.0f}{:>12.1f}{:>12.1f}\n", "nimbus engine", engine_result.per_second,
             engine_result.p50_us, engine_result.p99_us);
  fmt::print("{:<28}{:>12.0f}{:>12.1f}{:>12.1f}\n", "engine, no logs or metering",
             unmetered_result.per_second, unmetered_result.p50_us, unmetered_result.p99_us);
  fmt::print("throughput ratio engine/relay: {:.2f}\n",
             engine_result.per_second / relay_result.per_second);
  std::string per_round;
  for (double cost : costs)
    per_round += fmt::format("{}{:.1f}%", per_round.empty() ? "" : ", ", cost);
  // Two estimates of one cost. Each round runs both configurations back to
  // back, so its own cost is measured on one state of the machine; the
  // median of those is the headline. The ratio of the two configurations'
  // median rates can pair a fast round of one with a slow round of the
  // other, and is printed beside it.
  const double median_rates_cost =
      100.0 * (1.0 - engine_result.per_second / unmetered_result.per_second);
  fmt::print(
      "metering and log capture cost: {:.1f}% of throughput, median of the rounds' own "
      "(rounds: {}); {:.1f}% between the median rates\n",
      costs.empty() ? median_rates_cost : median(costs), per_round, median_rates_cost);
  fmt::print("engine process CPU per invocation: {:.1f} us, {:.1f} us without logs and metering\n",
             engine_result.cpu_us_per_op, unmetered_result.cpu_us_per_op);
  fmt::print("  of which the journal thread {:.2f} us and RocksDB's background threads {:.2f} us\n",
             engine_result.journal_cpu_us_per_op, engine_result.rocksdb_cpu_us_per_op);
  fmt::print(
      "machine CPU per invocation (every process and the kernel): {:.1f} us, {:.1f} us without; "
      "idle {:.0f}% and {:.0f}% of the time\n",
      engine_result.machine_cpu_us_per_op, unmetered_result.machine_cpu_us_per_op,
      100 * engine_result.machine_idle, 100 * unmetered_result.machine_idle);
  fmt::print("journal flush after the load: {:.1f} ms\n", engine_result.flush_ms);
  return 0;
}

// --------------------------------------------------------------- cold start

// The bare cost of the same process doing the same work: spawned with the
// Runtime API pointed at a listener here, it gets the same event in answer
// to its first request, and the clock stops when its response arrives (on
// the same connection or a new one: bash's curl opens one per request).
struct BareTimes {
  double first_request_us = -1;
  double result_us = -1;
};

BareTimes bare_times(const std::vector<std::string>& argv, std::vector<std::string> env,
                     const fs::path& cwd) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  env.push_back(
      fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", acceptor.local_endpoint().port()));
  auto begin = Clock::now();
  auto since_begin = [&] {
    return std::chrono::duration<double, std::micro>(Clock::now() - begin).count();
  };
  nimbus::env::SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = env;
  spawn.working_dir = cwd;
  spawn.stderr_fd = 2;  // a baseline that fails says why
  auto child = nimbus::env::spawn_process(spawn);
  if (!child) {
    std::cerr << child.error().message() << "\n";
    return {};
  }
  BareTimes times;
  // Every connection is read for requests: the first is answered with the
  // event, the first POST is the result.
  std::function<void(std::shared_ptr<tcp::socket>)> serve;
  std::function<void()> accept = [&] {
    auto socket = std::make_shared<tcp::socket>(io);
    acceptor.async_accept(*socket, [&, socket](boost::system::error_code error) {
      if (error) return;
      serve(socket);
      accept();
    });
  };
  serve = [&](std::shared_ptr<tcp::socket> socket) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto request = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *socket, *buffer, *request,
        [&, socket, buffer, request](boost::system::error_code error, std::size_t) {
          if (error) return;
          if (request->method() == http::verb::post) {
            times.result_us = since_begin();
            io.stop();
            return;
          }
          if (times.first_request_us < 0) times.first_request_us = since_begin();
          auto response = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
          response->set("Lambda-Runtime-Aws-Request-Id", "bare-request");
          response->set("Lambda-Runtime-Deadline-Ms",
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch() +
                                           std::chrono::seconds(60))
                                           .count()));
          response->set("Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:000000000000:function:bare");
          response->set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000");
          response->set(http::field::content_type, "application/json");
          response->body() = "{}";
          response->prepare_payload();
          http::async_write(*socket, *response,
                            [&, socket, response](boost::system::error_code error, std::size_t) {
                              if (!error) serve(socket);
                            });
        });
  };
  accept();
  asio::steady_timer limit(io, 30s);
  limit.async_wait([&](boost::system::error_code error) {
    if (!error) io.stop();
  });
  io.run();
  child->signal_group(SIGKILL);
  child->wait();
  return times;
}

int cold(const Args& args) {
  int runs = static_cast<int>(args.get("runs", 30));
  fs::path dir = scratch_dir();
  Ledger ledger(dir);
  auto options = engine_options(dir);
  if (args.get("process-isolation", 0) != 0)
    options.isolation = nimbus::engine::Isolation::kProcess;
  options.prepared_sandboxes = static_cast<std::size_t>(
      args.get("prepared-sandboxes", static_cast<double>(options.prepared_sandboxes)));
  auto engine = nimbus::engine::Engine::start(options, *ledger.journal);
  if (!engine) return 1;

  struct Case {
    std::string name;
    nimbus::engine::FunctionConfig config;
    std::vector<std::string> bare_argv;
    std::vector<std::string> bare_env;
  };
  std::vector<Case> cases;
  {
    auto config = native_function(dir, "cold-native");
    cases.push_back({"native (C++)", config, {(config.code_dir / "bootstrap").string()}, {}});
  }
  {
    auto config = native_function(dir, "cold-bash");  // then the script replaces the binary
    fs::path code = config.code_dir;
    fs::copy_file(fs::path(NIMBUS_TEST_FUNCTIONS_DIR) / "tutorial_bootstrap.sh", code / "bootstrap",
                  fs::copy_options::overwrite_existing);
    fs::permissions(code / "bootstrap",
                    fs::perms::all & ~fs::perms::others_write & ~fs::perms::group_write);
    cases.push_back({"bash + curl",
                     config,
                     {"/bin/bash", (code / "bootstrap").string()},
                     {"PATH=/usr/bin:/bin", "TMPDIR=/tmp"}});
  }
  {
    fs::path code = dir / "code" / "cold-node";
    fs::create_directories(code);
    std::ofstream(code / "index.mjs") << "export const handler = async (event) => event;\n";
    auto config = native_function(dir, "cold-node");
    config.code_dir = code;
    config.runtime = "nodejs20.x";
    config.handler = "index.handler";
    std::string runtime = std::string(NIMBUS_RUNTIMES_DIR) + "/node/bootstrap.mjs";
    cases.push_back({"node",
                     config,
                     {"/usr/bin/node", runtime},
                     {"_HANDLER=index.handler", "LAMBDA_TASK_ROOT=" + code.string()}});
  }
  {
    fs::path code = dir / "code" / "cold-python";
    fs::create_directories(code);
    std::ofstream(code / "app.py") << "def handler(event, context):\n    return event\n";
    auto config = native_function(dir, "cold-python");
    config.code_dir = code;
    config.runtime = "python3.11";
    config.handler = "app.handler";
    std::string runtime = std::string(NIMBUS_RUNTIMES_DIR) + "/python/bootstrap.py";
    cases.push_back({"python",
                     config,
                     {"/usr/bin/python3", "-u", runtime},
                     {"_HANDLER=app.handler", "LAMBDA_TASK_ROOT=" + code.string()}});
  }

  // "to result": invoke to result; "to first request": spawn to the
  // runtime's first request (Nimbus's init duration, which starts when the
  // instance is started).
  fmt::print("{:<14}{:>14}{:>14}{:>10}{:>14}{:>14}{:>10}{:>14}\n", "cold start", "bare result",
             "nimbus result", "added", "bare first", "nimbus init", "added", "nimbus p99");
  for (auto& c : cases) {
    std::vector<double> bare, bare_first, nimbus, init;
    for (int i = 0; i < runs; ++i) {
      // Interleaved, so drift on a shared machine hits both sides alike.
      auto times = bare_times(c.bare_argv, c.bare_env, c.config.code_dir);
      if (times.result_us < 0) {
        std::cerr << c.name << ": the bare process gave no result\n";
        return 1;
      }
      bare.push_back(times.result_us / 1000);
      bare_first.push_back(times.first_request_us / 1000);
      auto config = c.config;
      config.name = fmt::format("{}-{}", c.config.name, i);  // a new function: a new instance
      (void)(*engine)->put_function(config);
      asio::io_context io;
      auto begin = Clock::now();
      auto future =
          asio::co_spawn(io, (*engine)->invoke(config.key(), "{}", nimbus::engine::InvokeOptions{}),
                         asio::use_future);
      io.run();
      auto result = future.get();
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
      if (!result || !result->cold_start || !result->function_error.empty()) {
        std::cerr << c.name
                  << ": invoke failed: " << (result ? result->payload : result.error().message())
                  << "\n";
        return 1;
      }
      nimbus.push_back(ms);
      init.push_back(result->init_duration_ms);
      (*engine)->remove_function(config.key());
    }
    double bare50 = percentile(bare, 0.5), nimbus50 = percentile(nimbus, 0.5);
    double first50 = percentile(bare_first, 0.5), init50 = percentile(init, 0.5);
    fmt::print("{:<14}{:>14.2f}{:>14.2f}{:>10.2f}{:>14.2f}{:>14.2f}{:>10.2f}{:>14.2f}\n", c.name,
               bare50, nimbus50, nimbus50 - bare50, first50, init50, init50 - first50,
               percentile(nimbus, 0.99));
  }
  auto stats = (*engine)->stats();
  fmt::print("isolation: {}, cgroups: {}, cold starts in a prepared sandbox: {} of {}\n",
             stats.isolation, stats.cgroups, stats.prepared_starts, stats.cold_starts);
  (*engine)->stop();
  fs::remove_all(dir);
  return 0;
}

// ------------------------------------------------------------------ memory

std::uint64_t rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  }
  return 0;
}

int memory(const Args& args) {
  auto instances = static_cast<std::uint32_t>(args.get("instances", 50));
  fs::path dir = scratch_dir();
  Ledger ledger(dir);
  auto engine = nimbus::engine::Engine::start(engine_options(dir), *ledger.journal);
  if (!engine) return 1;
  // Warm up allocator pools with one instance first.
  auto warmup = native_function(dir, "mem-warmup");
  warmup.provisioned_concurrency = 1;
  (void)(*engine)->put_function(warmup);
  while ((*engine)->stats().idle < 1) std::this_thread::sleep_for(10ms);
  std::uint64_t before = rss_kb();
  auto config = native_function(dir, "mem");
  config.provisioned_concurrency = instances;
  (void)(*engine)->put_function(config);
  while ((*engine)->stats().idle < instances + 1) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(200ms);
  std::uint64_t after = rss_kb();
  fmt::print("server memory per idle warm instance: {:.1f} KiB ({} instances, RSS {} -> {} KiB)\n",
             static_cast<double>(after - before) / instances, instances, before, after);
  (*engine)->stop();
  fs::remove_all(dir);
  return 0;
}

// ------------------------------------------------------------------ journal

// Hands what `threads` warm invocations produce to `journal` for `length`;
// returns how many invocations were handed in.
std::uint64_t feed_journal(nimbus::ledger::Journal& journal, std::size_t threads, double rate,
                           std::chrono::duration<double> length) {
  const std::string group = "/aws/lambda/warm";
  std::atomic<std::uint64_t> done{0};
  std::vector<std::thread> appenders;
  for (std::size_t t = 0; t < threads; ++t) {
    appenders.emplace_back([&, t] {
      const std::string stream =
          fmt::format("2026/11/27/[$LATEST]{:032x}", static_cast<unsigned>(t + 1));
      journal.create_stream(group, stream, 0);
      const auto start = Clock::now();
      // Paced at `rate` invocations a second in all, in bursts of 8, as
      // warm invocations arrive; 0: as fast as the journal takes them.
      const auto burst_gap = std::chrono::duration<double>(rate > 0 ? 8.0 * threads / rate : 0);
      auto next_burst = start;
      std::uint64_t count = 0;
      nimbus::ledger::Usage usage;
      while (Clock::now() - start < length) {
        if (rate > 0) {
          next_burst += std::chrono::duration_cast<Clock::duration>(burst_gap);
          std::this_thread::sleep_until(next_burst);
        }
        for (int i = 0; i < 8; ++i, ++count) {
          const std::string id = nimbus::new_request_id();
          const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
          std::vector<nimbus::ledger::LogLine> lines;
          lines.push_back({now_us / 1000, fmt::format("START RequestId: {} Version: $LATEST", id)});
          lines.push_back({now_us / 1000, fmt::format("END RequestId: {}", id)});
          lines.push_back(
              {now_us / 1000, fmt::format("REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled "
                                          "Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: "
                                          "{} MB",
                                          id, 0.31, 1, 128, 9)});
          nimbus::engine::UsageRecord record;
          record.function = "warm";
          record.version = "$LATEST";
          record.request_id = id;
          record.start_time_us = now_us;
          record.duration_ms = 0.31;
          record.billed_ms = 1;
          record.memory_mb = 128;
          record.bytes_in = 40;
          record.bytes_out = 40;
          record.concurrency = 8;
          record.account_concurrency = 8;
          // As an instance does: one record refilled invocation after invocation.
          nimbus::engine::fill_usage(record, usage);
          journal.append(group, stream, lines, &usage);
        }
      }
      done += count;
    });
  }
  for (auto& appender : appenders) appender.join();
  return done.load();
}

// CPU per invocation of a journal on a new store, counted after `warmup`
// of the same load (a new store's memtables fault in fresh pages until the
// memory RocksDB and malloc recycle has grown to its working size).
double journal_cpu_us(const fs::path& dir, nimbus::ledger::Journal::Options options,
                      std::size_t threads, double rate, std::chrono::duration<double> warmup,
                      std::chrono::duration<double> length, std::uint64_t* invocations = nullptr) {
  fs::remove_all(dir / "store");
  Ledger ledger(dir, options);
  if (warmup.count() > 0) {
    feed_journal(*ledger.journal, threads, rate, warmup);
    ledger.journal->flush();
  }
  const double cpu_before = process_cpu_us();
  const auto done = feed_journal(*ledger.journal, threads, rate, length);
  ledger.journal->flush();
  if (invocations != nullptr) *invocations = done;
  return (process_cpu_us() - cpu_before) / static_cast<double>(done);
}

int journal(const Args& args) {
  auto threads = static_cast<std::size_t>(args.get("threads", 2));
  const double rate = args.get("rate", 10'000);
  std::chrono::duration<double> warmup(args.get("warmup", 0));
  std::chrono::duration<double> length(args.get("seconds", 4));
  fs::path dir = scratch_dir();
  auto measure = [&](bool metering, bool logs) {
    return journal_cpu_us(dir, {.metering = metering, .logs = logs}, threads, rate, warmup, length);
  };
  if (args.get("profile", 0) != 0) {
    std::uint64_t invocations = 0;
    const double both = journal_cpu_us(dir, {}, threads, rate, warmup, length, &invocations);
    fs::remove_all(dir);
    fmt::print("journal, {} threads at {:.0f} invocations/s: {} invocations, {:.2f} us each\n",
               threads, rate, invocations, both);
    return 0;
  }
  const double both = measure(true, true);
  const double logs = measure(false, true);
  const double metering = measure(true, false);
  // What producing the lines and records costs the bench itself.
  const double neither = measure(false, false);
  fs::remove_all(dir);
  fmt::print("journal, {} threads at {:.0f} invocations/s, after {:.0f} s of warm-up\n", threads,
             rate, warmup.count());
  fmt::print("  CPU per invocation, us: logs and metering {:.2f}, logs {:.2f}, metering {:.2f}\n",
             both - neither, logs - neither, metering - neither);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: engine_bench warm|cold|memory|journal [--name value]...\n";
    return 2;
  }
  Args args;
  for (int i = 2; i + 1 < argc; i += 2)
    args.values[std::string(argv[i]).substr(2)] = std::stod(argv[i + 1]);
  std::string mode = argv[1];
  if (mode == "warm") return warm(args);
  if (mode == "cold") return cold(args);
  if (mode == "memory") return memory(args);
  if (mode == "journal") return journal(args);
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
