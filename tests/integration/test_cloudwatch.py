"""CloudWatch metrics through boto3 and the AWS CLI: AWS/Lambda and
AWS/ApiGateway metrics computed from what the server did, per minute, with
CloudWatch's statistics."""

import concurrent.futures
import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from apigateway_support import execute, function_arn, http_api
from lambda_support import SLEEPING_NODE, create_function, invoke_json, node_zip
from test_apigateway_rest_apis import proxy_api


def window():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now - datetime.timedelta(minutes=10), now + datetime.timedelta(minutes=2)


def wait_for_sum(cw, dims, metric, expected, namespace="AWS/Lambda"):
    start, end = window()
    deadline = time.time() + 10
    while True:
        points = cw.get_metric_statistics(Namespace=namespace, MetricName=metric,
                                          Dimensions=dims, StartTime=start, EndTime=end,
                                          Period=3600, Statistics=["Sum"])["Datapoints"]
        if sum(p["Sum"] for p in points) >= expected or time.time() > deadline:
            return points
        time.sleep(0.1)


def summed(cw, namespace, metric, dims, statistic="Sum"):
    """A statistic over the test window, summed across its datapoints."""
    start, end = window()
    points = cw.get_metric_statistics(Namespace=namespace, MetricName=metric, Dimensions=dims,
                                      StartTime=start, EndTime=end, Period=3600,
                                      Statistics=[statistic])["Datapoints"]
    return sum(p[statistic] for p in points)


