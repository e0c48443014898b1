#!/usr/bin/python3
"""API Gateway HTTP API benchmark, each row beside a baseline measured in the
same run:

  gateway  requests/s and p50/p99 of POST through an HTTP API route (payload
           2.0, $default stage) to a warm native function and to a warm
           Node.js function, driven by wrk at 1 and 16 connections, beside the
           direct Lambda Invoke API to the same function: the ratio is what the
           gateway costs.
  peer     the same HTTP load against the npm package serverless-offline
           (with the serverless framework v3, which it plugs into) serving an
           equivalent Node.js handler behind an httpApi route.

    bench/apigateway_bench.py [--seconds 5] [--rounds 3] [--warmup 20]

Nimbus's Node.js rows are measured warm: before their rounds, its Node.js
targets (the Invoke API, the route) take load at the row's connection count
for --warmup seconds. Each instance is its own node process and warms up on
its own (its JIT, its heap), and 16 of them took tens of seconds to reach
the rate they keep (here, through the Invoke API at 16 connections: 2.4k
requests/s in the first 4 s, 4.9k in the fifth round of 4 s, 4.3k-6.8k in
the five rounds after). serverless-offline keeps the one-second warm-up
every target had before: it is at its fastest in its first seconds and
slows as it runs (here: 1.4k requests/s in the first 4 s, 0.7k in the
eighth round of 4 s), so longer would only flatter the ratio.

Needs a release build (scripts/build.sh), wrk, and npm for serverless-offline
(installed once into ~/.cache/nimbus).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import lambda_bench as common  # noqa: E402  (wrk, function creation, result rows)

SERVERLESS_VERSION = "3.40.0"
SERVERLESS_OFFLINE_VERSION = "13.3.3"
PEER_PORT = 18232
NODE_HANDLER = "exports.handler = async (event) => ({ statusCode: 200, body: event.body });\n"
SERVERLESS_YML = f"""service: nimbus-bench
frameworkVersion: "3"
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
functions:
  echo:
    handler: handler.handler
    events:
      - httpApi:
          method: POST
          path: /node
plugins:
  - serverless-offline
custom:
  serverless-offline:
    httpPort: {PEER_PORT}
    lambdaPort: {PEER_PORT + 1}
    noPrependStageInUrl: true
"""


def serverless_offline_dir():
    """The framework and plugin, installed once; the service is written beside them
    (the framework loads plugins from the service's own node_modules)."""
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "nimbus" / \
        f"bench-serverless-offline-{SERVERLESS_VERSION}-{SERVERLESS_OFFLINE_VERSION}"
    if not (cache / "node_modules" / ".bin" / "serverless").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=cache, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"serverless@{SERVERLESS_VERSION}",
                        f"serverless-offline@{SERVERLESS_OFFLINE_VERSION}"],
                       cwd=cache, check=True, capture_output=True)
    (cache / "serverless.yml").write_text(SERVERLESS_YML)
    (cache / "handler.js").write_text(NODE_HANDLER)
    return cache


