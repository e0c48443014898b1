"""Metrics of users' own namespaces: published with PutMetricData (boto3,
the AWS CLI, a function) or logged by functions in the embedded metric
format, read back with CloudWatch's statistics, listed, kept across a
restart, and refused as CloudWatch refuses them."""

import datetime
import time

import pytest
from botocore.exceptions import ClientError

from lambda_support import create_function, invoke_json, make_zip, node_zip
from nimbus_harness import NimbusServer

NORTH = [{"Name": "Store", "Value": "north"}]
SOUTH = [{"Name": "Store", "Value": "south"}]
ALL = ["SampleCount", "Sum", "Average", "Minimum", "Maximum"]


def minute_ago(minutes):
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    return now - datetime.timedelta(minutes=minutes)


def statistics(cw, dims, start, period=60, name="Orders"):
    points = cw.get_metric_statistics(Namespace="Shop", MetricName=name, Dimensions=dims,
                                      StartTime=start, EndTime=start + datetime.timedelta(minutes=5),
                                      Period=period, Statistics=ALL)["Datapoints"]
    return sorted(points, key=lambda point: point["Timestamp"])


def stats_of(point):
    return {key: point[key] for key in ALL + ["Unit"]}


def test_published_values_come_back_with_their_statistics_and_survive_a_restart(tmp_path):
    first = minute_ago(3)
    second = first + datetime.timedelta(minutes=1)
    with NimbusServer(data_dir=tmp_path) as server:
        cw = server.client("cloudwatch")
        cw.put_metric_data(Namespace="Shop", MetricData=[
            {"MetricName": "Orders", "Dimensions": NORTH, "Timestamp": first, "Value": 3, "Unit": "Count"},
            # 1 twice and 10 once.
            {"MetricName": "Orders", "Dimensions": NORTH, "Timestamp": first + datetime.timedelta(seconds=30),
             "Values": [1, 10], "Counts": [2, 1], "Unit": "Count"},
            {"MetricName": "Orders", "Dimensions": NORTH, "Timestamp": second,
             "StatisticValues": {"SampleCount": 4, "Sum": 20, "Minimum": 2, "Maximum": 8}, "Unit": "Count"},
            {"MetricName": "Orders", "Dimensions": SOUTH, "Timestamp": first, "Value": 100, "Unit": "Count"},
        ])
        server.aws("cloudwatch", "put-metric-data", "--namespace", "Shop", "--metric-name", "Orders",
                   "--dimensions", "Store=north", "--value", "5", "--unit", "Count",
                   "--timestamp", (first + datetime.timedelta(seconds=59)).isoformat())

        north = statistics(cw, NORTH, first)
        expected = [
            {"SampleCount": 5.0, "Sum": 20.0, "Average": 4.0, "Minimum": 1.0, "Maximum": 10.0, "Unit": "Count"},
            {"SampleCount": 4.0, "Sum": 20.0, "Average": 5.0, "Minimum": 2.0, "Maximum": 8.0, "Unit": "Count"},
        ]
        assert [stats_of(point) for point in north] == expected
        assert [point["Timestamp"] for point in north] == [first, second]
        # Two minutes in one period.
        (both,) = statistics(cw, NORTH, first, period=120)
        assert stats_of(both) == {"SampleCount": 9.0, "Sum": 40.0, "Average": 40 / 9, "Minimum": 1.0,
                                  "Maximum": 10.0, "Unit": "Count"}
        # A dimension set is its own metric: south, and none at all.
        assert [point["Sum"] for point in statistics(cw, SOUTH, first)] == [100.0]
        assert statistics(cw, [], first) == []

        data = cw.get_metric_data(
            StartTime=first, EndTime=first + datetime.timedelta(minutes=5), ScanBy="TimestampAscending",
            MetricDataQueries=[{"Id": "north", "MetricStat": {
                "Metric": {"Namespace": "Shop", "MetricName": "Orders", "Dimensions": NORTH},
                "Period": 60, "Stat": "Maximum"}}])["MetricDataResults"]
        assert data[0]["Values"] == [10.0, 8.0]
        assert data[0]["Timestamps"] == [first, second]

        listed = cw.list_metrics(Namespace="Shop")["Metrics"]
        assert sorted(metric["Dimensions"][0]["Value"] for metric in listed) == ["north", "south"]
        assert all(metric["MetricName"] == "Orders" for metric in listed)
        only_south = cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "Store", "Value": "south"}])
        assert [metric["Dimensions"] for metric in only_south["Metrics"]] == [SOUTH]
        assert cw.list_metrics(Namespace="Shop", MetricName="Returns")["Metrics"] == []

    with NimbusServer(data_dir=tmp_path) as again:
        assert [stats_of(point) for point in statistics(again.client("cloudwatch"), NORTH, first)] == expected