def test_lambda_metrics_match_the_invocations(nimbus):
    lam = nimbus.client("lambda")
    create_function(lam, "measured", node_zip(SLEEPING_NODE))
    for payload in ({"ms": 30}, {"ms": 60}, {}, {"fail": True}):
        invoke_json(lam, "measured", payload)
    cw = nimbus.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "measured"}]
    wait_for_sum(cw, dims, "Invocations", 4)
    start, end = window()

    points = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Invocations",
                                      Dimensions=dims, StartTime=start, EndTime=end, Period=60,
                                      Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert sum(p["Sum"] for p in points) == 4
    assert all(p["Unit"] == "Count" and p["Timestamp"].second == 0 for p in points)

    # One hour-long period holds everything: the error rate is the Errors average.
    errors = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Errors",
                                      Dimensions=dims, StartTime=start, EndTime=end, Period=3600,
                                      Statistics=["Sum", "Average"])["Datapoints"]
    assert sum(p["Sum"] for p in errors) == 1
    if len(errors) == 1:
        assert errors[0]["Average"] == 0.25

    duration = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Duration",
                                        Dimensions=dims, StartTime=start, EndTime=end,
                                        Period=3600, Statistics=["Maximum", "Minimum",
                                                                 "SampleCount"])["Datapoints"]
    assert sum(p["SampleCount"] for p in duration) == 4
    assert max(p["Maximum"] for p in duration) >= 60
    assert min(p["Minimum"] for p in duration) < 60
    assert duration[0]["Unit"] == "Milliseconds"

    # GetMetricData: the same numbers, newest first; the account-wide metric has no dimensions.
    data = cw.get_metric_data(
        StartTime=start, EndTime=end,
        MetricDataQueries=[
            {"Id": "inv", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
                                                    "MetricName": "Invocations",
                                                    "Dimensions": dims},
                                         "Period": 60, "Stat": "Sum"}},
            {"Id": "all", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
                                                    "MetricName": "Invocations"},
                                         "Period": 60, "Stat": "Sum"}, "Label": "everything"},
        ])["MetricDataResults"]
    assert [r["Id"] for r in data] == ["inv", "all"]
    assert sum(data[0]["Values"]) == 4 and sum(data[1]["Values"]) == 4
    assert data[1]["Label"] == "everything"
    assert data[0]["Timestamps"] == sorted(data[0]["Timestamps"], reverse=True)

    # Metric math: the error rate, from two hidden queries.
    def stat(metric, stat="Sum"):
        return {"Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dims},
                "Period": 3600, "Stat": stat}

    math = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": "calls", "MetricStat": stat("Invocations"), "ReturnData": False},
        {"Id": "errors", "MetricStat": stat("Errors"), "ReturnData": False},
        {"Id": "rate", "Expression": "100 * FILL(errors, 0) / calls", "Label": "Error rate"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
    ])["MetricDataResults"]
    assert [(r["Id"], r["Label"]) for r in math] == [("rate", "Error rate"), ("total", "total")]
    assert math[0]["Values"] == [25.0] and math[1]["Values"] == [5.0]
    with pytest.raises(ClientError) as cycle:
        cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
            {"Id": "a", "Expression": "b * 2"}, {"Id": "b", "Expression": "a + 1"}])
    assert cycle.value.response["Error"]["Code"] == "ValidationError"

    listed = cw.list_metrics(Namespace="AWS/Lambda")["Metrics"]
    names = {(m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
             for m in listed}
    assert ("Invocations", (("FunctionName", "measured"),)) in names
    assert ("Duration", (("FunctionName", "measured"),)) in names
    assert ("Errors", ()) in names

    # The AWS CLI reads them too.
    out = nimbus.aws("cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda",
                     "--metric-name", "Invocations", "--dimensions", "Name=FunctionName,Value=measured",
                     "--start-time", start.isoformat(), "--end-time", end.isoformat(),
                     "--period", "3600", "--statistics", "Sum")
    assert sum(p["Sum"] for p in out["Datapoints"]) == 4


def test_lambda_metrics_by_resource_and_executed_version(nimbus):
    """As Lambda publishes them: per qualifier invoked ({FunctionName,
    Resource}: "name", "name:<version>", "name:<alias>") and, for an alias,
    per version that ran ({FunctionName, Resource, ExecutedVersion})."""
    lam = nimbus.client("lambda")
    create_function(lam, "aliased", node_zip(SLEEPING_NODE))
    lam.publish_version(FunctionName="aliased")
    lam.update_function_configuration(FunctionName="aliased", Timeout=4)
    lam.publish_version(FunctionName="aliased")
    lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1")
    invoke_json(lam, "aliased", {}, Qualifier="live")
    invoke_json(lam, "aliased", {"fail": True}, Qualifier="live")
    lam.update_alias(FunctionName="aliased", Name="live", FunctionVersion="2")
    invoke_json(lam, "aliased", {"ms": 40}, Qualifier="live")
    invoke_json(lam, "aliased:2", {})
    invoke_json(lam, "aliased", {"fail": True})
    cw = nimbus.client("cloudwatch")
    function = [{"Name": "FunctionName", "Value": "aliased"}]
    wait_for_sum(cw, function, "Invocations", 5)
    start, end = window()

    def stats(metric, dims, statistic="Sum"):
        return summed(cw, "AWS/Lambda", metric, dims, statistic)

    def resource(value, executed=None):
        dims = function + [{"Name": "Resource", "Value": value}]
        return dims + ([{"Name": "ExecutedVersion", "Value": executed}] if executed else [])

    assert stats("Invocations", function) == 5
    assert stats("Invocations", resource("aliased:live")) == 3
    assert stats("Errors", resource("aliased:live")) == 1
    assert stats("Invocations", resource("aliased:live", "1")) == 2
    assert stats("Errors", resource("aliased:live", "1")) == 1
    assert stats("Invocations", resource("aliased:live", "2")) == 1
    assert stats("Duration", resource("aliased:live", "2"), "Minimum") >= 40
    assert stats("Duration", resource("aliased:live"), "SampleCount") == 3
    assert stats("Invocations", resource("aliased:2")) == 1
    # A version invoked directly has no ExecutedVersion of its own.
    assert stats("Invocations", resource("aliased:2", "2")) == 0
    # Unqualified: the Resource is the function's name.
    assert stats("Invocations", resource("aliased")) == 1
    assert stats("Errors", resource("aliased")) == 1
    # Not the function's qualifier, or a Resource without FunctionName: none.
    assert stats("Invocations", resource("other:live")) == 0
    assert stats("Invocations", [{"Name": "Resource", "Value": "aliased:live"}]) == 0
    # One at a time: at most one in flight as each was invoked.
    assert stats("ConcurrentExecutions", resource("aliased:live"), "Maximum") == 1
    assert stats("ConcurrentExecutions", resource("aliased:live"), "SampleCount") == 3
    assert stats("ConcurrentExecutions", resource("aliased:live", "1"), "SampleCount") == 2
    assert stats("ConcurrentExecutions", resource("aliased:2"), "Maximum") == 1

    # GetMetricData reads the same series.
    data = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": "v1", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                                               "Dimensions": resource("aliased:live", "1")},
                                    "Period": 3600, "Stat": "Sum"}}])["MetricDataResults"]
    assert sum(data[0]["Values"]) == 2

    def listed(**filters):
        metrics = cw.list_metrics(Namespace="AWS/Lambda", MetricName="Invocations", **filters)["Metrics"]
        return sorted(tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in metrics)

    by_resource = listed(Dimensions=[{"Name": "Resource"}])
    mine = [dims for dims in by_resource if ("FunctionName", "aliased") in dims]
    assert mine == sorted([
        (("FunctionName", "aliased"), ("Resource", "aliased")),
        (("FunctionName", "aliased"), ("Resource", "aliased:2")),
        (("FunctionName", "aliased"), ("Resource", "aliased:live")),
        (("ExecutedVersion", "1"), ("FunctionName", "aliased"), ("Resource", "aliased:live")),
        (("ExecutedVersion", "2"), ("FunctionName", "aliased"), ("Resource", "aliased:live")),
    ])
    assert listed(Dimensions=[{"Name": "ExecutedVersion", "Value": "2"},
                              {"Name": "FunctionName", "Value": "aliased"}]) == [
        (("ExecutedVersion", "2"), ("FunctionName", "aliased"), ("Resource", "aliased:live"))]
    assert (("FunctionName", "aliased"),) in listed(Dimensions=[{"Name": "FunctionName"}])
    concurrency = cw.list_metrics(Namespace="AWS/Lambda", MetricName="ConcurrentExecutions",
                                  Dimensions=[{"Name": "FunctionName", "Value": "aliased"},
                                              {"Name": "Resource", "Value": "aliased:live"}])["Metrics"]
    assert sorted(len(m["Dimensions"]) for m in concurrency) == [2, 3, 3]
    out = nimbus.aws("cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda",
                     "--metric-name", "Invocations", "--dimensions", "Name=FunctionName,Value=aliased",
                     "Name=Resource,Value=aliased:live", "Name=ExecutedVersion,Value=2",
                     "--start-time", start.isoformat(), "--end-time", end.isoformat(),
                     "--period", "3600", "--statistics", "Sum")
    assert sum(p["Sum"] for p in out["Datapoints"]) == 1

    # The copies are statistics, not billed requests: the cost report bills 5.
    status, body = nimbus.get("/_nimbus/cost?by=function")
    assert status == 200
    requests = [entry for entry in json.loads(body)["lines"]
                if entry.get("resource") == "aliased" and entry["meter"].startswith("lambda.requests")]
    assert [(entry["meter"], entry["usage"]) for entry in requests] == [("lambda.requests", "5")]