def start_peer():
    directory = serverless_offline_dir()
    env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off")
    peer = subprocess.Popen([str(directory / "node_modules" / ".bin" / "serverless"), "offline", "start"],
                            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{PEER_PORT}/node", data=b"{}", method="POST")
            with urllib.request.urlopen(request, timeout=5):
                return peer
        except OSError:
            time.sleep(0.5)
    peer.terminate()
    raise SystemExit("serverless-offline did not start")


def http_api(endpoint):
    api_id = json.loads(common.call(endpoint, "POST", "/v2/apis", {"name": "bench", "protocolType": "HTTP"}))["apiId"]
    for name in ("native", "node"):
        integration = json.loads(common.call(endpoint, "POST", f"/v2/apis/{api_id}/integrations", {
            "integrationType": "AWS_PROXY", "payloadFormatVersion": "2.0",
            "integrationUri": f"arn:aws:lambda:us-east-1:000000000000:function:{name}"}))["integrationId"]
        common.call(endpoint, "POST", f"/v2/apis/{api_id}/routes",
                    {"routeKey": f"POST /{name}", "target": f"integrations/{integration}"})
    common.call(endpoint, "POST", f"/v2/apis/{api_id}/stages", {"stageName": "$default", "autoDeploy": True})
    return api_id


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20, help="seconds of load before Node.js rows")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        nimbus, endpoint = common.start_nimbus(tmp)
        peer = None
        try:
            native = (common.BUILD / "src" / "nimbus" / "engine" / "engine_native_echo").read_bytes()
            common.create(endpoint, "native", "provided.al2023", "unused",
                          common.zip_of({"bootstrap": (native, 0o755)}))
            common.create(endpoint, "node", "nodejs20.x", "handler.handler",
                          common.zip_of({"handler.js": (NODE_HANDLER.encode(), 0o644)}))
            api_id = http_api(endpoint)
            body = common.PAYLOAD
            gateway_lua = common.wrk_script(tmp / "gateway.lua", body, {"Content-Type": "application/json"})
            # The Invoke API gets the event the gateway builds (the native
            # echo function answers a request through the gateway with it),
            # so the function sees the same work either way and the rows
            # differ by what the gateway itself does.
            request = urllib.request.Request(f"{endpoint}/_aws/execute-api/{api_id}/native", method="POST",
                                             data=body.encode(), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                event = response.read().decode()
            assert json.loads(event)["routeKey"] == "POST /native", event
            invoke_lua = common.wrk_script(tmp / "invoke.lua", event, {"Content-Type": "application/json"})

            print(f"gateway: HTTP API route (payload 2.0) vs the Invoke API, body {len(body)} bytes; "
                  f"wrk -t1, {options.rounds} rounds of {options.seconds} s alternating; medians")
            print(f"  {'':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            for name in ("native", "node"):
                gateway_url = f"{endpoint}/_aws/execute-api/{api_id}/{name}"
                invoke_url = f"{endpoint}/2015-03-31/functions/{name}/invocations"
                for connections in (1, 16):
                    warmup = options.warmup if name == "node" else 1
                    common.warm_up(invoke_url, connections, invoke_lua, warmup)
                    common.warm_up(gateway_url, connections, gateway_lua, warmup)
                    direct, gateway = [], []
                    for _ in range(options.rounds):
                        direct.append(common.wrk(invoke_url, options.seconds, connections, invoke_lua))
                        gateway.append(common.wrk(gateway_url, options.seconds, connections, gateway_lua))
                    direct, gateway = common.median_of(direct), common.median_of(gateway)
                    common.row(f"{name}: Invoke API, {connections} conn (baseline)", direct)
                    common.row(f"{name}: HTTP API, {connections} conn", gateway)
                    print(f"  throughput ratio gateway/invoke: {gateway[0] / direct[0]:.2f} "
                          f"(the gateway costs {100 * (1 - gateway[0] / direct[0]):.0f}%)")

            peer = start_peer()
            print(f"\npeer: the same Node.js handler behind an httpApi route; Nimbus vs serverless-offline "
                  f"{SERVERLESS_OFFLINE_VERSION} (serverless {SERVERLESS_VERSION}); medians of {options.rounds} rounds")
            print(f"  {'':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            for connections in (1, 16):
                ours_url = f"{endpoint}/_aws/execute-api/{api_id}/node"
                theirs_url = f"http://127.0.0.1:{PEER_PORT}/node"
                common.warm_up(theirs_url, connections, gateway_lua)
                common.warm_up(ours_url, connections, gateway_lua, options.warmup)
                ours, theirs = [], []
                for _ in range(options.rounds):
                    ours.append(common.wrk(ours_url, options.seconds, connections, gateway_lua))
                    theirs.append(common.wrk(theirs_url, options.seconds, connections, gateway_lua))
                ours, theirs = common.median_of(ours), common.median_of(theirs)
                common.row(f"serverless-offline, {connections} conn", theirs)
                common.row(f"Nimbus, {connections} conn", ours)
                print(f"  Nimbus/serverless-offline: throughput {ours[0] / theirs[0]:.1f}x, "
                      f"p99 {theirs[2] / ours[2]:.1f}x lower")
        finally:
            nimbus.terminate()
            nimbus.wait()
            if peer:
                peer.terminate()
                peer.wait()


if __name__ == "__main__":
    main()
