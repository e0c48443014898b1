"""API Gateway's access logs and metering: each request served by a stage
with accessLogSettings leaves a line in the named CloudWatch Logs group,
rendered from the format's $context variables; each request to an API is a
usage record in the ledger."""

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from apigateway_support import echo_function, execute, http_api
from test_apigateway_rest_apis import proxy_api

GROUP_ARN = "arn:aws:logs:us-east-1:000000000000:log-group:/api/access"
FORMAT = json.dumps({"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                     "method": "$context.httpMethod", "routeKey": "$context.routeKey",
                     "status": "$context.status", "length": "$context.responseLength",
                     "stage": "$context.stage", "apiId": "$context.apiId",
                     "time": "$context.requestTime", "epoch": "$context.requestTimeEpoch",
                     "error": "$context.error.message", "nothing": "$context.no.such.thing",
                     "latency": "$context.responseLatency",
                     "integration": "$context.integrationLatency"})


def access_lines(server, group="/api/access", count=1, timeout=10):
    logs = server.client("logs")
    deadline = time.time() + timeout
    while True:
        events = []
        if any(g["logGroupName"] == group for g in
               logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]):
            events = logs.filter_log_events(logGroupName=group)["events"]
        if len(events) >= count or time.time() > deadline:
            return events
        time.sleep(0.1)


def test_http_api_access_logs_render_context_variables(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["GET /items/{id}"])
    client.update_stage(ApiId=api_id, StageName="$default",
                        AccessLogSettings={"DestinationArn": GROUP_ARN, "Format": FORMAT})
    status, headers, _ = execute(nimbus, api_id, "/items/7")
    assert status == 200
    assert execute(nimbus, api_id, "/nowhere")[0] == 404

    events = access_lines(nimbus, count=2)
    assert len(events) == 2
    assert events[0]["logStreamName"] == f"{api_id}_$default"
    first, second = (json.loads(e["message"]) for e in events)
    assert first["requestId"] == headers["apigw-requestid"]
    assert first["ip"] == "127.0.0.1" and first["method"] == "GET"
    assert first["routeKey"] == "GET /items/{id}" and first["status"] == "200"
    assert int(first["length"]) > 0 and first["stage"] == "$default" and first["apiId"] == api_id
    assert first["nothing"] == "-" and first["error"] == "-"
    assert abs(int(first["epoch"]) - time.time() * 1000) < 60_000
    assert first["time"].endswith(" +0000") and first["time"].count(":") == 3
    assert second["status"] == "404" and second["error"] == "Not Found"
    assert second["routeKey"] == "-"
    # The integration's share of the latency; none for a request no route took.
    assert 0 <= int(first["integration"]) <= int(first["latency"])
    assert second["integration"] == "-" and int(second["latency"]) >= 0

    # Without accessLogSettings nothing more is written.
    client.update_stage(ApiId=api_id, StageName="$default", AccessLogSettings={})
    assert execute(nimbus, api_id, "/items/8")[0] == 200
    time.sleep(0.3)
    assert len(access_lines(nimbus, count=3, timeout=0.5)) == 2


def test_rest_api_access_logs_and_usage(nimbus):
    api_id, _ = proxy_api(nimbus)
    nimbus.aws("apigateway", "update-stage", "--rest-api-id", api_id, "--stage-name", "prod",
               "--patch-operations",
               f"op=replace,path=/accessLogSettings/destinationArn,value={GROUP_ARN}",
               "op=replace,path=/accessLogSettings/format,value=$context.requestId $context.resourcePath $context.status")
    stage = nimbus.aws("apigateway", "get-stage", "--rest-api-id", api_id, "--stage-name", "prod")
    assert stage["accessLogSettings"]["destinationArn"] == GROUP_ARN
    status, headers, _ = execute(nimbus, api_id, "/prod/items/42")
    assert status == 200
    events = access_lines(nimbus)
    assert len(events) == 1
    request_id, resource, code = events[0]["message"].split(" ")
    assert request_id == headers["x-amzn-RequestId"]
    assert (resource, code) == ("/items/{id}", "200")

    # The request is a REST API request in the ledger.
    deadline = time.time() + 10
    while True:
        status, body = nimbus.get("/_nimbus/cost?by=resource")
        lines = [l for l in json.loads(body)["lines"] if l["meter"] == "apigateway.rest.requests"]
        if lines or time.time() > deadline:
            break
        time.sleep(0.1)
    assert lines == [{"service": "apigateway", "resource": api_id, "meter": "apigateway.rest.requests",
                      "unit": "requests", "usage": "1", "recorded": 1, "recordedUnit": "requests",
                      "freeTier": "0", "cost": "0.0000035000"}]


