#!/usr/bin/python3
"""Functions engine benchmarks, each beside a baseline measured in the same
run (build/bench/engine_bench does the measuring):

  warm    invocations/s and p50/p99 of a native function through the engine
          (as it runs, and with metering and log capture off, to show their cost),
          beside a minimal Runtime API relay with the same worker binary and
          worker count; repeated (rounds within a run, after a warm-up run,
          the order alternating), medians, and the ratio; metering's cost is
          the median of every round's own (both configurations back to back)
  cold    cold start per runtime (invoke to result, and spawn to first request)
          beside the bare process doing the same (spawned, given the same
          event, until its response), with sandboxes prepared ahead of need
          and without
  memory  server memory per idle warm instance
  journal the journal's own CPU per invocation (log lines and usage record),
          fed directly at 10,000 invocations/s: where metering's cost goes

    bench/engine_bench.py [--runs 3] [--rounds 3] [--seconds 3]
"""

import argparse
import pathlib
import re
import statistics
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT / "build" / "bench" / "engine_bench"


def warm(workers, clients, seconds, runs, rounds):
    relay, engine, unmetered, journal, round_costs = [], [], [], [], []
    for run in range(runs):
        out = subprocess.run([str(BENCH), "warm", "--workers", str(workers), "--clients", str(clients),
                              "--seconds", str(seconds), "--unmetered-first", str(run % 2),
                              "--rounds", str(rounds)],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            fields = line.split()
            if line.startswith("relay"):
                relay.append([float(x) for x in fields[-3:]])
            elif line.startswith("nimbus engine"):
                engine.append([float(x) for x in fields[-3:]])
            elif line.startswith("engine, no logs or metering"):
                unmetered.append([float(x) for x in fields[-3:]])
            elif line.startswith("engine process CPU per invocation"):
                cpu = [float(x) for x in re.findall(r"([\d.]+) us", line)]
            elif line.startswith("metering and log capture cost"):
                rounds_text = re.search(r"\(rounds: ([^)]*)\)", line).group(1)
                round_costs += [float(x) for x in re.findall(r"(-?[\d.]+)%", rounds_text)]
            elif "of which the journal thread" in line:
                journal.append(cpu + [float(x) for x in re.findall(r"([\d.]+) us", line)])
    med = lambda rows, i: statistics.median(r[i] for r in rows)
    print(f"warm, {workers} workers, {clients} concurrent invokers, median of {runs} runs "
          f"(each the median of {rounds} rounds of {seconds} s per configuration)")
    print(f"  {'':<18}{'per second':>12}{'p50 us':>10}{'p99 us':>10}")
    print(f"  {'relay (baseline)':<18}{med(relay, 0):>12.0f}{med(relay, 1):>10.0f}{med(relay, 2):>10.0f}")
    print(f"  {'nimbus engine':<18}{med(engine, 0):>12.0f}{med(engine, 1):>10.0f}{med(engine, 2):>10.0f}")
    print(f"  {'no logs, metering':<18}{med(unmetered, 0):>12.0f}{med(unmetered, 1):>10.0f}{med(unmetered, 2):>10.0f}")
    print(f"  throughput ratio engine/relay: {med(engine, 0) / med(relay, 0):.2f}")
    # Each round runs both configurations back to back: its own cost is
    # measured on one state of the machine, and the median of all rounds'
    # is the headline; the ratio of median rates is printed beside it.
    quartiles = ""
    if len(round_costs) >= 2:
        low, _, high = statistics.quantiles(round_costs, n=4)
        quartiles = f" (quartiles {low:.1f}% to {high:.1f}%)"
    print(f"  metering and log capture cost: {statistics.median(round_costs):.1f}% of throughput, "
          f"median of all {len(round_costs)} rounds' own{quartiles}; "
          f"{100 * (1 - med(engine, 0) / med(unmetered, 0)):.1f}% between the median rates (per run: "
          f"{', '.join(f'{100 * (1 - e[0] / u[0]):.1f}%' for e, u in zip(engine, unmetered))})")
    print(f"  engine process CPU per invocation: {med(journal, 0):.1f} us, {med(journal, 1):.1f} us "
          f"without logs and metering; the journal thread's {med(journal, 2):.2f} us and RocksDB's "
          f"background threads' {med(journal, 3):.2f} us of it (medians)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=30)
    options = parser.parse_args()
    warm(2, 2, options.seconds, options.runs, options.rounds)
    warm(2, 16, options.seconds, options.runs, options.rounds)
    warm(16, 16, options.seconds, options.runs, options.rounds)
    print("cold start, sandboxes prepared ahead of need (the default)")
    print(subprocess.run([str(BENCH), "cold", "--runs", str(options.cold_runs)],
                         capture_output=True, text=True, check=True).stdout)
    print("cold start, each sandbox made at its cold start (--prepared-sandboxes 0)")
    print(subprocess.run([str(BENCH), "cold", "--runs", str(options.cold_runs),
                          "--prepared-sandboxes", "0"],
                         capture_output=True, text=True, check=True).stdout)
    print(subprocess.run([str(BENCH), "memory", "--instances", "50"],
                         capture_output=True, text=True, check=True).stdout)
    print(subprocess.run([str(BENCH), "journal", "--seconds", str(options.seconds)],
                         capture_output=True, text=True, check=True).stdout)


if __name__ == "__main__":
    main()
