#!/usr/bin/python3
"""Storage interface overhead against raw RocksDB, measured in one run:
runs build/bench/storage_bench (Google Benchmark) with repetitions,
interleaving the two sides, and prints the median time per operation of each
and the ratio (store / raw; 1.00 = no overhead).

    bench/storage_bench.py [--repetitions 5] [--min-time 0.5]
"""

import argparse
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5)
    options = parser.parse_args()
    out = subprocess.run(
        [str(ROOT / "build" / "bench" / "storage_bench"), "--benchmark_format=json",
         f"--benchmark_repetitions={options.repetitions}", "--benchmark_enable_random_interleaving=true",
         f"--benchmark_min_time={options.min_time}", "--benchmark_report_aggregates_only=true"],
        capture_output=True, text=True, check=True).stdout
    medians = {}
    for bench in json.loads(out)["benchmarks"]:
        if bench.get("aggregate_name") == "median":
            medians[bench["run_name"]] = bench["real_time"] if bench["time_unit"] == "ns" else None
    print(f"{'operation':<14}{'store ns':>12}{'raw ns':>12}{'ratio':>8}")
    for operation in ["Put", "Get", "Scan100", "Transaction"]:
        store = medians[f"BM_{operation}_Store"]
        raw = medians[f"BM_{operation}_Raw"]
        print(f"{operation:<14}{store:>12.0f}{raw:>12.0f}{store / raw:>8.2f}")


if __name__ == "__main__":
    main()
