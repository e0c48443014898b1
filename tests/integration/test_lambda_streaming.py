"""Response streaming: handlers wrapped in awslambda.streamifyResponse, read
through InvokeWithResponseStream (the npm JS SDK decodes the event stream),
through a buffered Invoke, and through a RESPONSE_STREAM function URL."""

import base64
import json
import os
import pathlib
import subprocess
import time
import urllib.request

import pytest

from lambda_support import create_function, invoke_json, node_zip

SCRIPT = pathlib.Path(__file__).parent / "js" / "lambda_stream.cjs"

STREAMING_NODE = """
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  console.log("streaming", event.parts);
  if (event.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 207, headers: { "x-streamed": "yes", "content-type": "text/plain" }, cookies: ["s=1"],
    });
  } else {
    responseStream.setContentType("text/plain");
  }
  for (let i = 0; i < (event.parts ?? 3); i++) {
    responseStream.write(`part ${i};`);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (event.fail) throw new Error(event.fail);
  responseStream.end();
});
"""


def stream_via_sdk(nimbus, function, payload):
    sdk_dir = os.environ.get("NIMBUS_AWS_SDK_JS_DIR")
    if not sdk_dir:
        pytest.skip("NIMBUS_AWS_SDK_JS_DIR is not set (scripts/test.sh sets it from scripts/aws-sdk-js.sh)")
    result = subprocess.run(["node", str(SCRIPT), sdk_dir, nimbus.endpoint, function, json.dumps(payload)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_invoke_with_response_stream_delivers_the_chunks(nimbus):
    create_function(nimbus.client("lambda"), "streamer", node_zip(STREAMING_NODE))
    seen = stream_via_sdk(nimbus, "streamer", {"parts": 4})
    assert seen["status"] == 200 and seen["version"] == "$LATEST"
    assert "".join(seen["chunks"]) == "part 0;part 1;part 2;part 3;"
    assert "ErrorCode" not in seen["complete"] or seen["complete"]["ErrorCode"] is None
    log = base64.b64decode(seen["complete"]["LogResult"]).decode()
    assert "streaming 4" in log and "REPORT RequestId:" in log


PAUSING_NODE = """
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  responseStream.write("early;");
  await new Promise((r) => setTimeout(r, event.pause_ms));
  responseStream.write("late;");
  responseStream.end();
});
"""


def test_streamed_bytes_arrive_as_the_function_writes_them(nimbus):
    create_function(nimbus.client("lambda"), "pauses", node_zip(PAUSING_NODE))
    stream_via_sdk(nimbus, "pauses", {"pause_ms": 0})  # warm: no cold start in the timing
    seen = stream_via_sdk(nimbus, "pauses", {"pause_ms": 1500})
    assert "".join(seen["chunks"]) == "early;late;"
    # The first bytes came while the function was still running.
    assert seen["chunks"][0] == "early;"
    assert seen["completeTime"] - seen["chunkTimes"][0] >= 1000, seen


def test_an_error_after_streaming_began_is_reported_in_invoke_complete(nimbus):
    create_function(nimbus.client("lambda"), "breaks", node_zip(STREAMING_NODE))
    seen = stream_via_sdk(nimbus, "breaks", {"parts": 2, "fail": "midway"})
    assert seen["complete"]["ErrorCode"] == "Error"
    assert seen["complete"]["ErrorDetails"] == "midway"


def test_a_buffered_invoke_of_a_streaming_handler_returns_the_whole_answer(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "whole", node_zip(STREAMING_NODE))
    response = client.invoke(FunctionName="whole", Payload=b'{"parts": 3}')
    assert "FunctionError" not in response
    assert response["Payload"].read() == b"part 0;part 1;part 2;"
    response, body = invoke_json(client, "whole", {"fail": "nope"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Error" and body["errorMessage"] == "nope"


URL_STREAMING_NODE = """
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.rawPath === "/http") {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 207, headers: { "x-streamed": "yes", "content-type": "text/plain" }, cookies: ["s=1"],
    });
  } else {
    responseStream.setContentType("text/csv");
  }
  responseStream.write("a,b\\n");
  responseStream.write("1,2\\n");
  responseStream.end();
});
"""


def test_a_response_stream_url_maps_the_http_prelude(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "web-stream", node_zip(URL_STREAMING_NODE))
    # Debian's botocore predates InvokeMode: the request as a newer SDK sends it.
    create = urllib.request.Request(f"{nimbus.endpoint}/2021-10-31/functions/web-stream/url", method="POST",
                                    data=json.dumps({"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}).encode(),
                                    headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(create, timeout=20) as response:
        created = json.loads(response.read())
    assert created["InvokeMode"] == "RESPONSE_STREAM"
    url = created["FunctionUrl"]
    url_id = url.split("//", 1)[1].split(".", 1)[0]
    base = f"{nimbus.endpoint}/_lambda/url/{url_id}"
    with urllib.request.urlopen(base + "/http", timeout=20) as response:
        assert response.status == 207
        assert response.headers["x-streamed"] == "yes"
        assert response.headers["Content-Type"] == "text/plain"
        assert response.headers["Set-Cookie"] == "s=1"
        assert response.read() == b"a,b\n1,2\n"
    with urllib.request.urlopen(base + "/plain", timeout=20) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv"
        assert response.read() == b"a,b\n1,2\n"


def test_a_response_stream_url_sends_bytes_as_the_function_writes_them(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "web-pauses", node_zip(PAUSING_NODE.replace("event.pause_ms", "1500")))
    create = urllib.request.Request(f"{nimbus.endpoint}/2021-10-31/functions/web-pauses/url", method="POST",
                                    data=json.dumps({"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}).encode(),
                                    headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(create, timeout=20) as response:
        url_id = json.loads(response.read())["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
    base = f"{nimbus.endpoint}/_lambda/url/{url_id}"
    with urllib.request.urlopen(base + "/warm", timeout=20) as response:
        assert response.read() == b"early;late;"
    started = time.monotonic()
    with urllib.request.urlopen(base + "/timed", timeout=20) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "text/plain"
        assert response.headers["Transfer-Encoding"] == "chunked"
        first = response.read1(1024)
        first_at = time.monotonic() - started
        rest = response.read()
        done_at = time.monotonic() - started
    assert first == b"early;" and rest == b"late;"
    assert done_at - first_at >= 1.0, (first_at, done_at)
