"""/_nimbus/metrics: Prometheus text that Prometheus' own parser reads, with
counters that match the work done."""

import re
import time

from prometheus_client.parser import text_string_to_metric_families

from apigateway_support import execute, http_api
from lambda_support import create_function, invoke_json, node_zip

FAILING_NODE = """
export const handler = async (event) => {
  if (event.fail) throw new Error("asked to");
  return { statusCode: 200, body: "ok" };
};
"""

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def scrape(server):
    status, body = server.get("/_nimbus/metrics")
    assert status == 200
    text = body.decode()
    # Strict checks the lenient parser does not make: every sample belongs to a
    # family declared once with HELP and TYPE, before its samples.
    declared = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in declared, f"{name} declared twice"
            declared[name] = None
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in declared and declared[name] is None
            assert kind in ("counter", "gauge", "histogram")
            declared[name] = kind
        else:
            assert line and not line.startswith("#"), line
            sample = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line)
            assert sample, line
            base = re.sub(r"_(bucket|sum|count)$", "", sample.group(1))
            assert sample.group(1) in declared or declared.get(base) == "histogram", line
            float(sample.group(3))
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for family in families.values():
        assert NAME.match(family.name)
        if family.type == "histogram":
            by_labels = {}
            for s in family.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                by_labels.setdefault(key, []).append(s)
            for samples in by_labels.values():
                buckets = [s.value for s in samples if s.name.endswith("_bucket")]
                assert buckets == sorted(buckets), "cumulative buckets"
                count = [s.value for s in samples if s.name.endswith("_count")][0]
                assert buckets[-1] == count
    return families


def value(families, family, sample_name=None, **labels):
    found = [s.value for s in families[family].samples
             if (sample_name is None or s.name == sample_name)
             and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (family, labels, families[family].samples)
    return found[0]


def test_metrics_parse_and_count_the_work(nimbus):
    lam = nimbus.client("lambda")
    create_function(lam, "counted", node_zip(FAILING_NODE), MemorySize=256)
    for payload in ({}, {}, {}, {"fail": 1}):
        invoke_json(lam, "counted", payload)
    api_id, _ = http_api(nimbus.client("apigatewayv2"),
                         "arn:aws:lambda:us-east-1:000000000000:function:counted", ["GET /ok"])
    assert execute(nimbus, api_id, "/ok")[0] == 200
    assert execute(nimbus, api_id, "/missing")[0] == 404

    deadline = time.time() + 10
    while True:
        families = scrape(nimbus)
        if "nimbus_apigateway_requests" in families and families["nimbus_apigateway_requests"].samples:
            break
        assert time.time() < deadline
        time.sleep(0.1)
    # prometheus_client strips _total from counter family names.
    assert value(families, "nimbus_lambda_invocations", function="counted") == 5
    assert value(families, "nimbus_lambda_errors", function="counted") == 1
    assert value(families, "nimbus_lambda_cold_starts", function="counted") == 1
    assert value(families, "nimbus_lambda_duration_seconds", "nimbus_lambda_duration_seconds_count",
                 function="counted") == 5
    assert value(families, "nimbus_lambda_init_duration_seconds",
                 "nimbus_lambda_init_duration_seconds_count", function="counted") == 1
    billed = value(families, "nimbus_lambda_billed_duration_seconds", function="counted")
    gb_seconds = value(families, "nimbus_lambda_gb_seconds", function="counted",
                       architecture="x86_64")
    assert abs(gb_seconds - billed * 256 / 1024) < 1e-9
    assert value(families, "nimbus_apigateway_requests", api=api_id, type="HTTP") == 2
    assert value(families, "nimbus_apigateway_4xx", api=api_id) == 1
    assert value(families, "nimbus_apigateway_5xx", api=api_id) == 0
    assert value(families, "nimbus_apigateway_latency_seconds",
                 "nimbus_apigateway_latency_seconds_count", api=api_id) == 2
    # Only the request that reached the function (/missing had no route).
    assert value(families, "nimbus_apigateway_integration_latency_seconds",
                 "nimbus_apigateway_integration_latency_seconds_count", api=api_id) == 1
    # One instance served everything; it may still be on its way back to
    # idle (the answer is out before its next poll), so count every state.
    assert sum(value(families, "nimbus_lambda_instances", state=state)
               for state in ("starting", "idle", "busy", "returning")) == 1
    assert value(families, "nimbus_lambda_concurrent_executions") <= 1
    assert value(families, "nimbus_http_requests") >= 8
    assert value(families, "process_resident_memory_bytes") > 1_000_000
    assert value(families, "process_open_fds") > 3
    assert abs(value(families, "process_start_time_seconds") - time.time()) < 3600
