"""HTTP API integrations with payload format 1.0 and HTTP_PROXY: the 1.0
event (single- and multi-value headers and query strings, identity,
nulls), the 1.0 response rules, and requests passed through to an HTTP
backend."""

import datetime
import http.server
import json
import socket
import ssl
import threading
import time
import urllib.parse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apigateway_support import echo_function, execute, execute_json, http_api, raw_request
from nimbus_harness import NimbusServer


def test_the_v1_event_carries_every_documented_field(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["PUT /items/{id}"], payload="1.0")
    client.update_stage(ApiId=api_id, StageName="$default", StageVariables={"tier": "gold"})
    status, _, body = raw_request(
        nimbus, api_id, "/items/42?tag=a&tag=b&one=1", "PUT",
        [("Content-Type", "text/plain"), ("X-Multi", "first"), ("X-Multi", "second"),
         ("User-Agent", "it-test/1")], b"hello")
    assert status == 200, body
    event = json.loads(body)
    assert event["version"] == "1.0"
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "PUT"
    assert event["headers"]["x-multi"] == "second"  # the last value
    assert event["multiValueHeaders"]["x-multi"] == ["first", "second"]
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"tier": "gold"}
    assert event["body"] == "hello" and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["httpMethod"] == "PUT" and context["resourcePath"] == "/items/{id}"
    assert context["stage"] == "$default" and context["apiId"] == api_id
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "it-test/1"
    assert context["identity"]["caller"] is None  # absent members are null in 1.0
    assert context["requestId"] and context["extendedRequestId"]
    assert isinstance(context["requestTimeEpoch"], int)

    # Without a query string or path parameters those members are null.
    status, _, event = execute_json(nimbus, api_id, "/items/7", method="PUT")
    assert status == 200
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_v1_responses_merge_headers_and_require_a_status(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["$default"], payload="1.0")
    shaped = {"statusCode": 202, "headers": {"x-single": "s", "x-both": "from-headers"},
              "multiValueHeaders": {"x-multi": ["m1", "m2"], "x-both": ["from-multi"]},
              "body": "accepted"}
    status, headers, body = execute(nimbus, api_id, "/?raw=" + urllib.parse.quote(json.dumps(shaped)))
    assert (status, body) == (202, b"accepted")
    assert headers["x-single"] == "s"
    assert headers.get_all("x-multi") == ["m1", "m2"]
    assert headers.get_all("x-both") == ["from-multi"]
    # 1.0 has no inference: a result without statusCode is malformed.
    status, _, body = execute_json(nimbus, api_id, "/?plain=1")
    assert (status, body) == (500, {"message": "Internal Server Error"})


class Backend:
    """An HTTP server the HTTP_PROXY integration forwards to; echoes what it got."""

    def __init__(self, tls=None):
        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.dumps({"method": self.command, "path": self.path,
                                   "body": self.rfile.read(length).decode(),
                                   "header": self.headers.get("x-custom")}).encode()
                self.send_response(207)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-backend", "yes")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend():
    server = Backend()
    yield server
    server.close()


def test_http_proxy_passes_requests_through(nimbus, backend):
    client = nimbus.client("apigatewayv2")
    api_id = client.create_api(Name="proxy", ProtocolType="HTTP")["ApiId"]
    greedy = client.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY",
                                       IntegrationMethod="ANY",
                                       IntegrationUri=backend.url + "/base/{proxy}")["IntegrationId"]
    client.create_route(ApiId=api_id, RouteKey="ANY /fwd/{proxy+}", Target=f"integrations/{greedy}")
    catch_all = client.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY",
                                          IntegrationMethod="ANY",
                                          IntegrationUri=backend.url)["IntegrationId"]
    client.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{catch_all}")
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)

    status, headers, body = execute_json(nimbus, api_id, "/fwd/a/b?q=1", method="POST",
                                         body=b"payload", headers={"x-custom": "kept"})
    assert status == 207 and headers["x-backend"] == "yes"
    assert body == {"method": "POST", "path": "/base/a/b?q=1", "body": "payload", "header": "kept"}
    # The $default route sends the whole path.
    status, _, body = execute_json(nimbus, api_id, "/else/where", method="DELETE")
    assert status == 207 and body["path"] == "/else/where" and body["method"] == "DELETE"

    # A backend that refuses connections is API Gateway's 502.
    backend.close()
    status, _, body = execute_json(nimbus, api_id, "/else/where")
    assert (status, body) == (502, {"message": "Bad Gateway"})


def self_signed_certificate(directory, name):
    """A certificate for `name` (and its key), signed by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_http_proxy_to_https_checks_the_certificate_and_a_silent_backend_times_out(tmp_path):
    cert, key = self_signed_certificate(tmp_path, "localhost")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    secure = Backend(tls)
    # Accepts connections and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        # The backend's certificate is the only one this server trusts.
        with NimbusServer(env={"SSL_CERT_FILE": str(cert), "SSL_CERT_DIR": str(tmp_path)}) as nimbus:
            client = nimbus.client("apigatewayv2")
            api_id = client.create_api(Name="tls", ProtocolType="HTTP")["ApiId"]
            routes = {
                "ANY /secure/{proxy+}": {"IntegrationUri": f"https://localhost:{secure.port}/{{proxy}}"},
                # Right server, wrong name: the certificate is for localhost.
                "ANY /misnamed": {"IntegrationUri": f"https://127.0.0.1:{secure.port}/"},
                "ANY /silent": {"IntegrationUri": f"http://127.0.0.1:{silent.getsockname()[1]}/",
                                "TimeoutInMillis": 1000},
            }
            for route, settings in routes.items():
                integration = client.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY",
                                                        IntegrationMethod="ANY", **settings)
                client.create_route(ApiId=api_id, RouteKey=route,
                                    Target=f"integrations/{integration['IntegrationId']}")
            client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)

            status, headers, body = execute_json(nimbus, api_id, "/secure/a?q=1", method="POST",
                                                 body=b"over tls", headers={"x-custom": "kept"})
            assert status == 207 and headers["x-backend"] == "yes"
            assert body == {"method": "POST", "path": "/a?q=1", "body": "over tls", "header": "kept"}
            status, _, body = execute_json(nimbus, api_id, "/misnamed")
            assert (status, body) == (502, {"message": "Bad Gateway"})
            started = time.monotonic()
            status, _, body = execute_json(nimbus, api_id, "/silent")
            assert (status, body) == (504, {"message": "Gateway Timeout"})
            assert time.monotonic() - started < 10
    finally:
        secure.close()
        silent.close()
