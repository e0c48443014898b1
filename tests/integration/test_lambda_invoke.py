"""Lambda's Invoke through boto3: payloads, function errors, log tails,
limits, throttling and the invocation types."""

import base64
import json
import socket

import botocore.exceptions
import pytest

from lambda_support import ECHO_NODE, create_function, invoke_json, make_zip, node_zip

PYTHON_ECHO = """
import json, os

def handler(event, context):
    print("python got", json.dumps(event))
    if event.get("fail"):
        raise ValueError(event["fail"])
    return {"event": event, "function": context.function_name, "memory": context.memory_limit_in_mb}
"""


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    error = raised.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_request_response_returns_the_functions_result(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "echo", node_zip(ECHO_NODE))
    response, body = invoke_json(client, "echo", {"n": 1})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert body["event"] == {"n": 1}
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    # No payload at all: the function gets an empty object, as on Lambda.
    _, body = invoke_json(client, "echo")
    assert body["event"] == {}


def test_python_functions_run_too(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "py", make_zip({"app.py": PYTHON_ECHO}), runtime="python3.11",
                    handler="app.handler", MemorySize=256)
    response, body = invoke_json(client, "py", {"k": "v"})
    # memory_limit_in_mb is a string in AWS's Python runtime too.
    assert body == {"event": {"k": "v"}, "function": "py", "memory": "256"}
    response, body = invoke_json(client, "py", {"fail": "bad value"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "bad value"


def test_function_errors_are_200_with_the_error_header(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "failing", node_zip(ECHO_NODE))
    response, body = invoke_json(client, "failing", {"fail": "boom"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Error" and body["errorMessage"] == "boom"


def test_log_tail_returns_the_invocations_log(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "talky", node_zip(ECHO_NODE))
    response = client.invoke(FunctionName="talky", LogType="Tail", Payload=b'{"say": "hello"}')
    log = base64.b64decode(response["LogResult"]).decode()
    assert f"START RequestId: {response['ResponseMetadata']['RequestId']}" in log
    assert 'event {"say":"hello"}' in log
    assert f"END RequestId: {response['ResponseMetadata']['RequestId']}" in log
    assert log.rstrip("\n").splitlines()[-1].startswith("REPORT RequestId: ")
    assert len(response["LogResult"]) <= 4096 * 4 // 3 + 4
    assert "LogResult" not in client.invoke(FunctionName="talky", Payload=b"{}")


def test_client_context_reaches_the_function(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "ctx", node_zip(ECHO_NODE))
    context = {"custom": {"who": "test"}, "env": {"locale": "en"}}
    encoded = base64.b64encode(json.dumps(context).encode()).decode()
    _, body = invoke_json(client, "ctx", {}, ClientContext=encoded)
    assert body["clientContext"] == context
    # Formatted over several lines, it still arrives whole: it travels to the
    # function in a header, where a line break would end it.
    indented = base64.b64encode(json.dumps(context, indent=2).encode()).decode()
    _, body = invoke_json(client, "ctx", {}, ClientContext=indented)
    assert body["clientContext"] == context
    assert error_of(lambda: client.invoke(FunctionName="ctx", ClientContext="not base64!"))[:1] == \
        ("InvalidRequestContentException",)


def test_dry_run_and_event_answer_without_a_result(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "types", node_zip(ECHO_NODE))
    dry = client.invoke(FunctionName="types", InvocationType="DryRun")
    assert dry["StatusCode"] == 204 and dry["Payload"].read() == b""
    event = client.invoke(FunctionName="types", InvocationType="Event", Payload=b'{"a": 1}')
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    assert error_of(lambda: client.invoke(FunctionName="missing", InvocationType="DryRun"))[0] == \
        "ResourceNotFoundException"


def test_payload_limits_and_malformed_payloads(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "limits", node_zip(ECHO_NODE))
    big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    assert error_of(lambda: client.invoke(FunctionName="limits", Payload=big)) == (
        "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the Invoke operation", 413)
    async_big = b'"' + b"x" * (1024 * 1024) + b'"'
    assert error_of(lambda: client.invoke(FunctionName="limits", InvocationType="Event", Payload=async_big))[:1] == \
        ("RequestTooLargeException",)
    code, message, status = error_of(lambda: client.invoke(FunctionName="limits", Payload=b"{not json"))
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert message.startswith("Could not parse request body into json")


def test_large_and_multibyte_payloads_cross_the_node_runtime_intact(nimbus):
    # Events and results of megabytes arrive in many reads, and characters of
    # several bytes straddle their edges; small ones after a large one must
    # not see its leftovers.
    client = nimbus.client("lambda")
    create_function(client, "echoes", node_zip(
        "export const handler = async (event) => ({ got: event, length: event.text.length });"))
    for text in ("é€𝄞" * 300_000, "small", "ß" * 70_000, "", "x"):
        # Sent and answered as UTF-8 bytes, not \u escapes.
        payload = json.dumps({"text": text}, ensure_ascii=False).encode()
        response = client.invoke(FunctionName="echoes", Payload=payload)
        answer = response["Payload"].read()
        assert "FunctionError" not in response
        assert text[:1].encode() in answer
        body = json.loads(answer)
        assert body["got"] == {"text": text}
        # JavaScript counts UTF-16 units: the clef is two.
        assert body["length"] == len(text.encode("utf-16-le")) // 2


def test_response_larger_than_6_mb_is_a_function_error(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "bigout", node_zip(
        'export const handler = async () => "y".repeat(7 * 1024 * 1024);'))
    response, body = invoke_json(client, "bigout", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"


def test_reserved_concurrency_zero_throttles_with_the_reason(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "stopped", node_zip(ECHO_NODE))
    client.put_function_concurrency(FunctionName="stopped", ReservedConcurrentExecutions=0)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.invoke(FunctionName="stopped", Payload=b"{}")
    error = raised.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    client.delete_function_concurrency(FunctionName="stopped")
    assert invoke_json(client, "stopped", {})[0]["StatusCode"] == 200


def test_a_timed_out_function_reports_lambdas_error(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "sleepy", node_zip(
        "export const handler = () => new Promise(r => setTimeout(r, 5000));"), Timeout=1)
    response, body = invoke_json(client, "sleepy", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].startswith("RequestId: ") and "Task timed out after 1.00 seconds" in body["errorMessage"]


def test_an_oversized_invoke_is_refused_before_its_body_is_sent(nimbus):
    create_function(nimbus.client("lambda"), "door", node_zip(ECHO_NODE))
    host, port = nimbus.host_port
    with socket.create_connection((host, port), timeout=10) as connection:
        # Only the head: a server that waited for the 7 MB body would never answer.
        connection.sendall(b"POST /2015-03-31/functions/door/invocations HTTP/1.1\r\n"
                           b"Host: localhost\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 7340032\r\n\r\n")
        answer = connection.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413")
    assert "RequestTooLargeException" in answer
    assert "Request must be smaller than 6291456 bytes for the Invoke operation" in answer