def test_duration_percentiles(nimbus):
    """ExtendedStatistics and percentile Stats: nearest rank over the
    minute's samples, within 1.1% of the sample (ranks 1 and N exactly)."""
    lam = nimbus.client("lambda")
    create_function(lam, "paced", node_zip(SLEEPING_NODE))
    for ms in (50, 100, 150, 200, 250):
        invoke_json(lam, "paced", {"ms": ms})
    cw = nimbus.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "paced"}]
    wait_for_sum(cw, dims, "Invocations", 5)
    start, end = window()
    common = dict(Namespace="AWS/Lambda", MetricName="Duration", Dimensions=dims,
                  StartTime=start, EndTime=end, Period=3600)
    [plain] = cw.get_metric_statistics(Statistics=["Minimum", "Maximum"], **common)["Datapoints"]
    [point] = cw.get_metric_statistics(ExtendedStatistics=["p20", "p50", "p99.9", "p100"],
                                       **common)["Datapoints"]
    extended = point["ExtendedStatistics"]
    assert set(extended) == {"p20", "p50", "p99.9", "p100"}
    assert extended["p20"] == plain["Minimum"]  # rank 1 of 5
    assert extended["p99.9"] == extended["p100"] == plain["Maximum"]  # rank 5
    assert 150 * 0.989 <= extended["p50"] <= 150 * 1.011 + 40  # the 150 ms one, and its overhead
    assert point["Unit"] == "Milliseconds"
    assert "Minimum" not in point

    data = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": "p50", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Duration",
                                                "Dimensions": dims},
                                     "Period": 3600, "Stat": "p50"}}])["MetricDataResults"]
    assert data[0]["Values"] == [extended["p50"]]
    out = nimbus.aws("cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda",
                     "--metric-name", "Duration", "--dimensions", "Name=FunctionName,Value=paced",
                     "--start-time", start.isoformat(), "--end-time", end.isoformat(),
                     "--period", "3600", "--extended-statistics", "p90")
    assert out["Datapoints"][0]["ExtendedStatistics"]["p90"] == plain["Maximum"]  # rank 5 of 5

    for bad, code in ((dict(Statistics=["Sum"], ExtendedStatistics=["p50"]),
                       "InvalidParameterCombination"),
                      (dict(ExtendedStatistics=["p101"]), "InvalidParameterValue"),
                      (dict(ExtendedStatistics=["median"]), "InvalidParameterValue")):
        with pytest.raises(ClientError) as refused:
            cw.get_metric_statistics(**common, **bad)
        assert refused.value.response["Error"]["Code"] == code


