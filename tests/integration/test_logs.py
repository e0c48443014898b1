"""CloudWatch Logs through the AWS CLI and boto3: what functions print,
read back with describe/get/filter and `aws logs tail` (following too);
groups, streams and events written through the API; filter patterns;
retention policies that actually delete old events."""

import json
import signal
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from lambda_support import create_function, invoke_json, node_zip
from nimbus_harness import NimbusServer

LOGGING_NODE = """
export const handler = async (event, context) => {
  console.log("plain line", event.n);
  // A bare JSON line (console.log would prefix time, request id and level).
  process.stdout.write(JSON.stringify({ level: event.n % 2 ? "error" : "info", n: event.n,
                                        user: { id: "u-" + event.n } }) + "\\n");
  return { n: event.n };
};
"""


def logging_function(nimbus, name="logger"):
    client = nimbus.client("lambda")
    create_function(client, name, node_zip(LOGGING_NODE))
    return client


def wait_for(predicate, timeout=10.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def read_forward(logs, group, stream, limit):
    """Every message of a stream, paging forward from the head `limit` at a
    time until the forward token repeats (how the SDKs know it is the end)."""
    seen, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit,
                                   **kwargs)
        seen += [event["message"] for event in page["events"]]
        if page["nextForwardToken"] == token:
            return seen
        token = page["nextForwardToken"]


def messages(events):
    return [event["message"].rstrip("\n") for event in events]


def test_function_logs_read_back_with_the_cli(nimbus):
    client = logging_function(nimbus)
    for n in range(4):
        invoke_json(client, "logger", {"n": n})
    group = "/aws/lambda/logger"

    groups = nimbus.aws("logs", "describe-log-groups", "--log-group-name-prefix",
                                   "/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    assert groups[0]["arn"].endswith(":log-group:/aws/lambda/logger:*")

    streams = nimbus.aws("logs", "describe-log-streams", "--log-group-name",
                                    group)["logStreams"]
    assert len(streams) == 1  # one warm instance served all four
    stream = streams[0]
    assert "/[$LATEST]" in stream["logStreamName"]
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]

    # Logs reach the store a moment after the invocation returns.
    def all_events():
        out = nimbus.aws("logs", "get-log-events", "--log-group-name", group,
                                    "--log-stream-name", stream["logStreamName"],
                                    "--start-from-head")
        lines = messages(out["events"])
        return lines if sum(line.startswith("REPORT ") for line in lines) == 4 else None

    lines = wait_for(all_events)
    assert lines, "four REPORT lines"
    assert lines[0].startswith("START RequestId: ")
    assert any("plain line 3" in line for line in lines)
    assert lines[-1].startswith("REPORT RequestId: ")

    # Filter patterns: a term, a quoted phrase, a JSON pattern.
    def filtered(pattern):
        out = nimbus.aws("logs", "filter-log-events", "--log-group-name", group,
                                    "--filter-pattern", pattern)
        return messages(out["events"])

    assert len(filtered("REPORT")) == 4
    assert [line.split("\t")[-1] for line in filtered('"plain line 2"')] == ["plain line 2"]
    errors = filtered('{ $.level = "error" }')
    assert [json.loads(line)["n"] for line in errors] == [1, 3]
    assert len(filtered('{ $.n >= 2 && $.user.id = "u-*" }')) == 2
    assert len(filtered("?START ?END")) == 8

    # `aws logs tail` prints every line with its stream.
    tail = nimbus.aws("logs", "tail", group, "--since", "1h", check=False).stdout
    assert tail.count("REPORT RequestId:") == 4
    assert "plain line 0" in tail


