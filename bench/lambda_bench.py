#!/usr/bin/python3
"""Lambda Invoke API benchmark, each row beside a baseline measured in the
same run:

  api    invocations/s and p50/p99 of POST /2015-03-31/functions/<f>/invocations
         (what `aws lambda invoke` sends) on a warm native function, driven by
         wrk at 1 and 16 connections, beside the engine alone invoking the same
         function binary with as many concurrent invokers (build/bench/engine_bench
         warm): the ratio is what the HTTP API layer costs.
  peer   the same HTTP load against an equivalent Node.js handler on Nimbus
         (nodejs20.x) and on the npm package lambda-local (its --watch HTTP
         server, which runs the handler in its own process without isolation).

    bench/lambda_bench.py [--seconds 5] [--rounds 3]

Needs a release build (scripts/build.sh), wrk, and npm for lambda-local
(installed once into ~/.cache/nimbus).
"""

import argparse
import io
import json
import os
import pathlib
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
LAMBDA_LOCAL_VERSION = "2.2.0"
PAYLOAD = '{"op":"echo","data":"0123456789abcdef"}'
NODE_HANDLER = "exports.handler = async (event) => event;\n"


def wrk_script(path, body, headers):
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def to_ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections, script):
    out = subprocess.run(["wrk", "-s", str(script), "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            to_ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
            to_ms(re.search(r"\s99%\s+(\S+)", out).group(1)))


def engine_only(workers, seconds):
    out = subprocess.run([str(BUILD / "bench" / "engine_bench"), "warm", "--workers", str(workers),
                          "--clients", str(workers), "--seconds", str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("nimbus engine"):
            rps, p50_us, p99_us = (float(x) for x in line.split()[-3:])
            return rps, p50_us / 1000, p99_us / 1000
    raise SystemExit(f"engine_bench printed no result:\n{out}")


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def lambda_local_dir():
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "nimbus" / \
        f"bench-lambda-local-{LAMBDA_LOCAL_VERSION}"
    if not (cache / "node_modules" / ".bin" / "lambda-local").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=cache, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"lambda-local@{LAMBDA_LOCAL_VERSION}"],
                       cwd=cache, check=True, capture_output=True)
    return cache


def start_nimbus(tmp):
    # API Gateway's account throttle defaults to AWS's 10,000 requests a
    # second, which the gateway rows now pass: raised, as an AWS account
    # would ask for a quota increase, so the rows measure the gateway.
    process = subprocess.Popen([str(BUILD / "app" / "nimbus"), "server", "--listen", "127.0.0.1:0",
                                "--data-dir", f"{tmp}/data", "--log-level", "warn",
                                "--apigateway-rate-limit", "1000000",
                                "--apigateway-burst-limit", "1000000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = re.search(r"listening on (http://\S+)", process.stdout.readline()).group(1)
    return process, endpoint


def call(endpoint, method, path, body=None):
    request = urllib.request.Request(endpoint + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def create(endpoint, name, runtime, handler, zip_bytes):
    import base64
    call(endpoint, "POST", "/2015-03-31/functions", {
        "FunctionName": name, "Runtime": runtime, "Handler": handler,
        "Role": "arn:aws:iam::000000000000:role/bench", "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()}})


def warm_up(url, connections, script, seconds=1):
    # Starts as many instances as there will be connections (and, given
    # longer, lets them warm up), then lets them idle.
    subprocess.run(["wrk", "-s", str(script), "-t", "1", "-c", str(connections), "-d", f"{seconds}s", url],
                   capture_output=True, check=True)


def row(label, values):
    rps, p50, p99 = values
    print(f"  {label:<34}{rps:>10.0f}{p50:>9.2f}{p99:>9.2f}")


def median_of(rows):
    return tuple(statistics.median(r[i] for r in rows) for i in range(3))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        nimbus, endpoint = start_nimbus(tmp)
        peer = None
        try:
            native = (BUILD / "src" / "nimbus" / "engine" / "engine_native_echo").read_bytes()
            create(endpoint, "native", "provided.al2023", "unused", zip_of({"bootstrap": (native, 0o755)}))
            create(endpoint, "node", "nodejs20.x", "index.handler",
                   zip_of({"index.js": (NODE_HANDLER.encode(), 0o644)}))
            invoke_lua = wrk_script(tmp / "invoke.lua", PAYLOAD, {"Content-Type": "application/json"})

            print(f"api: warm native function (provided.al2023), payload {len(PAYLOAD)} bytes; "
                  f"wrk -t1, {options.rounds} rounds of {options.seconds} s alternating; medians")
            print(f"  {'':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            for connections in (1, 16):
                url = f"{endpoint}/2015-03-31/functions/native/invocations"
                warm_up(url, connections, invoke_lua)
                api, engine = [], []
                for _ in range(options.rounds):
                    api.append(wrk(url, options.seconds, connections, invoke_lua))
                    engine.append(engine_only(connections, options.seconds))
                api, engine = median_of(api), median_of(engine)
                row(f"engine only, {connections} invokers (baseline)", engine)
                row(f"Invoke API, {connections} connections", api)
                print(f"  throughput ratio API/engine: {api[0] / engine[0]:.2f} "
                      f"(the API layer costs {100 * (1 - api[0] / engine[0]):.0f}%)")

            peer_dir = lambda_local_dir()
            (tmp / "handler.js").write_text(NODE_HANDLER)
            peer = subprocess.Popen([str(peer_dir / "node_modules" / ".bin" / "lambda-local"), "-l",
                                     str(tmp / "handler.js"), "-h", "handler", "--watch", "18231", "-v", "-1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            peer_lua = wrk_script(tmp / "peer.lua", json.dumps({"event": json.loads(PAYLOAD)}),
                                  {"Content-Type": "application/json"})
            print(f"\npeer: the same Node.js handler; Nimbus nodejs20.x vs lambda-local {LAMBDA_LOCAL_VERSION} "
                  f"--watch; medians of {options.rounds} rounds")
            print(f"  {'':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            for connections in (1, 16):
                url = f"{endpoint}/2015-03-31/functions/node/invocations"
                warm_up(url, connections, invoke_lua)
                ours, theirs = [], []
                for _ in range(options.rounds):
                    ours.append(wrk(url, options.seconds, connections, invoke_lua))
                    theirs.append(wrk("http://127.0.0.1:18231/", options.seconds, connections, peer_lua))
                ours, theirs = median_of(ours), median_of(theirs)
                row(f"lambda-local, {connections} connections", theirs)
                row(f"Nimbus, {connections} connections", ours)
                print(f"  throughput ratio Nimbus/lambda-local: {ours[0] / theirs[0]:.2f}")
        finally:
            nimbus.terminate()
            nimbus.wait()
            if peer:
                peer.terminate()
                peer.wait()


if __name__ == "__main__":
    main()
