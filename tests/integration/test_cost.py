"""Metering and cost reports: every invocation and gateway request leaves a
usage record; /_nimbus/cost and `nimbus cost` price the hourly counters
with the price book in the data directory (edited here), free tiers
applied; nothing is lost across a restart."""

import datetime
import json
import re
import signal
import subprocess
import time
from decimal import ROUND_DOWN, Decimal

import pytest
from botocore.exceptions import ClientError

from apigateway_support import execute, http_api
from lambda_support import SLEEPING_NODE, create_function, invoke_json, node_zip
from nimbus_harness import NimbusServer, nimbus_binary


# Prices chosen so that small usage has a visible cost: no free tiers.
TEST_PRICE_BOOK = """
version: 1
name: test prices
currency: USD
meters:
  lambda.requests:
    unit: requests
    tiers: [{price: "0.20"}]
  lambda.compute.x86_64:
    unit: GB-seconds
    tiers: [{price: "1.00"}]
  lambda.compute.arm64:
    unit: GB-seconds
    tiers: [{price: "2.50"}]
  apigateway.http.requests:
    unit: requests
    tiers: [{price: "3.50", per: 1000000}]
"""


def report(server, **query):
    params = "&".join(f"{key}={value}" for key, value in query.items())
    status, body = server.get(f"/_nimbus/cost?{params}")
    assert status == 200
    return json.loads(body)


def line(report_json, **match):
    found = [entry for entry in report_json["lines"]
             if all(entry.get(key) == value for key, value in match.items())]
    assert len(found) == 1, (match, report_json["lines"])
    return found[0]


def billed_mb_ms(server, function):
    """Sum of Billed Duration x Memory Size over the function's REPORT lines."""
    events = server.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{function}", filterPattern="REPORT")["events"]
    total = 0
    for event in events:
        billed = int(re.search(r"Billed Duration: (\d+) ms", event["message"]).group(1))
        memory = int(re.search(r"Memory Size: (\d+) MB", event["message"]).group(1))
        total += billed * memory
    return len(events), total