def test_logs_tail_follow_shows_new_invocations(nimbus):
    client = logging_function(nimbus, "follower")
    invoke_json(client, "follower", {"n": 1})  # the group exists before tail starts
    env = nimbus.client_env()
    follow = subprocess.Popen(
        ["/usr/bin/aws", "--endpoint-url", nimbus.endpoint, "logs", "tail",
         "/aws/lambda/follower", "--follow", "--format", "short"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1)
        invoke_json(client, "follower", {"n": 424242})
        deadline = time.time() + 20
        seen = ""
        while time.time() < deadline and "plain line 424242" not in seen:
            seen += follow.stdout.readline()
        assert "plain line 424242" in seen
    finally:
        follow.kill()
        follow.wait()


def test_groups_streams_and_events_through_the_api(nimbus):
    logs = nimbus.client("logs")
    logs.create_log_group(logGroupName="/app/orders", tags={"team": "shop"})
    with pytest.raises(ClientError) as exists:
        logs.create_log_group(logGroupName="/app/orders")
    assert exists.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as bad_name:
        logs.create_log_group(logGroupName="has space")
    assert bad_name.value.response["Error"]["Code"] == "InvalidParameterException"
    assert logs.list_tags_log_group(logGroupName="/app/orders")["tags"] == {"team": "shop"}

    with pytest.raises(ClientError) as no_stream:
        logs.put_log_events(logGroupName="/app/orders", logStreamName="s1",
                            logEvents=[{"timestamp": 1, "message": "x"}])
    assert no_stream.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert no_stream.value.response["Error"]["Message"] == "The specified log stream does not exist."
    with pytest.raises(ClientError) as no_group:
        logs.create_log_stream(logGroupName="/app/none", logStreamName="s1")
    assert no_group.value.response["Error"]["Message"] == "The specified log group does not exist."

    logs.create_log_stream(logGroupName="/app/orders", logStreamName="s1")
    now = int(time.time() * 1000)
    with pytest.raises(ClientError) as order:
        logs.put_log_events(logGroupName="/app/orders", logStreamName="s1",
                            logEvents=[{"timestamp": now, "message": "b"},
                                       {"timestamp": now - 5, "message": "a"}])
    assert "chronological order" in order.value.response["Error"]["Message"]

    events = [{"timestamp": now - 1000 + i, "message": f"order {i}"} for i in range(25)]
    answer = logs.put_log_events(logGroupName="/app/orders", logStreamName="s1", logEvents=events)
    assert "rejectedLogEventsInfo" not in answer
    # Too old (15 days) and too new (3 hours ahead) are rejected, the rest kept.
    answer = logs.put_log_events(
        logGroupName="/app/orders", logStreamName="s1",
        logEvents=[{"timestamp": now - 15 * 86400000, "message": "ancient"},
                   {"timestamp": now - 15 * 86400000 + 1, "message": "ancient 2"}])
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}

    # Paging forward from the head, ten at a time, until the token repeats.
    assert read_forward(logs, "/app/orders", "s1", 10) == [f"order {i}" for i in range(25)]
    # Without startFromHead: the newest events, oldest first; then backwards.
    latest = logs.get_log_events(logGroupName="/app/orders", logStreamName="s1", limit=5)
    assert [e["message"] for e in latest["events"]] == [f"order {i}" for i in range(20, 25)]
    before = logs.get_log_events(logGroupName="/app/orders", logStreamName="s1", limit=5,
                                 nextToken=latest["nextBackwardToken"])
    assert [e["message"] for e in before["events"]] == [f"order {i}" for i in range(15, 20)]

    # FilterLogEvents pages with nextToken; the paginator collects all.
    paginator = logs.get_paginator("filter_log_events")
    found = [e["message"] for page in paginator.paginate(logGroupName="/app/orders",
                                                         filterPattern="order",
                                                         PaginationConfig={"PageSize": 7})
             for e in page["events"]]
    assert found == [f"order {i}" for i in range(25)]

    logs.delete_log_stream(logGroupName="/app/orders", logStreamName="s1")
    assert logs.describe_log_streams(logGroupName="/app/orders")["logStreams"] == []
    logs.delete_log_group(logGroupName="/app/orders")
    assert logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"] == []
    with pytest.raises(ClientError) as gone:
        logs.delete_log_group(logGroupName="/app/orders")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_batches_that_overlap_in_time_read_back_in_time_order(nimbus):
    # Each PutLogEvents call is stored as one record holding its events;
    # two calls whose times interleave must still read back merged.
    logs = nimbus.client("logs")
    logs.create_log_group(logGroupName="/app/merged")
    logs.create_log_stream(logGroupName="/app/merged", logStreamName="s")
    base = int(time.time() * 1000) - 60_000
    for parity in (0, 1):
        logs.put_log_events(logGroupName="/app/merged", logStreamName="s",
                            logEvents=[{"timestamp": base + 2 * i + parity,
                                        "message": f"e{2 * i + parity:02}"} for i in range(10)])
    expected = [f"e{i:02}" for i in range(20)]

    assert read_forward(logs, "/app/merged", "s", 7) == expected

    backward = []
    page = logs.get_log_events(logGroupName="/app/merged", logStreamName="s", limit=6)
    while page["events"]:
        backward = [e["message"] for e in page["events"]] + backward
        page = logs.get_log_events(logGroupName="/app/merged", logStreamName="s", limit=6,
                                   nextToken=page["nextBackwardToken"])
    assert backward == expected

    # A time window starting and ending inside both batches.
    window = logs.get_log_events(logGroupName="/app/merged", logStreamName="s",
                                 startTime=base + 5, endTime=base + 12, startFromHead=True)
    assert [e["message"] for e in window["events"]] == [f"e{i:02}" for i in range(5, 12)]
    found = [e["message"] for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName="/app/merged", startTime=base + 3, PaginationConfig={"PageSize": 4})
        for e in page["events"]]
    assert found == expected[3:]
    stream = logs.describe_log_streams(logGroupName="/app/merged")["logStreams"][0]
    assert (stream["firstEventTimestamp"], stream["lastEventTimestamp"]) == (base, base + 19)


