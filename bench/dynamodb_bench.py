#!/usr/bin/python3
"""DynamoDB benchmark, each row beside baselines measured in the same run:

  peer     PutItem, GetItem and Query of 1 KB items over HTTP at 1 and 16
           connections, Nimbus beside the npm package dynalite (Node.js on
           LevelDB) driven by the same wrk scripts, alternating rounds.
  front    PutItem beside GET /_nimbus/health on the same server: how close
           a durable write comes to the cheapest request Nimbus answers.
  sync     with --sync, PutItem on a server started with --durability=sync,
           beside this disk's fsync rate (write + fsync of 1 KB, one writer).

    bench/dynamodb_bench.py [--seconds 5] [--rounds 3] [--sync]

Needs a release build (scripts/build.sh), wrk, and npm for dynalite
(installed once into ~/.cache/nimbus).
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import lambda_bench as common  # noqa: E402  (wrk, rows, medians)

DYNALITE_VERSION = "3.2.2"
PEER_PORT = 18240
PRELOADED = 20_000          # GetItem keys
PARTITIONS = 200            # Query partitions of ...
PER_PARTITION = 50          # ... this many items; each Query returns 10
VALUE = "x" * 1000          # with the key, a 1 KB item
# A well-formed SigV4 header: Nimbus with --auth off and dynalite check its
# shape, not its signature.
AUTH = ("AWS4-HMAC-SHA256 Credential=bench/20261127/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)

LUA_COMMON = f"""
local headers = {{}}
headers["Content-Type"] = "application/x-amz-json-1.0"
headers["X-Amz-Date"] = "20261127T120000Z"
headers["Authorization"] = "{AUTH}"
local value = string.rep("x", 1000)
math.randomseed(os.time() + os.clock() * 1000000)
local function call(operation, body)
  headers["X-Amz-Target"] = "DynamoDB_20120810." .. operation
  return wrk.format("POST", "/", headers, body)
end
"""

LUA = {
    "PutItem": LUA_COMMON + """
request = function()
  return call("PutItem", '{"TableName":"writes","Item":{"pk":{"S":"w' .. math.random(1, 1000000000) ..
    '"},"v":{"S":"' .. value .. '"}}}')
end
""",
    "GetItem": LUA_COMMON + f"""
request = function()
  return call("GetItem", '{{"TableName":"bench","Key":{{"pk":{{"S":"k' .. math.random(0, {PRELOADED - 1}) .. '"}}}}}}')
end
""",
    "Query": LUA_COMMON + f"""
request = function()
  return call("Query", '{{"TableName":"ranged","Limit":10,"KeyConditionExpression":"pk = :p AND sk > :s",' ..
    '"ExpressionAttributeValues":{{":p":{{"S":"p' .. math.random(0, {PARTITIONS - 1}) .. '"}},' ..
    '":s":{{"N":"' .. math.random(0, {PER_PARTITION - 10}) .. '"}}}}}}')
end
""",
    "health": """
request = function()
  return wrk.format("GET", "/_nimbus/health")