def test_throttles_and_concurrent_executions(nimbus):
    lam = nimbus.client("lambda")
    create_function(lam, "crowded", node_zip(SLEEPING_NODE), Timeout=10)
    create_function(lam, "narrow", node_zip(SLEEPING_NODE), Timeout=10)
    lam.put_function_concurrency(FunctionName="narrow", ReservedConcurrentExecutions=1)
    # Clients that do not retry: each 429 is one refused invocation.
    # (botocore's "max_attempts" counts retries; "total_max_attempts" counts all.)
    once = nimbus.client("lambda", retries={"total_max_attempts": 1, "mode": "standard"})

    def invoke(name):
        try:
            once.invoke(FunctionName=name, Payload=b'{"ms": 1500}')
            return 200
        except ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"]

    # Three at once of each: all three of "crowded" run together; "narrow"
    # runs one and refuses the others.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        crowded = [pool.submit(invoke, "crowded") for _ in range(3)]
        time.sleep(0.3)  # "narrow"'s first is admitted before the others arrive
        narrow = [pool.submit(invoke, "narrow") for _ in range(3)]
        statuses = {"crowded": [f.result() for f in crowded], "narrow": [f.result() for f in narrow]}
    assert statuses["crowded"] == [200, 200, 200]
    assert sorted(statuses["narrow"]) == [200, 429, 429]

    cw = nimbus.client("cloudwatch")
    throttles = wait_for_sum(cw, [{"Name": "FunctionName", "Value": "narrow"}], "Throttles", 2)
    assert sum(p["Sum"] for p in throttles) == 2
    # Invoked unqualified: also by Resource, the function's name.
    by_resource = wait_for_sum(cw, [{"Name": "FunctionName", "Value": "narrow"},
                                    {"Name": "Resource", "Value": "narrow"}], "Throttles", 2)
    assert sum(p["Sum"] for p in by_resource) == 2
    assert wait_for_sum(cw, [{"Name": "FunctionName", "Value": "crowded"}], "Throttles", 0) == []
    start, end = window()

    def peak(dims):
        points = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="ConcurrentExecutions",
                                          Dimensions=dims, StartTime=start, EndTime=end, Period=3600,
                                          Statistics=["Maximum"])["Datapoints"]
        return max(p["Maximum"] for p in points)

    assert peak([{"Name": "FunctionName", "Value": "crowded"}]) == 3
    assert peak([{"Name": "FunctionName", "Value": "narrow"}]) == 1
    # By Resource (invoked unqualified: the function's name) the same.
    assert peak([{"Name": "FunctionName", "Value": "crowded"},
                 {"Name": "Resource", "Value": "crowded"}]) == 3
    assert peak([{"Name": "FunctionName", "Value": "narrow"},
                 {"Name": "Resource", "Value": "narrow"}]) == 1
    # The account's: "crowded"'s three and "narrow"'s one overlapped.
    assert peak([]) == 4
    # Unreserved: only "crowded"'s, "narrow" has reserved concurrency; the
    # account's alone, as on AWS.
    unreserved = cw.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="UnreservedConcurrentExecutions", StartTime=start,
        EndTime=end, Period=3600, Statistics=["Maximum"])["Datapoints"]
    assert [p["Maximum"] for p in unreserved] == [3]
    assert cw.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="UnreservedConcurrentExecutions",
        Dimensions=[{"Name": "FunctionName", "Value": "crowded"}], StartTime=start, EndTime=end,
        Period=3600, Statistics=["Maximum"])["Datapoints"] == []
    listed = cw.list_metrics(Namespace="AWS/Lambda",
                             MetricName="UnreservedConcurrentExecutions")["Metrics"]
    assert [m["Dimensions"] for m in listed] == [[]]