def test_rest_api_execution_logs_follow_the_stages_logging_level(nimbus):
    """Execution logs as API Gateway writes them to
    API-Gateway-Execution-Logs_<api id>/<stage>: each line "(<request id>)
    <text>"; INFO the request's way through the method (with dataTrace its
    data, cut at 1,024 bytes), ERROR only failures."""
    api_id, _ = proxy_api(nimbus)
    client = nimbus.client("apigateway")
    stage = client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
        {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "true"}])
    assert stage["methodSettings"]["*/*"] == {"loggingLevel": "INFO", "dataTraceEnabled": True}
    status, headers, _ = execute(nimbus, api_id, "/prod/items/42?tag=a&tag=b")
    assert status == 200
    request_id = headers["x-amzn-RequestId"]
    group = f"API-Gateway-Execution-Logs_{api_id}/prod"
    events = access_lines(nimbus, group, count=16)
    messages = [event["message"] for event in events]
    prefix = f"({request_id}) "
    assert all(message.startswith(prefix) for message in messages), messages
    texts = [message[len(prefix):] for message in messages]
    assert texts[0] == f"Extended Request Id: {request_id}"
    for expected in (f"Starting execution for request: {request_id}",
                     "HTTP Method: GET, Resource Path: /items/42",
                     "Method request path: {id=42}",
                     "Method request query string: {tag=b}",
                     "Endpoint request URI: https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"
                     "arn:aws:lambda:us-east-1:000000000000:function:echo/invocations"):
        assert expected in texts, (expected, texts)
    received = [text for text in texts if text.startswith("Received response. ")]
    assert len(received) == 1 and re.fullmatch(
        r"Received response\. Status: 200, Integration latency: \d+ ms", received[0])
    # The echoed event is longer than a log event may be: cut at 1,024 bytes.
    [response_body] = [m for m in messages if "Endpoint response body before transformations: " in m]
    assert response_body.endswith(" [TRUNCATED]")
    assert len(response_body.encode()) == 1024 + len(" [TRUNCATED]")
    assert texts[-2:] == ["Successfully completed execution", "Method completed with status: 200"]
    logs = nimbus.client("logs")
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert re.fullmatch(r"[0-9a-f]{32}", stream["logStreamName"])

    # ERROR: a success writes nothing; a failure writes why, and its status.
    client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"}])
    outcomes = {}
    for query in ("", "?fail=1", "?plain=1"):
        status, headers, _ = execute(nimbus, api_id, f"/prod/items/7{query}")
        outcomes[query] = (status, headers["x-amzn-RequestId"])
    assert [status for status, _ in outcomes.values()] == [200, 502, 502]
    events = access_lines(nimbus, group, count=len(messages) + 4)
    later = [event["message"] for event in events][len(messages):]

    def lines_of(query):
        request = outcomes[query][1]
        return [m[len(request) + 3:] for m in later if m.startswith(f"({request}) ")]

    assert lines_of("") == []
    [failed, completed] = lines_of("?fail=1")
    assert failed.startswith("Lambda execution failed with status 200 due to customer function "
                             "error: asked to fail. Lambda request id: ")
    assert completed == "Method completed with status: 502"
    assert lines_of("?plain=1") == [
        "Execution failed due to configuration error: Malformed Lambda proxy response",
        "Method completed with status: 502"]

    with pytest.raises(ClientError) as refused:
        client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "DEBUG"}])
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
