"""Asynchronous invocation (InvocationType=Event): retries, maximum age,
destinations with Lambda's invocation record, and the queue's durability
across a kill -9. Functions report what they received to a Recorder."""

import signal
import time

from lambda_support import RECORDING_NODE, Recorder, create_function, node_zip
from nimbus_harness import NimbusServer

ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"
# Retries wait this long instead of Lambda's minute, so the test is quick.
FAST_RETRIES = ("--lambda-async-retry-delay", "0.2")


def recording_function(client, name, recorder):
    create_function(client, name, node_zip(RECORDING_NODE),
                    Environment={"Variables": {"RECORDER_URL": recorder.url}})


def test_an_event_runs_once_and_its_result_goes_to_on_success(nimbus_factory):
    server = nimbus_factory(*FAST_RETRIES)
    client = server.client("lambda")
    with Recorder() as recorder:
        recording_function(client, "worker", recorder)
        recording_function(client, "on-success", recorder)
        client.put_function_event_invoke_config(
            FunctionName="worker", DestinationConfig={"OnSuccess": {"Destination": ARN_PREFIX + "on-success"}})
        accepted = client.invoke(FunctionName="worker", InvocationType="Event", Payload=b'{"job": 7}')
        assert accepted["StatusCode"] == 202
        request_id = accepted["ResponseMetadata"]["RequestId"]

        ran = recorder.next()
        assert ran["function"] == "worker" and ran["event"] == {"job": 7}
        assert ran["requestId"] == request_id

        record = recorder.next()
        assert record["function"] == "on-success"
        event = record["event"]
        assert event["version"] == "1.0"
        assert event["requestContext"]["requestId"] == request_id
        assert event["requestContext"]["functionArn"] == ARN_PREFIX + "worker:$LATEST"
        assert event["requestContext"]["condition"] == "Success"
        assert event["requestContext"]["approximateInvokeCount"] == 1
        assert event["requestPayload"] == {"job": 7}
        assert event["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
        assert event["responsePayload"] == {"ok": True, "got": {"job": 7}}
        assert recorder.quiet_for(1.0)


def test_a_failing_event_is_retried_then_sent_to_on_failure(nimbus_factory):
    server = nimbus_factory(*FAST_RETRIES)
    client = server.client("lambda")
    with Recorder() as recorder:
        recording_function(client, "flaky", recorder)
        recording_function(client, "on-failure", recorder)
        config = client.put_function_event_invoke_config(
            FunctionName="flaky", MaximumRetryAttempts=1,
            DestinationConfig={"OnFailure": {"Destination": ARN_PREFIX + "on-failure"}})
        assert config["MaximumRetryAttempts"] == 1 and config["MaximumEventAgeInSeconds"] == 21600
        accepted = client.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"fail": "always"}')
        request_id = accepted["ResponseMetadata"]["RequestId"]

        runs = recorder.collect(2)
        assert [r["function"] for r in runs] == ["flaky", "flaky"]
        # Retries keep the request id, as Lambda's do.
        assert {r["requestId"] for r in runs} == {request_id}

        record = recorder.next()
        assert record["function"] == "on-failure"
        event = record["event"]
        assert event["requestContext"]["condition"] == "RetriesExhausted"
        assert event["requestContext"]["approximateInvokeCount"] == 2
        assert event["responseContext"]["functionError"] == "Unhandled"
        assert event["responsePayload"]["errorMessage"] == "always"
        assert recorder.quiet_for(1.0)


def test_default_policy_retries_twice(nimbus_factory):
    server = nimbus_factory(*FAST_RETRIES)
    client = server.client("lambda")
    with Recorder() as recorder:
        recording_function(client, "thrice", recorder)
        client.invoke(FunctionName="thrice", InvocationType="Event", Payload=b'{"fail": "x"}')
        assert len(recorder.collect(3)) == 3
        assert recorder.quiet_for(1.5)


def test_event_invoke_config_operations(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "cfg", node_zip(RECORDING_NODE))
    client.put_function_event_invoke_config(FunctionName="cfg", MaximumRetryAttempts=0,
                                            MaximumEventAgeInSeconds=60)
    updated = client.update_function_event_invoke_config(FunctionName="cfg", MaximumRetryAttempts=1)
    assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 60
    got = client.get_function_event_invoke_config(FunctionName="cfg")
    assert got["FunctionArn"] == ARN_PREFIX + "cfg:$LATEST"
    listed = client.list_function_event_invoke_configs(FunctionName="cfg")["FunctionEventInvokeConfigs"]
    assert len(listed) == 1
    client.delete_function_event_invoke_config(FunctionName="cfg")
    try:
        client.get_function_event_invoke_config(FunctionName="cfg")
    except client.exceptions.ResourceNotFoundException as missing:
        assert "doesn't have an EventInvokeConfig" in str(missing)
    else:
        raise AssertionError("the deleted config is still there")


def test_a_queued_event_survives_kill_9(tmp_path):
    with Recorder() as recorder:
        first = NimbusServer(*FAST_RETRIES, data_dir=tmp_path).start()
        client = first.client("lambda")
        recording_function(client, "later", recorder)
        # Reserved concurrency 0: the event is accepted and stays queued, throttled.
        client.put_function_concurrency(FunctionName="later", ReservedConcurrentExecutions=0)
        accepted = client.invoke(FunctionName="later", InvocationType="Event", Payload=b'{"kept": true}')
        assert accepted["StatusCode"] == 202
        request_id = accepted["ResponseMetadata"]["RequestId"]
        time.sleep(0.3)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        assert recorder.quiet_for(0.5)

        with NimbusServer(*FAST_RETRIES, data_dir=tmp_path) as second:
            second.client("lambda").delete_function_concurrency(FunctionName="later")
            ran = recorder.next()
            assert ran["requestId"] == request_id and ran["event"] == {"kept": True}


def test_the_2014_invoke_async_api_queues_an_event(nimbus_factory):
    server = nimbus_factory(*FAST_RETRIES)
    client = server.client("lambda")
    with Recorder() as recorder:
        recording_function(client, "legacy", recorder)
        accepted = client.invoke_async(FunctionName="legacy", InvokeArgs=b'{"old": "api"}')
        assert accepted["Status"] == 202
        ran = recorder.next()
        assert ran["function"] == "legacy" and ran["event"] == {"old": "api"}
