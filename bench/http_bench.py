#!/usr/bin/python3
"""HTTP front-door benchmark: requests/s and p50/p99 latency of
GET /_nimbus/health and of STS GetCallerIdentity (awsQuery POST), on Nimbus
and on bench/baseline_http_server (a minimal Beast server answering the same
bodies), measured by wrk in the same run, alternating, and the ratio of
medians.

    bench/http_bench.py [--seconds 5] [--rounds 3] [--connections 16]

Needs a release build (scripts/build.sh) and wrk (scripts/install-deps.sh).
"""

import argparse
import os
import pathlib
import re
import statistics
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"

STS_LUA = """
wrk.method = "POST"
wrk.body = "Action=GetCallerIdentity&Version=2011-06-15"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
wrk.headers["X-Amz-Date"] = "20261126T120000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=bench/20261126/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"
"""


def start(args):
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    port = re.search(r"(?:listening on (?:http://127\.0\.0\.1:)?)(\d+)", line)
    if not port:
        process.kill()
        raise SystemExit(f"could not start {args[0]}: {line!r}")
    return process, int(port.group(1))


def to_ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections, script=None):
    args = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    if script:
        args[1:1] = ["-s", script]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return rps, p50, p99


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    threads = os.cpu_count()

    with tempfile.TemporaryDirectory() as tmp:
        script = pathlib.Path(tmp) / "sts.lua"
        script.write_text(STS_LUA)
        nimbus, nimbus_port = start([str(BUILD / "app" / "nimbus"), "server", "--listen", "127.0.0.1:0",
                                     "--data-dir", f"{tmp}/data", "--log-level", "warn",
                                     "--io-threads", str(threads)])
        baseline, baseline_port = start([str(BUILD / "bench" / "baseline_http_server"), "0", str(threads)])
        try:
            print(f"wrk -t1 -c{options.connections} -d{options.seconds}s, {options.rounds} rounds "
                  f"alternating, {threads} server threads each; medians")
            print(f"{'request':<22}{'server':<10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            for name, path, lua in [("GET /_nimbus/health", "/_nimbus/health", None),
                                    ("STS GetCallerIdentity", "/", str(script))]:
                results = {"nimbus": [], "baseline": []}
                for _ in range(options.rounds):
                    for who, port in [("nimbus", nimbus_port), ("baseline", baseline_port)]:
                        results[who].append(wrk(f"http://127.0.0.1:{port}{path}", options.seconds,
                                                options.connections, lua))
                medians = {}
                for who, runs in results.items():
                    medians[who] = [statistics.median(r[i] for r in runs) for i in range(3)]
                    rps, p50, p99 = medians[who]
                    print(f"{name:<22}{who:<10}{rps:>10.0f}{p50:>9.3f}{p99:>9.3f}")
                ratio = medians["nimbus"][0] / medians["baseline"][0]
                print(f"{name:<22}{'ratio':<10}{ratio:>10.2f}  (nimbus req/s / baseline req/s)")
        finally:
            for process in (nimbus, baseline):
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