def test_retention_deletes_expired_events(nimbus):
    logs = nimbus.client("logs")
    logs.create_log_group(logGroupName="/app/retained")
    logs.create_log_stream(logGroupName="/app/retained", logStreamName="s")
    now = int(time.time() * 1000)
    day = 86400000
    # One call each: a batch may not span more than 24 hours.
    for timestamp, message in [(now - 10 * day, "ten days old"), (now - 2 * day, "two days old"),
                               (now, "fresh")]:
        logs.put_log_events(logGroupName="/app/retained", logStreamName="s",
                            logEvents=[{"timestamp": timestamp, "message": message}])
    with pytest.raises(ClientError) as bad:
        logs.put_retention_policy(logGroupName="/app/retained", retentionInDays=2)
    assert bad.value.response["Error"]["Code"] == "InvalidParameterException"

    logs.put_retention_policy(logGroupName="/app/retained", retentionInDays=7)
    group = logs.describe_log_groups(logGroupNamePrefix="/app/retained")["logGroups"][0]
    assert group["retentionInDays"] == 7

    def remaining():
        page = logs.get_log_events(logGroupName="/app/retained", logStreamName="s",
                                   startFromHead=True)
        return [e["message"] for e in page["events"]]

    assert wait_for(lambda: remaining() == ["two days old", "fresh"]), remaining()
    # Events older than the retention are refused from now on.
    answer = logs.put_log_events(logGroupName="/app/retained", logStreamName="s",
                                 logEvents=[{"timestamp": now - 8 * day, "message": "late"}])
    assert answer["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    logs.delete_retention_policy(logGroupName="/app/retained")
    assert "retentionInDays" not in logs.describe_log_groups(
        logGroupNamePrefix="/app/retained")["logGroups"][0]


def test_logs_survive_a_restart(tmp_path):
    with NimbusServer(data_dir=tmp_path) as first:
        logs = first.client("logs")
        logs.create_log_group(logGroupName="/app/kept")
        logs.create_log_stream(logGroupName="/app/kept", logStreamName="s")
        logs.put_log_events(logGroupName="/app/kept", logStreamName="s",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "kept"}])
        first.stop(signal.SIGKILL)  # acknowledged means durable
    with NimbusServer(data_dir=tmp_path) as second:
        page = second.client("logs").get_log_events(logGroupName="/app/kept", logStreamName="s",
                                                    startFromHead=True)
        assert [e["message"] for e in page["events"]] == ["kept"]


def test_unimplemented_operations_say_so(nimbus):
    with pytest.raises(ClientError) as error:
        nimbus.client("logs").start_query(logGroupName="/x", startTime=0, endTime=1,
                                          queryString="fields @message")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