def test_bad_data_is_refused_as_cloudwatch_refuses_it(nimbus):
    cw = nimbus.client("cloudwatch")

    def refused(code, **request):
        with pytest.raises(ClientError) as raised:
            cw.put_metric_data(**request)
        error = raised.value.response["Error"]
        assert error["Code"] == code, error
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return error["Message"]

    assert refused("InvalidParameterValue", Namespace="AWS/Lambda",
                   MetricData=[{"MetricName": "x", "Value": 1}]) == \
        "The value AWS/Lambda for parameter Namespace is invalid."
    assert refused("InvalidParameterCombination", Namespace="App",
                   MetricData=[{"MetricName": "x"}]) == \
        "At least one of the parameters MetricData.member.1.Value and " \
        "MetricData.member.1.StatisticValues must be specified."
    refused("InvalidParameterCombination", Namespace="App", MetricData=[
        {"MetricName": "x", "Value": 1,
         "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}])
    refused("InvalidParameterValue", Namespace="App",
            MetricData=[{"MetricName": "x", "Value": 1, "Unit": "Parsecs"}])
    refused("InvalidParameterValue", Namespace="App",
            MetricData=[{"MetricName": "x", "Value": float("nan")}])
    refused("InvalidParameterValue", Namespace="App",
            MetricData=[{"MetricName": "x", "Value": 1, "Timestamp": minute_ago(60 * 24 * 21)}])
    refused("InvalidParameterValue", Namespace="App", MetricData=[
        {"MetricName": "x", "Value": 1, "Dimensions": [{"Name": "d", "Value": "1"}, {"Name": "d", "Value": "2"}]}])
    # Nothing of a refused request was kept.
    assert cw.list_metrics(Namespace="App")["Metrics"] == []
    # Published values keep no distribution here: percentiles are refused, not made up.
    cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "x", "Value": 1}])
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(ClientError) as percentile:
        cw.get_metric_statistics(Namespace="App", MetricName="x", StartTime=now - datetime.timedelta(hours=1),
                                 EndTime=now + datetime.timedelta(hours=1), Period=60,
                                 ExtendedStatistics=["p99"])
    assert percentile.value.response["Error"]["Code"] == "InvalidParameterValue"


PUBLISHER = """
import os
import boto3

# Debian's botocore predates AWS_ENDPOINT_URL support: passed explicitly.
cloudwatch = boto3.client("cloudwatch", endpoint_url=os.environ["AWS_ENDPOINT_URL"])

def handler(event, context):
    cloudwatch.put_metric_data(Namespace="Checkout", MetricData=[
        {"MetricName": "Latency", "Value": event["ms"], "Unit": "Milliseconds",
         "Dimensions": [{"Name": "Function", "Value": context.function_name}]}])
    return {"published": event["ms"]}
"""


def test_a_function_publishes_metrics_through_the_endpoint_it_is_given(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "publisher", make_zip({"app.py": PUBLISHER}), runtime="python3.11",
                    handler="app.handler", Timeout=30)
    for ms in (12, 30):
        response, body = invoke_json(client, "publisher", {"ms": ms})
        assert "FunctionError" not in response, body
    start = minute_ago(2)
    points = nimbus.client("cloudwatch").get_metric_statistics(
        Namespace="Checkout", MetricName="Latency", Dimensions=[{"Name": "Function", "Value": "publisher"}],
        StartTime=start, EndTime=start + datetime.timedelta(minutes=4), Period=240,
        Statistics=["SampleCount", "Maximum"])["Datapoints"]
    assert [(point["SampleCount"], point["Maximum"], point["Unit"]) for point in points] == \
        [(2.0, 30.0, "Milliseconds")]


EMF_NODE = """
export const handler = async (event, context) => {
  // As aws-embedded-metrics does in Lambda: console.log, which the runtime
  // prefixes with the time, request id and level.
  console.log(JSON.stringify({
    _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{
      Namespace: "Emf", Dimensions: [["service"]],
      Metrics: [{ Name: "ColdStartMs", Unit: "Milliseconds" }, { Name: "Items", Unit: "Count" }] }] },
    service: "cart", ColdStartMs: event.ms, Items: [1, 2, 3],
  }));
  console.log("not metrics: _aws is only a word here");
  return "ok";
};
"""

EMF_PYTHON = """
import json, time

def handler(event, context):
    # As Powertools for AWS Lambda (Python) does: print, with no prefix.
    print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
        {"Namespace": "Emf", "Dimensions": [["service"]], "Metrics": [{"Name": "Orders", "Unit": "Count"}]}]},
        "service": "checkout", "Orders": event["orders"]}))
    return "ok"
"""


def test_functions_publish_metrics_by_logging_the_embedded_metric_format(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "emf-node", node_zip(EMF_NODE))
    create_function(client, "emf-python", make_zip({"app.py": EMF_PYTHON}), runtime="python3.11",
                    handler="app.handler")
    for ms in (40, 60):
        assert invoke_json(client, "emf-node", {"ms": ms})[1] == "ok"
    assert invoke_json(client, "emf-python", {"orders": 7})[1] == "ok"

    cw = nimbus.client("cloudwatch")
    start = minute_ago(2)

    def stats(name, service):
        return cw.get_metric_statistics(
            Namespace="Emf", MetricName=name, Dimensions=[{"Name": "service", "Value": service}],
            StartTime=start, EndTime=start + datetime.timedelta(minutes=4), Period=240,
            Statistics=["SampleCount", "Sum", "Maximum"])["Datapoints"]

    deadline = time.time() + 10  # stored once a second
    while not (stats("Orders", "checkout") and len(stats("ColdStartMs", "cart")) == 1
               and stats("ColdStartMs", "cart")[0]["SampleCount"] == 2) and time.time() < deadline:
        time.sleep(0.2)
    (cold,) = stats("ColdStartMs", "cart")
    assert (cold["SampleCount"], cold["Sum"], cold["Maximum"], cold["Unit"]) == (2.0, 100.0, 60.0, "Milliseconds")
    (items,) = stats("Items", "cart")
    assert (items["SampleCount"], items["Sum"], items["Unit"]) == (6.0, 12.0, "Count")
    (orders,) = stats("Orders", "checkout")
    assert (orders["SampleCount"], orders["Sum"]) == (1.0, 7.0)
    listed = cw.list_metrics(Namespace="Emf")["Metrics"]
    assert sorted(metric["MetricName"] for metric in listed) == ["ColdStartMs", "Items", "Orders"]