def test_api_gateway_metrics(nimbus):
    create_function(nimbus.client("lambda"), "behind", node_zip(SLEEPING_NODE))
    api_id, _ = http_api(nimbus.client("apigatewayv2"),
                         "arn:aws:lambda:us-east-1:000000000000:function:behind", ["GET /ok"])
    for path in ("/ok", "/ok", "/missing"):
        execute(nimbus, api_id, path)
    cw = nimbus.client("cloudwatch")
    dims = [{"Name": "ApiId", "Value": api_id}]
    count = wait_for_sum(cw, dims, "Count", 3, namespace="AWS/ApiGateway")
    assert sum(p["Sum"] for p in count) == 3
    four = wait_for_sum(cw, dims, "4xx", 1, namespace="AWS/ApiGateway")
    assert sum(p["Sum"] for p in four) == 1
    listed = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/ApiGateway")["Metrics"]}
    assert {"Count", "4xx", "5xx", "Latency", "DataProcessed"} <= listed
    assert "4XXError" not in listed  # the REST API name
    # Per stage too, as HTTP APIs publish them: {ApiId, Stage}.
    staged = dims + [{"Name": "Stage", "Value": "$default"}]
    assert sum(p["Sum"] for p in wait_for_sum(cw, staged, "Count", 3,
                                              namespace="AWS/ApiGateway")) == 3
    listed = cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="Count")["Metrics"]
    assert sorted(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed) == [
        [("ApiId", api_id)], [("ApiId", api_id), ("Stage", "$default")]]


def test_detailed_metrics_are_published_by_route_where_the_stage_enables_them(nimbus):
    create_function(nimbus.client("lambda"), "behind", node_zip(SLEEPING_NODE))
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, function_arn("behind"), ["GET /a", "GET /b"], stage=None)
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True,
                        DefaultRouteSettings={"DetailedMetricsEnabled": True},
                        RouteSettings={"GET /b": {"DetailedMetricsEnabled": False}})
    for path in ("/a", "/a", "/b"):
        assert execute(nimbus, api_id, path)[0] == 200
    cw = nimbus.client("cloudwatch")
    staged = [{"Name": "ApiId", "Value": api_id}, {"Name": "Stage", "Value": "$default"}]
    assert sum(p["Sum"] for p in wait_for_sum(cw, staged, "Count", 3,
                                              namespace="AWS/ApiGateway")) == 3
    start, end = window()

    def count(route):
        points = cw.get_metric_statistics(
            Namespace="AWS/ApiGateway", MetricName="Count", StartTime=start, EndTime=end,
            Period=3600, Statistics=["Sum"],
            Dimensions=staged + [{"Name": "Route", "Value": route}])["Datapoints"]
        return sum(p["Sum"] for p in points)

    # "GET /b" turned detailed metrics off for itself.
    assert (count("GET /a"), count("GET /b")) == (2, 0)
    listed = cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="Latency",
                             Dimensions=[{"Name": "Route"}])["Metrics"]
    assert [sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed] == [
        [("ApiId", api_id), ("Route", "GET /a"), ("Stage", "$default")]]