end
""",
}


def dynalite_dir():
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "nimbus" / \
        f"bench-dynalite-{DYNALITE_VERSION}"
    if not (cache / "node_modules" / "dynalite" / "cli.js").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=cache, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"dynalite@{DYNALITE_VERSION}"],
                       cwd=cache, check=True, capture_output=True)
    return cache


def call(endpoint, operation, body):
    request = urllib.request.Request(endpoint + "/", method="POST", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        "X-Amz-Date": "20261127T120000Z", "Authorization": AUTH})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{endpoint} {operation}: {error.code} {error.read()[:300]}")


def prepare(endpoint):
    """The tables and the items read, written 25 at a time. PutItem writes
    to a table of its own, so the tables read stay the size they were."""
    for table in ("bench", "writes"):
        call(endpoint, "CreateTable", {
            "TableName": table, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]})
    call(endpoint, "CreateTable", {
        "TableName": "ranged", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]})
    for table in ("bench", "writes", "ranged"):  # dynalite creates tables asynchronously
        while call(endpoint, "DescribeTable", {"TableName": table})["Table"]["TableStatus"] != "ACTIVE":
            time.sleep(0.1)
    items = [("bench", {"pk": {"S": f"k{i}"}, "v": {"S": VALUE}}) for i in range(PRELOADED)]
    items += [("ranged", {"pk": {"S": f"p{p}"}, "sk": {"N": str(s)}, "v": {"S": VALUE}})
              for p in range(PARTITIONS) for s in range(PER_PARTITION)]
    for start in range(0, len(items), 25):
        requests = {}
        for table, item in items[start:start + 25]:
            requests.setdefault(table, []).append({"PutRequest": {"Item": item}})
        call(endpoint, "BatchWriteItem", {"RequestItems": requests})


def start_nimbus(tmp, name, *flags):
    process = subprocess.Popen([str(common.BUILD / "app" / "nimbus"), "server", "--listen", "127.0.0.1:0",
                                "--data-dir", str(tmp / name), "--log-level", "warn", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = re.search(r"listening on (http://\S+)", process.stdout.readline()).group(1)
    return process, endpoint


def start_dynalite(tmp):
    peer = subprocess.Popen(["node", str(dynalite_dir() / "node_modules" / "dynalite" / "cli.js"),
                             "--port", str(PEER_PORT), "--path", str(tmp / "dynalite"), "--createTableMs", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{PEER_PORT}"
    deadline = time.time() + 20
    while True:
        try:
            call(endpoint, "ListTables", {})
            return peer, endpoint
        except (SystemExit, OSError):
            if time.time() > deadline:
                raise SystemExit("dynalite did not start")
            time.sleep(0.2)


def fsync_rate(directory, seconds=3.0):
    path = pathlib.Path(directory) / "fsync-probe"
    block = b"x" * 1024
    count = 0
    with open(path, "wb") as probe:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            probe.write(block)
            probe.flush()
            os.fsync(probe.fileno())
            count += 1
        elapsed = time.perf_counter() - start
    path.unlink()
    return count / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sync", action="store_true", help="also measure --durability=sync")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=os.environ.get("NIMBUS_BENCH_DIR")) as tmp:
        tmp = pathlib.Path(tmp)
        scripts = {name: tmp / f"{name}.lua" for name in LUA}
        for name, path in scripts.items():
            path.write_text(LUA[name])
        nimbus, endpoint = start_nimbus(tmp, "nimbus")
        peer, peer_endpoint = start_dynalite(tmp)
        processes = [nimbus, peer]
        try:
            prepare(endpoint)
            prepare(peer_endpoint)
            print(f"peer: 1 KB items, wrk -t1, {options.rounds} rounds of {options.seconds} s alternating; "
                  f"medians; dynalite {DYNALITE_VERSION} on LevelDB")
            print(f"  {'':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            puts = {}
            for operation in ("PutItem", "GetItem", "Query"):
                for connections in (1, 16):
                    ours, theirs = [], []
                    for _ in range(options.rounds):
                        ours.append(common.wrk(endpoint + "/", options.seconds, connections, scripts[operation]))
                        theirs.append(common.wrk(peer_endpoint + "/", options.seconds, connections,
                                                 scripts[operation]))
                    ours, theirs = common.median_of(ours), common.median_of(theirs)
                    if operation == "PutItem":
                        puts[connections] = ours
                    common.row(f"dynalite {operation}, {connections} conn", theirs)
                    common.row(f"Nimbus {operation}, {connections} conn", ours)
                    print(f"  throughput ratio Nimbus/dynalite: {ours[0] / theirs[0]:.2f}")

            print(f"\nfront: PutItem beside the health endpoint on the same server; medians of {options.rounds}")
            print(f"  {'':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
            for connections in (1, 16):
                health, put = [], []
                for _ in range(options.rounds):
                    health.append(common.wrk(endpoint + "/", options.seconds, connections, scripts["health"]))
                    put.append(common.wrk(endpoint + "/", options.seconds, connections, scripts["PutItem"]))
                health, put = common.median_of(health), common.median_of(put)
                common.row(f"health, {connections} conn (baseline)", health)
                common.row(f"PutItem, {connections} conn", put)
                print(f"  throughput ratio health/PutItem: {health[0] / put[0]:.2f}")

            if options.sync:
                synced, synced_endpoint = start_nimbus(tmp, "synced", "--durability", "sync")
                processes.append(synced)
                prepare(synced_endpoint)
                disk = fsync_rate(tmp)
                print(f"\nsync: --durability=sync; this disk: {disk:.0f} fsyncs/s (1 KB write + fsync, one writer)")
                print(f"  {'':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
                for connections in (1, 16):
                    put = common.median_of([common.wrk(synced_endpoint + "/", options.seconds, connections,
                                                       scripts["PutItem"]) for _ in range(options.rounds)])
                    common.row(f"PutItem, {connections} conn", put)
                    print(f"  PutItem/s per fsync/s: {put[0] / disk:.2f}")
        finally:
            for process in processes:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
