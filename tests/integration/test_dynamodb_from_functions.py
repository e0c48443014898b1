"""A function reads and writes DynamoDB through the endpoint Nimbus gives it
(AWS_ENDPOINT_URL), with the boto3 its Python runtime has, as an
application on Lambda uses DynamoDB; and the usage is metered and priced."""

import datetime
import json
import time
import urllib.request

import pytest

from dynamodb_support import make_table
from lambda_support import create_function, invoke_json, make_zip

COUNTER = """
import os
import boto3

table = boto3.resource("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).Table(os.environ["TABLE"])

def handler(event, context):
    result = table.update_item(Key={"pk": event["name"]}, UpdateExpression="ADD hits :one",
                               ExpressionAttributeValues={":one": 1}, ReturnValues="UPDATED_NEW")
    return {"hits": int(result["Attributes"]["hits"])}
"""


def test_a_function_counts_visits_in_a_table(nimbus):
    ddb = nimbus.client("dynamodb")
    table = make_table(ddb)
    client = nimbus.client("lambda")
    create_function(client, "counter", make_zip({"app.py": COUNTER}), runtime="python3.11",
                    handler="app.handler", Environment={"Variables": {"TABLE": table}}, Timeout=30)
    for expected in (1, 2, 3):
        response, body = invoke_json(client, "counter", {"name": "home"})
        assert "FunctionError" not in response, body
        assert body == {"hits": expected}
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "home"}}, ConsistentRead=True)["Item"]
    assert item["hits"] == {"N": "3"}


def test_consumed_capacity_is_metered_and_priced(nimbus):
    ddb = nimbus.client("dynamodb")
    table = make_table(ddb)
    for i in range(10):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "d": {"S": "x" * 1500}})  # 2 units each
    for i in range(4):
        ddb.get_item(TableName=table, Key={"pk": {"S": f"k{i}"}})  # half a unit each
    deadline = time.time() + 10
    while True:
        with urllib.request.urlopen(nimbus.endpoint + "/_nimbus/cost?by=meter") as response:
            report = json.loads(response.read())
        meters = {line["meter"]: line for line in report["lines"] if line["meter"].startswith("dynamodb.")}
        if "dynamodb.write-request-units" in meters and "dynamodb.read-request-units" in meters:
            break
        assert time.time() < deadline, report
        time.sleep(0.2)
    assert float(meters["dynamodb.write-request-units"]["usage"]) == 20
    assert float(meters["dynamodb.read-request-units"]["usage"]) == 2  # four halves
    # On-demand request units have no free tier: $1.25 and $0.25 per million.
    assert float(meters["dynamodb.write-request-units"]["cost"]) == pytest.approx(20 * 1.25e-6)
    assert float(meters["dynamodb.read-request-units"]["cost"]) == pytest.approx(2 * 0.25e-6)


def test_cloudwatch_reports_consumed_capacity_per_table(nimbus):
    ddb = nimbus.client("dynamodb")
    table = make_table(ddb)
    for i in range(5):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}})  # 1 write unit each
    ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}}, ConsistentRead=True)  # 1 read unit
    ddb.get_item(TableName=table, Key={"pk": {"S": "k1"}})  # half a unit
    cloudwatch = nimbus.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    sums = {}
    deadline = time.time() + 10
    while sums != {"ConsumedWriteCapacityUnits": 5.0, "ConsumedReadCapacityUnits": 1.5}:
        assert time.time() < deadline, sums
        time.sleep(0.2)
        for metric in ("ConsumedWriteCapacityUnits", "ConsumedReadCapacityUnits"):
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/DynamoDB", MetricName=metric,
                Dimensions=[{"Name": "TableName", "Value": table}],
                StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
                Period=3600, Statistics=["Sum"])["Datapoints"]
            sums[metric] = sum(point["Sum"] for point in points)