def test_rest_api_metrics_are_published_by_api_name_and_stage(nimbus):
    api_id, _ = proxy_api(nimbus)  # named "rest-test", deployed to "prod"
    nimbus.aws("apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", "beta")
    for path in ("/prod/items/1", "/prod/items/2", "/beta/items/3", "/prod/", "/gamma/items/4"):
        execute(nimbus, api_id, path)
    cw = nimbus.client("cloudwatch")
    by_name = [{"Name": "ApiName", "Value": "rest-test"}]
    assert sum(p["Sum"] for p in wait_for_sum(cw, by_name, "Count", 5,
                                              namespace="AWS/ApiGateway")) == 5

    def total(metric, dims, statistic="Sum"):
        return summed(cw, "AWS/ApiGateway", metric, dims, statistic)

    prod = by_name + [{"Name": "Stage", "Value": "prod"}]
    beta = by_name + [{"Name": "Stage", "Value": "beta"}]
    assert (total("Count", prod), total("Count", beta)) == (3, 1)
    # "/prod/" has no method, and "gamma" is no stage: REST APIs' 403s, the
    # second the API's alone.
    assert (total("4XXError", prod), total("4XXError", beta), total("4XXError", by_name)) == (1, 0, 2)
    assert total("Latency", prod, "SampleCount") == 3
    assert total("IntegrationLatency", beta, "SampleCount") == 1
    # REST APIs are not published by id, nor under HTTP APIs' names for errors.
    assert total("Count", [{"Name": "ApiId", "Value": api_id}]) == 0
    assert total("4xx", by_name) == 0
    assert total("Count", [{"Name": "ApiName", "Value": "another"}]) == 0

    listed = cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="4XXError")["Metrics"]
    assert sorted(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed) == [
        [("ApiName", "rest-test")], [("ApiName", "rest-test"), ("Stage", "beta")],
        [("ApiName", "rest-test"), ("Stage", "prod")]]
    filtered = cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="Count",
                               Dimensions=[{"Name": "Stage", "Value": "beta"}])["Metrics"]
    assert [m["Dimensions"] for m in filtered] == [
        [{"Name": "ApiName", "Value": "rest-test"}, {"Name": "Stage", "Value": "beta"}]]


def test_rest_api_detailed_metrics_by_method_and_resource_where_method_settings_enable_them(nimbus):
    api_id, _ = proxy_api(nimbus)  # GET /items/{id} and ANY /{proxy+}, on "prod"
    client = nimbus.client("apigateway")
    stage = client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
        {"op": "replace", "path": "/~1{proxy+}/ANY/metrics/enabled", "value": "false"}])
    assert stage["methodSettings"]["*/*"]["metricsEnabled"] is True
    assert stage["methodSettings"]["{proxy+}/ANY"]["metricsEnabled"] is False
    for bad in ({"op": "replace", "path": "/*/*/metrics/enabled", "value": "yes"},
                {"op": "replace", "path": "/metrics/enabled", "value": "true"}):  # no method
        with pytest.raises(ClientError) as refused:
            client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[bad])
        assert refused.value.response["Error"]["Code"] == "BadRequestException"
    for path in ("/prod/items/1", "/prod/items/2", "/prod/other"):
        assert execute(nimbus, api_id, path)[0] == 200
    cw = nimbus.client("cloudwatch")
    prod = [{"Name": "ApiName", "Value": "rest-test"}, {"Name": "Stage", "Value": "prod"}]
    assert sum(p["Sum"] for p in wait_for_sum(cw, prod, "Count", 3, namespace="AWS/ApiGateway")) == 3
    start, end = window()

    def total(metric, method, resource, statistic="Sum"):
        dims = prod + [{"Name": "Method", "Value": method}, {"Name": "Resource", "Value": resource}]
        return summed(cw, "AWS/ApiGateway", metric, dims, statistic)

    assert total("Count", "GET", "/items/{id}") == 2
    assert total("Latency", "GET", "/items/{id}", "SampleCount") == 2
    assert total("4XXError", "GET", "/items/{id}", "SampleCount") == 2
    # The ANY method turned them off for itself; REST APIs have no Route.
    assert total("Count", "ANY", "/{proxy+}") == 0
    route = cw.get_metric_statistics(
        Namespace="AWS/ApiGateway", MetricName="Count", StartTime=start, EndTime=end,
        Period=3600, Statistics=["Sum"],
        Dimensions=prod + [{"Name": "Route", "Value": "GET /items/{id}"}])["Datapoints"]
    assert route == []

    listed = cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="Count",
                             Dimensions=[{"Name": "Method"}])["Metrics"]
    assert [sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed] == [
        [("ApiName", "rest-test"), ("Method", "GET"), ("Resource", "/items/{id}"),
         ("Stage", "prod")]]
    assert cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="Count",
                           Dimensions=[{"Name": "Resource", "Value": "/{proxy+}"}])["Metrics"] == []


# Allows every request, after a pause: time spent at the gateway, before the
# integration is called.
SLOW_AUTHORIZER = """
export const handler = async () => {
  await new Promise((resolve) => setTimeout(resolve, 600));
  return { isAuthorized: true };
};
"""