def wait_until(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def gb_seconds(mb_ms):
    return (Decimal(mb_ms) / Decimal(1024000)).normalize()


def money(amount):
    return amount.quantize(Decimal("0.0000000001"), rounding=ROUND_DOWN)


def test_usage_is_billed_to_the_cent_with_the_price_book_on_disk(tmp_path):
    with NimbusServer(data_dir=tmp_path) as server:
        # The shipped price book is written where users can edit it.
        shipped = (tmp_path / "price-book.yaml").read_text()
        assert "September 2023" in shipped and "0.0000166667" in shipped

        lam = server.client("lambda")
        create_function(lam, "small", node_zip(SLEEPING_NODE), MemorySize=128)
        create_function(lam, "big", node_zip(SLEEPING_NODE), MemorySize=1024,
                        Architectures=["arm64"])
        for ms in (0, 20, 40, 60, 80):
            invoke_json(lam, "small", {"ms": ms})
        for ms in (10, 30, 50):
            invoke_json(lam, "big", {"ms": ms})
        api_id, _ = http_api(server.client("apigatewayv2"),
                             "arn:aws:lambda:us-east-1:000000000000:function:small", ["GET /x"])
        for _ in range(3):
            assert execute(server, api_id, "/x")[0] == 200

        assert wait_until(lambda: billed_mb_ms(server, "small")[0] == 8
                          and billed_mb_ms(server, "big")[0] == 3)
        _, small_mb_ms = billed_mb_ms(server, "small")
        _, big_mb_ms = billed_mb_ms(server, "big")

        def complete():
            r = report(server, by="function")
            return any(e.get("meter") == "apigateway.http.requests" and e["usage"] == "3"
                       for e in r["lines"])

        assert wait_until(complete)
        # Default prices: everything here is inside Lambda's free tier.
        default = report(server, by="function")
        assert default["priceBook"] == "AWS us-east-1 on-demand, September 2023"
        small_requests = line(default, resource="small", meter="lambda.requests")
        assert small_requests["usage"] == "8" and small_requests["freeTier"] == "8"
        assert small_requests["cost"] == "0.0000000000"
        compute = line(default, resource="small", meter="lambda.compute.x86_64")
        assert Decimal(compute["usage"]) == gb_seconds(small_mb_ms)
        assert compute["unit"] == "GB-seconds"
        arm = line(default, resource="big", meter="lambda.compute.arm64")
        assert Decimal(arm["usage"]) == gb_seconds(big_mb_ms)
        gateway = line(default, resource=api_id, meter="apigateway.http.requests")
        assert gateway["service"] == "apigateway" and gateway["cost"] == "0.0000030000"
        assert default["total"] == "0.0000030000"

        # The book is read on every report: edited prices apply at once.
        (tmp_path / "price-book.yaml").write_text(TEST_PRICE_BOOK)
        priced = report(server, by="function")
        assert priced["priceBook"] == "test prices"
        expected = {
            ("small", "lambda.requests"): Decimal("0.20") * 8,
            ("small", "lambda.compute.x86_64"): gb_seconds(small_mb_ms) * Decimal("1.00"),
            ("big", "lambda.requests"): Decimal("0.20") * 3,
            ("big", "lambda.compute.arm64"): gb_seconds(big_mb_ms) * Decimal("2.50"),
            (api_id, "apigateway.http.requests"): Decimal("3.50") * 3 / 1000000,
        }
        for (resource, meter), cost in expected.items():
            entry = line(priced, resource=resource, meter=meter)
            assert Decimal(entry["cost"]) == money(cost), (resource, meter)
            assert entry["freeTier"] == "0"
        total = sum(expected.values())
        assert round(Decimal(priced["total"]), 2) == round(total, 2)
        assert abs(Decimal(priced["total"]) - total) < Decimal("0.000000001")

        by_service = report(server, by="service")
        assert {(e["service"], e["meter"]) for e in by_service["lines"]} == {
            ("lambda", "lambda.requests"), ("lambda", "lambda.compute.x86_64"),
            ("lambda", "lambda.compute.arm64"), ("apigateway", "apigateway.http.requests")}
        assert line(by_service, meter="lambda.requests")["usage"] == "11"
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        by_day = report(server, by="day")
        assert {e["day"] for e in by_day["lines"]} == {today}
        assert by_day["total"] == priced["total"]

        # The command-line client shows the same report.
        env = server.client_env()
        table = subprocess.run([nimbus_binary(), "cost", "--endpoint", server.endpoint,
                                "--by", "service"], capture_output=True, text=True, env=env,
                               timeout=30)
        assert table.returncode == 0, table.stderr
        assert "lambda.requests (requests)" in table.stdout
        assert re.search(r"TOTAL\s+.*USD", table.stdout)
        as_json = subprocess.run([nimbus_binary(), "cost", "--endpoint", server.endpoint,
                                  "--by", "service", "--json"], capture_output=True, text=True,
                                 env=env, timeout=30)
        assert json.loads(as_json.stdout)["lines"] == by_service["lines"]
        before_restart = report(server, by="function")

    # A stopped server keeps every record: the same report after a restart.
    with NimbusServer(data_dir=tmp_path) as again:
        assert report(again, by="function")["lines"] == before_restart["lines"]


def test_report_bounds_and_groupings_are_checked(nimbus):
    for query in ("by=colour", "since=yesterday", "since=2026-13-01", "until=2020-01-01"):
        status, body = None, None
        try:
            status, body = nimbus.get(f"/_nimbus/cost?{query}")
        except Exception as error:  # urllib raises on 400
            status, body = error.code, error.read()
        assert status == 400, query
        assert json.loads(body)["message"]
    # Earlier months have no usage: an empty, well-formed report.
    old = report(nimbus, since="2020-01-01", until="2020-02-01T00:00:00Z")
    assert old["lines"] == [] and old["total"] == "0.0000000000"
    assert old["since"] == "2020-01-01T00:00:00Z" and old["until"] == "2020-02-01T00:00:00Z"


def test_metering_off_records_nothing(nimbus_factory):
    server = nimbus_factory("--no-metering")
    lam = server.client("lambda")
    create_function(lam, "quiet", node_zip(SLEEPING_NODE))
    invoke_json(lam, "quiet", {})
    time.sleep(0.5)
    assert report(server)["lines"] == []


def test_cost_table_columns_line_up(nimbus):
    """Meter names with their units run past any fixed column width
    (DynamoDB's are 50 characters): every column is as wide as its widest
    entry, and the total's amount sits in the cost column."""
    ddb = nimbus.client("dynamodb")
    ddb.create_table(TableName="aligned", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    ddb.put_item(TableName="aligned", Item={"pk": {"S": "a"}})
    lam = nimbus.client("lambda")
    create_function(lam, "a-function-with-a-long-name-for-the-table", node_zip(SLEEPING_NODE))
    invoke_json(lam, "a-function-with-a-long-name-for-the-table", {})
    env = nimbus.client_env()

    def table():
        done = subprocess.run([nimbus_binary(), "cost", "--by", "resource", "--endpoint",
                               nimbus.endpoint], capture_output=True, text=True, env=env,
                              timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    # DynamoDB's units are metered once a second, and the journal writes
    # the invocation's record a moment after it answers.
    printed = []

    def complete():
        printed.append(table())
        return ("dynamodb.write-request-units (write request units)" in printed[-1]
                and "lambda:a-function-with-a-long-name-for-the-table" in printed[-1])

    assert wait_until(complete), printed[-1]
    lines = printed[-1].splitlines()
    heading = next(i for i, text in enumerate(lines) if text.startswith("RESOURCE"))
    rows = lines[heading:]
    assert rows[-1].startswith("TOTAL") and rows[-1].endswith(" USD")
    meter_at = rows[0].index("METER")
    cost_ends = len(rows[0])
    for row in rows[1:-1]:
        assert row[meter_at - 2:meter_at] == "  " and row[meter_at] != " ", row
        assert len(row) == cost_ends and row[-1] != " ", row
    assert len(rows[-1]) == cost_ends + len(" USD")


def test_stats_table_json_and_svg_plots(nimbus, tmp_path):
    import xml.etree.ElementTree as ElementTree

    lam = nimbus.client("lambda")
    create_function(lam, "charted", node_zip(SLEEPING_NODE))
    for ms in (5, 25, 45):
        invoke_json(lam, "charted", {"ms": ms})
    env = nimbus.client_env()

    def cli(*args):
        done = subprocess.run([nimbus_binary(), *args, "--endpoint", nimbus.endpoint],
                              capture_output=True, text=True, env=env, timeout=30)
        assert done.returncode == 0, done.stderr
        return done

    def series():
        return json.loads(cli("stats", "charted", "--json", "--period", "3600").stdout)

    assert wait_until(lambda: sum(p["invocations"] for p in series()["points"]) == 3)
    stats = series()
    assert stats["service"] == "lambda" and stats["period"] == 3600
    busy = [p for p in stats["points"] if p["invocations"]]
    assert busy and all(p["invocations"] == 0 or "durationAvgMs" in p for p in stats["points"])
    point = busy[0] if len(busy) == 1 else None
    if point:  # all three in one hour-long row, as almost always
        assert point["invocations"] == 3 and point["errors"] == 0 and point["coldStarts"] == 1
        assert point["durationMinMs"] <= point["durationAvgMs"] <= point["durationMaxMs"]
        assert point["durationMaxMs"] >= 45
    table = cli("stats", "charted").stdout.splitlines()
    assert table[0].split()[:3] == ["TIME", "(UTC)", "INVOCATIONS"]
    assert len(table) >= 2
    # Rows of minutes without invocations (an hour of them by default) have
    # no durations to show: a dash, not "nan".
    idle = [row.split() for row in table[1:] if row.split()[1] == "0"]
    assert idle and all(row[4:6] == ["-", "-"] for row in idle), table
    assert not any("nan" in row for row in table), table

    svg_path = tmp_path / "stats.svg"
    cli("stats", "charted", "--plot", str(svg_path))
    root = ElementTree.parse(svg_path).getroot()  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Function charted, per 60 s" in texts and "invocations" in texts
    assert any(p.get("points").strip() for p in root.iter("{http://www.w3.org/2000/svg}polyline"))

    cost_path = tmp_path / "cost.svg"
    cli("cost", "--plot", str(cost_path))
    root = ElementTree.parse(cost_path).getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any(t and t.startswith("Cost per day") for t in texts) and "lambda" in texts

    status, body = None, None
    try:
        nimbus.get("/_nimbus/stats")
    except Exception as error:
        status, body = error.code, error.read()
    assert status == 400 and b"function" in body


def test_a_broken_price_book_is_reported_not_fatal(tmp_path):
    (tmp_path / "price-book.yaml").write_text("meters:\n  lambda.requests:\n    tiers: [{price: cheap}]\n")
    with NimbusServer(data_dir=tmp_path) as server:
        assert server.health()["status"] == "running"
        try:
            server.get("/_nimbus/cost")
            raise AssertionError("expected an error")
        except Exception as error:
            assert error.code == 500
            message = json.loads(error.read())["message"]
        assert "meters.lambda.requests.tiers[0].price" in message
        assert "cost reports will fail" in server.stderr()


def test_out_of_range_input_is_refused_not_overflowed(nimbus):
    for query in ("since=999999999999999999d", "since=99999999999999999999",
                  "until=12345678901234w"):
        try:
            nimbus.get(f"/_nimbus/cost?{query}")
            raise AssertionError(query)
        except Exception as error:
            assert error.code == 400, query
    logs = nimbus.client("logs")
    logs.create_log_group(logGroupName="/app/odd")
    logs.create_log_stream(logGroupName="/app/odd", logStreamName="s")
    # JSON the SDKs would never send, put on the wire in place of what boto3 built.
    def send(operation, body, **params):
        client = nimbus.client("logs")

        def replace(request, **kwargs):
            request.data = body

        client.meta.events.register(f"before-sign.cloudwatch-logs.{operation}", replace)
        return getattr(client, "put_log_events" if operation == "PutLogEvents"
                       else "get_log_events")(**params)

    with pytest.raises(ClientError) as fractional:
        send("PutLogEvents",
             b'{"logGroupName":"/app/odd","logStreamName":"s",'
             b'"logEvents":[{"timestamp":1.5,"message":"x"}]}',
             logGroupName="/app/odd", logStreamName="s",
             logEvents=[{"timestamp": 1, "message": "x"}])
    assert fractional.value.response["Error"]["Code"] == "InvalidParameterException"
    huge = send("GetLogEvents", b'{"logGroupName":"/app/odd","logStreamName":"s","limit":1e300}',
                logGroupName="/app/odd", logStreamName="s")
    assert huge["events"] == []  # an unusable limit is the default
    assert nimbus.health()["status"] == "running"
