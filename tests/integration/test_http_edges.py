"""What a misbehaving client can send: every case gets a 4xx with an
AWS-shaped body, and the server keeps serving."""

import http.client
import json
import signal
import socket

import pytest

SIGNED_FOR_STS = ("Authorization: AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/sts/"
                  "aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n"
                  "X-Amz-Date: 20261126T000000Z\r\n")


def raw_exchange(nimbus, head: bytes, body_size=0, chunk=1 << 20):
    """Sends a request head and `body_size` bytes of body, tolerating the
    server closing early, and returns everything it answered."""
    with socket.create_connection(nimbus.host_port, timeout=20) as sock:
        sock.sendall(head)
        sent = 0
        try:
            block = b"x" * chunk
            while sent < body_size:
                n = min(chunk, body_size - sent)
                sock.sendall(block[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except ConnectionResetError:
            pass
        return received


def split_response(raw: bytes):
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


def assert_still_serving(nimbus):
    assert nimbus.health()["status"] == "running"
    assert nimbus.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_malformed_http_gets_400(nimbus):
    for garbage in [b"THIS IS NOT HTTP\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"]:
        status, head, body = split_response(raw_exchange(nimbus, garbage))
        assert status == 400, head
        assert json.loads(body)["__type"] == "BadRequest"
    assert_still_serving(nimbus)


def test_hundred_megabyte_body_gets_413_without_being_stored(nimbus):
    size = 100 * 1024 * 1024
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"X-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: {size}\r\n\r\n").encode()
    status, head, body = split_response(raw_exchange(nimbus, head, size))
    assert status == 413, head
    error = json.loads(body)
    assert error["__type"] == "RequestEntityTooLargeException"
    assert "x-amzn-RequestId" in head
    assert_still_serving(nimbus)


def test_service_limit_applies_before_reading_the_body(nimbus):
    # STS takes at most 1 MiB; the refusal is in STS's own (awsQuery XML) shape.
    size = 2 * 1024 * 1024
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"{SIGNED_FOR_STS}Content-Length: {size}\r\n\r\n").encode()
    status, head, body = split_response(raw_exchange(nimbus, head, size))
    assert status == 413, head
    assert b"<Code>RequestEntityTooLargeException</Code>" in body


def test_chunked_body_past_the_limit_gets_413(nimbus):
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"{SIGNED_FOR_STS}Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
    status, _, _ = split_response(raw_exchange(nimbus, head + chunk * 3 + b"0\r\n\r\n"))
    assert status == 413
    assert_still_serving(nimbus)


@pytest.mark.parametrize("target", ["garbage", "Garbage.Op", ".", "DynamoDB_20120810.", "€€€.x"])
def test_garbage_x_amz_target_is_unknown_operation(nimbus, target):
    connection = http.client.HTTPConnection(*nimbus.host_port, timeout=10)
    connection.request("POST", "/", body=b"{}", headers={
        "X-Amz-Target": target.encode("utf-8"), "Content-Type": "application/x-amz-json-1.1"})
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["__type"] == "UnknownOperationException"
    assert response.getheader("x-amzn-RequestId")
    connection.close()


def test_truncated_authorization_header_is_incomplete_signature(nimbus):
    connection = http.client.HTTPConnection(*nimbus.host_port, timeout=10)
    connection.request("POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Amz-Date": "20261126T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/st"})
    response = connection.getresponse()
    body = response.read()
    assert response.status == 403
    assert b"<Code>IncompleteSignature</Code>" in body
    assert_still_serving(nimbus)


def test_oversized_headers_get_431(nimbus):
    head = b"GET /_nimbus/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 100_000 + b"\r\n\r\n"
    status, _, body = split_response(raw_exchange(nimbus, head))
    assert status == 431
    assert json.loads(body)["__type"] == "RequestHeaderFieldsTooLarge"
    assert_still_serving(nimbus)


def test_unknown_path_is_an_aws_shaped_404(nimbus):
    connection = http.client.HTTPConnection(*nimbus.host_port, timeout=10)
    connection.request("GET", "/no/such/thing")
    response = connection.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["__type"] == "UnknownOperationException"


def test_keep_alive_serves_many_requests_on_one_connection(nimbus):
    connection = http.client.HTTPConnection(*nimbus.host_port, timeout=10)
    for _ in range(20):
        connection.request("GET", "/_nimbus/health")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
    assert nimbus.health()["http"]["connections_accepted"] <= 3
    connection.close()


def test_sigterm_stops_cleanly(nimbus):
    nimbus.client("sts").get_caller_identity()
    assert nimbus.stop(signal.SIGTERM) == 0
    assert "stopped" in nimbus.stderr()


def test_sigint_stops_cleanly(nimbus):
    assert nimbus.stop(signal.SIGINT) == 0


def test_json_logs_are_one_object_per_line(nimbus_factory):
    server = nimbus_factory("--log-format", "json", "--log-level", "debug")
    server.client("sts").get_caller_identity()
    assert server.stop() == 0
    lines = [line for line in server.stderr().splitlines() if line.strip()]
    assert lines, "expected log lines"
    records = [json.loads(line) for line in lines]
    assert all({"time", "level", "msg"} <= record.keys() for record in records)
    assert any("sts POST /" in record["msg"] for record in records)


def test_taken_port_is_a_clear_error(nimbus, nimbus_factory):
    host, port = nimbus.host_port
    with pytest.raises(RuntimeError) as raised:
        nimbus_factory("--listen", f"{host}:{port}")
    assert "cannot listen on" in str(raised.value)