def test_integration_latency_is_the_integrations_share_of_latency(nimbus):
    lam = nimbus.client("lambda")
    create_function(lam, "gate", node_zip(SLOW_AUTHORIZER))
    create_function(lam, "quick", node_zip(SLEEPING_NODE))
    lam.invoke(FunctionName="quick", Payload=b"{}")  # warm: no cold start inside the integration
    client = nimbus.client("apigatewayv2")
    api_id, integration = http_api(client, function_arn("quick"), [], stage=None)
    authorizer = client.create_authorizer(
        ApiId=api_id, Name="gate", AuthorizerType="REQUEST", AuthorizerUri=function_arn("gate"),
        AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
        AuthorizerResultTtlInSeconds=0, IdentitySource=["$request.header.Authorization"])
    client.create_route(ApiId=api_id, RouteKey="GET /guarded", Target=f"integrations/{integration}",
                        AuthorizationType="CUSTOM", AuthorizerId=authorizer["AuthorizerId"])
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    for _ in range(2):
        assert execute(nimbus, api_id, "/guarded", headers={"Authorization": "x"})[0] == 200
    # No identity: refused before the authorizer, never at the integration.
    assert execute(nimbus, api_id, "/guarded")[0] == 401

    cw = nimbus.client("cloudwatch")
    dims = [{"Name": "ApiId", "Value": api_id}]
    wait_for_sum(cw, dims, "Count", 3, namespace="AWS/ApiGateway")
    start, end = window()

    def stats(metric):
        points = cw.get_metric_statistics(
            Namespace="AWS/ApiGateway", MetricName=metric, Dimensions=dims, StartTime=start,
            EndTime=end, Period=3600, Statistics=["SampleCount", "Maximum"])["Datapoints"]
        assert len(points) == 1, points
        return points[0]

    latency, integration = stats("Latency"), stats("IntegrationLatency")
    assert latency["SampleCount"] == 3 and integration["SampleCount"] == 2
    assert latency["Unit"] == integration["Unit"] == "Milliseconds"
    # Latency counts the authorizer's pause; the warm function's call does not.
    assert latency["Maximum"] >= 600
    assert 0 < integration["Maximum"] < 600


