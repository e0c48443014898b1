#!/usr/bin/python3
"""Instructions per request, counted by callgrind: the measure that does not
move with the machine's load, for changes too small to see through wrk's
noise on a shared machine.

Starts `nimbus server` under valgrind's callgrind (instrumentation off until
a scenario runs), sends each scenario's requests one at a time over one
kept-alive connection, and prints the instructions each thread spent per
request while that scenario ran.

  invoke    POST /2015-03-31/functions/native/invocations with the event the
            gateway builds (captured from the echo function first), so it is
            the gateway row's baseline
  gateway   POST through an HTTP API route (payload 2.0) to the same function
  PutItem, GetItem, health
            as bench/dynamodb_bench.py sends them (1 KB items)

    bench/request_instructions.py [--requests 3000] [scenario ...]

Needs valgrind and a release build. Functions run with process isolation:
valgrind does not follow the sandbox's clone. The journal thread batches
fewer records than at full speed (requests are ~50x slower under valgrind),
so its count per request is higher than it is in production; the I/O
threads' counts are what to compare between builds. Thread numbers are
callgrind's: the busiest is the event loop that served the requests (and,
for Lambda, the function's Runtime API, which runs on the caller's loop).
"""

import argparse
import http.client
import json
import pathlib
import random
import re
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import apigateway_bench  # noqa: E402  (the HTTP API the gateway row uses)
import dynamodb_bench  # noqa: E402  (tables, items and the SigV4 header shape)
import lambda_bench as common  # noqa: E402

SCENARIOS = ("invoke", "gateway", "PutItem", "GetItem", "health")
PRELOADED = 2000


def start(tmp):
    out = tmp / "callgrind.%p"
    # valgrind refuses a change of the file limit's hard value unless it is
    # its own: functions' instances set theirs to 1024, so start from that
    # plus valgrind's reserved descriptors.
    command = (f"ulimit -n 1036 && exec valgrind --tool=callgrind --instr-atstart=no "
               f"--separate-threads=yes --callgrind-out-file={out} "
               f"{common.BUILD / 'app' / 'nimbus'} server --listen 127.0.0.1:0 --data-dir {tmp / 'data'} "
               f"--log-level warn --isolation process "
               f"--apigateway-rate-limit 1000000 --apigateway-burst-limit 1000000")
    process = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE,
                               stderr=open(tmp / "server.log", "w"), text=True)
    endpoint = re.search(r"listening on (http://\S+)", process.stdout.readline()).group(1)
    return process, endpoint


def requests_for(scenario):
    """What to send, request by request: (method, path, body, headers)."""
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Date": "20261127T120000Z",
               "Authorization": dynamodb_bench.AUTH}
    value = "x" * 1000

    def make():
        if scenario == "health":
            return "GET", "/_nimbus/health", None, {}
        if scenario == "PutItem":
            body = {"TableName": "writes", "Item": {"pk": {"S": f"w{random.randint(1, 10**9)}"},
                                                    "v": {"S": value}}}
        else:
            body = {"TableName": "bench", "Key": {"pk": {"S": f"k{random.randint(0, PRELOADED - 1)}"}}}
        return "POST", "/", json.dumps(body, separators=(",", ":")), dict(
            headers, **{"X-Amz-Target": "DynamoDB_20120810." + scenario})
    return make


def drive(endpoint, make, count):
    url = urllib.parse.urlparse(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port)
    for _ in range(count):
        method, path, body, headers = make()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200 or b"errorMessage" in data:
            raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    connection.close()


def per_thread(tmp, pid, dump, count):
    """Instructions per request of each thread that did work in this dump."""
    rows = []
    for path in sorted(tmp.glob(f"callgrind.{pid}.{dump}-*")):
        summary = next((line for line in path.read_text(errors="replace").splitlines()
                        if line.startswith("summary:")), None)
        if summary is None:
            continue
        total = int(summary.split()[1])
        if 0 < total < 2**62 and total / count >= 100:
            rows.append((path.name.rsplit("-", 1)[1], total / count))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    options = parser.parse_args()
    unknown = set(options.scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")

    print(f"instructions per request, by thread (callgrind; {options.requests} requests each, "
          f"one connection, a fresh server per scenario)")
    for scenario in options.scenarios:
        rows = measure(scenario, options.requests)
        threads = "  ".join(f"thread {name}: {value / 1000:.1f}k" for name, value in rows)
        print(f"  {scenario:<8} {threads}", flush=True)


def measure(scenario, count):
    """One scenario on its own server: callgrind's counts stay whole only
    for a single dump when threads are counted apart."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        # Process isolation runs functions as a sandbox user, who must be able
        # to reach the code under the data directory.
        tmp.chmod(0o755)
        nimbus, endpoint = start(tmp)
        try:
            if scenario in ("invoke", "gateway"):
                native = (common.BUILD / "src" / "nimbus" / "engine" / "engine_native_echo").read_bytes()
                common.create(endpoint, "native", "provided.al2023", "unused",
                              common.zip_of({"bootstrap": (native, 0o755)}))
                api_id = apigateway_bench.http_api(endpoint)
                gateway_path = f"/_aws/execute-api/{api_id}/native"
                event = common.call(endpoint, "POST", gateway_path, json.loads(common.PAYLOAD)).decode()
                json_headers = {"Content-Type": "application/json"}
                if scenario == "invoke":
                    make = lambda: ("POST", "/2015-03-31/functions/native/invocations",  # noqa: E731
                                    event, json_headers)
                else:
                    make = lambda: ("POST", gateway_path, common.PAYLOAD, json_headers)  # noqa: E731
            else:
                if scenario != "health":
                    dynamodb_bench.PRELOADED, dynamodb_bench.PARTITIONS = PRELOADED, 20
                    dynamodb_bench.prepare(endpoint)
                make = requests_for(scenario)
            drive(endpoint, make, 200)  # warm: instances, caches
            subprocess.run(["callgrind_control", "-i", "on", str(nimbus.pid)], capture_output=True)
            drive(endpoint, make, count)
            subprocess.run(["callgrind_control", "-d", scenario, str(nimbus.pid)], capture_output=True)
            return per_thread(tmp, nimbus.pid, 1, count)
        except BaseException:
            print((tmp / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            nimbus.terminate()
            nimbus.wait()

if __name__ == "__main__":
    main()