def test_bad_requests_get_cloudwatch_errors(nimbus):
    cw = nimbus.client("cloudwatch")
    start, end = window()
    with pytest.raises(ClientError) as period:
        cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Invocations",
                                 StartTime=start, EndTime=end, Period=61, Statistics=["Sum"])
    assert period.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as order:
        cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Invocations",
                                 StartTime=end, EndTime=start, Period=60, Statistics=["Sum"])
    assert order.value.response["Error"]["Code"] == "InvalidParameterValue"
    for expression in ("PERCENTILE(m, 2)", "m +", "unknown * 2"):
        with pytest.raises(ClientError) as math:
            cw.get_metric_data(StartTime=start, EndTime=end,
                               MetricDataQueries=[{"Id": "m", "Expression": expression}])
        assert math.value.response["Error"]["Code"] == "ValidationError", expression
    # A metric nobody published has no datapoints, not an error.
    empty = cw.get_metric_statistics(Namespace="AWS/DynamoDB", MetricName="ConsumedReadCapacityUnits",
                                     StartTime=start, EndTime=end, Period=60, Statistics=["Sum"])
    assert empty["Datapoints"] == []
    with pytest.raises(ClientError) as alarm:
        cw.describe_alarms()
    assert alarm.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_dynamodb_request_metrics_by_table_and_operation(nimbus):
    """SuccessfulRequestLatency, ReturnedItemCount and SystemErrors by
    TableName and Operation; ConditionalCheckFailedRequests by TableName;
    UserErrors for the account, without dimensions: what DynamoDB publishes."""
    ddb = nimbus.client("dynamodb")
    cw = nimbus.client("cloudwatch")
    ddb.create_table(TableName="orders",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     BillingMode="PAY_PER_REQUEST")
    for pk, sk in (("a", 1), ("a", 2), ("a", 3), ("b", 1)):
        ddb.put_item(TableName="orders", Item={"pk": {"S": pk}, "sk": {"N": str(sk)}})
    ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    counts = [ddb.query(TableName="orders", KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": pk}})["Count"] for pk in "abc"]
    assert counts == [3, 1, 0]
    assert ddb.scan(TableName="orders")["Count"] == 4
    for _ in range(2):  # failed conditions: ConditionalCheckFailedRequests, not UserErrors
        with pytest.raises(ClientError) as failed:
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
                         ConditionExpression="attribute_not_exists(pk)")
        assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError):  # no such table
        ddb.get_item(TableName="missing", Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError):  # a key without its sort key
        ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError):  # not an operation of a table
        ddb.describe_table(TableName="missing")

    table = {"Name": "TableName", "Value": "orders"}
    start, end = window()

    def stats(metric, dims, wanted_count):
        deadline = time.time() + 10
        while True:
            points = cw.get_metric_statistics(
                Namespace="AWS/DynamoDB", MetricName=metric, Dimensions=dims, StartTime=start,
                EndTime=end, Period=3600,
                Statistics=["Sum", "SampleCount", "Minimum", "Maximum"])["Datapoints"]
            if sum(p["SampleCount"] for p in points) >= wanted_count or time.time() > deadline:
                assert len(points) <= 1
                return points[0] if points else None
            time.sleep(0.1)

    def op(name):
        return [table, {"Name": "Operation", "Value": name}]

    puts = stats("SuccessfulRequestLatency", op("PutItem"), 4)
    assert puts["SampleCount"] == 4  # the two refused puts are not successes
    assert puts["Unit"] == "Milliseconds"
    assert 0 < puts["Minimum"] <= puts["Maximum"] < 5000
    assert stats("SuccessfulRequestLatency", op("GetItem"), 1)["SampleCount"] == 1
    [slowest] = cw.get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName="SuccessfulRequestLatency", Dimensions=op("PutItem"),
        StartTime=start, EndTime=end, Period=3600, ExtendedStatistics=["p100"])["Datapoints"]
    assert slowest["ExtendedStatistics"]["p100"] == puts["Maximum"]
    assert stats("SuccessfulRequestLatency", op("Query"), 3)["SampleCount"] == 3
    queried = stats("ReturnedItemCount", op("Query"), 3)
    assert (queried["Sum"], queried["SampleCount"], queried["Minimum"], queried["Maximum"]) == \
        (4.0, 3.0, 0.0, 3.0)
    assert stats("ReturnedItemCount", op("Scan"), 1)["Sum"] == 4.0
    assert stats("ConditionalCheckFailedRequests", [table], 1)["Sum"] == 2.0
    # Consumed capacity per request: six 1-unit puts (a refused conditional
    # put consumes too), and five eventually consistent reads of half a
    # unit each (a Query finding nothing included).
    written = stats("ConsumedWriteCapacityUnits", [table], 6)
    assert (written["Sum"], written["SampleCount"], written["Maximum"]) == (6.0, 6.0, 1.0)
    read = stats("ConsumedReadCapacityUnits", [table], 5)
    assert (read["Sum"], read["SampleCount"], read["Minimum"], read["Maximum"]) == \
        (2.5, 5.0, 0.5, 0.5)
    assert stats("UserErrors", [], 1)["Sum"] == 3.0
    # Published only with the dimensions DynamoDB publishes them with.
    assert stats("SuccessfulRequestLatency", [table], 0) is None
    assert stats("UserErrors", [table], 0) is None
    assert stats("SystemErrors", op("PutItem"), 0) is None

    listed = nimbus.aws("cloudwatch", "list-metrics", "--namespace", "AWS/DynamoDB")["Metrics"]
    names = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
             for m in listed}
    for operation in ("PutItem", "GetItem", "Query", "Scan"):
        assert ("SuccessfulRequestLatency",
                (("Operation", operation), ("TableName", "orders"))) in names
    assert ("ReturnedItemCount", (("Operation", "Query"), ("TableName", "orders"))) in names
    assert ("ReturnedItemCount", (("Operation", "GetItem"), ("TableName", "orders"))) not in names
    assert ("ConditionalCheckFailedRequests", (("TableName", "orders"),)) in names
    assert ("UserErrors", ()) in names
    assert not any(m == "SystemErrors" for m, _ in names)
    only_query = cw.list_metrics(Namespace="AWS/DynamoDB", MetricName="SuccessfulRequestLatency",
                                 Dimensions=[{"Name": "Operation", "Value": "Query"}])["Metrics"]
    assert [sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in only_query] == \
        [[("Operation", "Query"), ("TableName", "orders")]]
