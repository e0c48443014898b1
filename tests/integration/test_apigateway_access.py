"""Who may call an HTTP API and how often: Lambda REQUEST authorizers (simple
and IAM-policy responses, identity sources, caching), AWS_IAM routes, CORS
answered by the gateway, throttling, and the integration timeout."""

import json
import time

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from apigateway_support import echo_function, execute, execute_json, function_arn, http_api
from lambda_support import create_function, node_zip
from nimbus_harness import NimbusServer, http

# Allows the token "let-me-in"; counts its own calls so caching shows.
SIMPLE_AUTHORIZER = """
let calls = 0;
export const handler = async (event) => {
  calls += 1;
  return { isAuthorized: event.headers.authorization === "let-me-in",
           context: { user: "ann", calls, routeArn: event.routeArn, type: event.type } };
};
"""

# An IAM policy allowing only GET routes, for payload 1.0 events.
POLICY_AUTHORIZER = """
export const handler = async (event) => {
  const [prefix, stage] = event.methodArn.split("/");
  return {
    principalId: "user-" + event.headers["x-user"],
    policyDocument: { Version: "2012-10-17", Statement: [
      { Action: "execute-api:Invoke", Effect: "Allow", Resource: prefix + "/" + stage + "/GET/*" },
      { Action: "execute-api:Invoke", Effect: "Deny", Resource: prefix + "/*/GET/secret" },
    ] },
    context: { source: event.identitySource },
  };
};
"""


def authorized_api(nimbus, authorizer_source, payload, simple, ttl=0, routes=("GET /open",)):
    lam = nimbus.client("lambda")
    create_function(lam, "authz", node_zip(authorizer_source))
    client = nimbus.client("apigatewayv2")
    api_id, integration = http_api(client, echo_function(nimbus), [], stage=None)
    authorizer = client.create_authorizer(
        ApiId=api_id, Name="gate", AuthorizerType="REQUEST",
        AuthorizerUri=function_arn("authz"), AuthorizerPayloadFormatVersion=payload,
        EnableSimpleResponses=simple, AuthorizerResultTtlInSeconds=ttl,
        IdentitySource=["$request.header.Authorization"] if simple else ["$request.header.x-user"])
    for key in routes:
        client.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}",
                            AuthorizationType="CUSTOM", AuthorizerId=authorizer["AuthorizerId"])
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def test_a_simple_lambda_authorizer_guards_a_route(nimbus):
    api_id = authorized_api(nimbus, SIMPLE_AUTHORIZER, "2.0", simple=True)
    # No identity source: 401 without calling the authorizer.

    status, _, body = execute_json(nimbus, api_id, "/open")
    assert (status, body) == (401, {"message": "Unauthorized"})
    status, _, body = execute_json(nimbus, api_id, "/open", headers={"Authorization": "wrong"})
    assert (status, body) == (403, {"message": "Forbidden"})
    status, _, event = execute_json(nimbus, api_id, "/open", headers={"Authorization": "let-me-in"})
    assert status == 200, event
    passed = event["requestContext"]["authorizer"]["lambda"]
    assert passed["user"] == "ann" and passed["type"] == "REQUEST"
    assert passed["routeArn"] == f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/$default/GET/open"


def test_authorizer_results_are_cached_by_identity_for_the_ttl(nimbus):
    api_id = authorized_api(nimbus, SIMPLE_AUTHORIZER, "2.0", simple=True, ttl=300)
    headers = {"Authorization": "let-me-in"}
    first = execute_json(nimbus, api_id, "/open", headers=headers)[2]
    second = execute_json(nimbus, api_id, "/open", headers=headers)[2]
    calls = lambda event: event["requestContext"]["authorizer"]["lambda"]["calls"]
    assert calls(second) == calls(first)  # the second came from the cache
    # Another identity is another cache entry: the authorizer runs again.
    assert execute_json(nimbus, api_id, "/open", headers={"Authorization": "wrong"})[0] == 403
    third = execute_json(nimbus, api_id, "/open", headers=headers)[2]
    assert calls(third) == calls(first)
    # ResetAuthorizersCache forgets it: the next request asks again.
    nimbus.client("apigatewayv2").reset_authorizers_cache(ApiId=api_id, StageName="$default")
    fourth = execute_json(nimbus, api_id, "/open", headers=headers)[2]
    assert calls(fourth) > calls(first)


def test_an_iam_policy_authorizer_allows_and_denies_by_route_arn(nimbus):
    api_id = authorized_api(nimbus, POLICY_AUTHORIZER, "1.0", simple=False,
                            routes=("GET /open", "GET /secret", "POST /open"))
    headers = {"x-user": "bob"}
    status, _, event = execute_json(nimbus, api_id, "/open", headers=headers)
    assert status == 200, event
    assert event["requestContext"]["authorizer"]["lambda"] == {"source": "bob", "principalId": "user-bob"}
    assert execute_json(nimbus, api_id, "/secret", headers=headers)[0] == 403  # an explicit Deny
    assert execute_json(nimbus, api_id, "/open", method="POST", headers=headers)[0] == 403  # no Allow
    assert execute_json(nimbus, api_id, "/open")[0] == 401  # no identity


def test_aws_iam_routes_need_a_signed_request(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, integration = http_api(client, echo_function(nimbus), [], stage=None)
    client.create_route(ApiId=api_id, RouteKey="GET /private", AuthorizationType="AWS_IAM",
                        Target=f"integrations/{integration}")
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    url = f"{nimbus.endpoint}/_aws/execute-api/{api_id}/private"
    status, _, body = http(url)
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    request = botocore.awsrequest.AWSRequest(method="GET", url=url)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKIDSIGNER", "secret"),
                            "execute-api", "us-east-1").add_auth(request)
    status, _, body = http(url, headers=dict(request.headers.items()))
    assert status == 200, body
    event = json.loads(body)
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "AKIDSIGNER"


def test_cors_is_answered_by_the_gateway(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["POST /things"],
                         CorsConfiguration={"AllowOrigins": ["https://app.example"],
                                            "AllowMethods": ["POST", "GET"],
                                            "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-route"],
                                            "MaxAge": 600, "AllowCredentials": True})
    # Preflight needs no OPTIONS route.
    status, headers, _ = execute(nimbus, api_id, "/things", method="OPTIONS",
                                 headers={"Origin": "https://app.example",
                                          "Access-Control-Request-Method": "POST"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Allow-Methods"] == "POST,GET"
    assert headers["Access-Control-Allow-Headers"] == "x-custom"
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    status, headers, _ = execute(nimbus, api_id, "/things", method="POST",
                                 headers={"Origin": "https://app.example"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Expose-Headers"] == "x-route"
    _, headers, _ = execute(nimbus, api_id, "/things", method="POST",
                            headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers
    client.delete_cors_configuration(ApiId=api_id)
    _, headers, _ = execute(nimbus, api_id, "/things", method="POST",
                            headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in headers


def test_stage_and_route_throttling_answer_429_until_refilled(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["GET /slow", "GET /fast"])
    # A bucket of two that refills at one token per 1000 s: the third request is refused.
    client.update_stage(ApiId=api_id, StageName="$default",
                        DefaultRouteSettings={"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.001},
                        RouteSettings={"GET /fast": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 20}})
    assert [execute(nimbus, api_id, "/slow")[0] for _ in range(3)] == [200, 200, 429]
    status, _, body = execute_json(nimbus, api_id, "/slow")
    assert (status, body) == (429, {"message": "Too Many Requests"})
    # The route's own setting: one at a time, refilled in 50 ms.
    assert execute(nimbus, api_id, "/fast")[0] == 200
    time.sleep(0.2)
    assert execute(nimbus, api_id, "/fast")[0] == 200


def test_the_account_limit_applies_to_every_api(nimbus_factory):
    server = nimbus_factory("--apigateway-burst-limit", "1", "--apigateway-rate-limit", "0.001")
    client = server.client("apigatewayv2")
    first, _ = http_api(client, echo_function(server), ["$default"])
    second, _ = http_api(client, function_arn("echo"), ["$default"])
    assert execute(server, first, "/")[0] == 200
    assert execute(server, second, "/")[0] == 429


def test_a_function_slower_than_the_integration_timeout_is_503(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id = client.create_api(Name="slow", ProtocolType="HTTP")["ApiId"]
    integration = client.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                            IntegrationUri=echo_function(nimbus),
                                            PayloadFormatVersion="2.0",
                                            TimeoutInMillis=1000)["IntegrationId"]
    client.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration}")
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert execute(nimbus, api_id, "/")[0] == 200  # warm
    started = time.monotonic()
    status, _, body = execute_json(nimbus, api_id, "/?sleep=3000")
    assert (status, body) == (503, {"message": "Service Unavailable"})
    assert time.monotonic() - started < 2.5


class Issuer:
    """An OpenID issuer on the test's side: discovery document and JWKS, and
    tokens signed with its keys by PyJWT."""

    def __init__(self):
        import http.server
        import threading
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys"}
                elif self.path == "/keys":
                    body = issuer.jwks()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def jwks(self):
        import base64

        def b64(number, length=None):
            raw = number.to_bytes(length or (number.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        rsa_numbers = self.rsa.public_key().public_numbers()
        ec_numbers = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
             "n": b64(rsa_numbers.n), "e": b64(rsa_numbers.e)},
            {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256",
             "x": b64(ec_numbers.x, 32), "y": b64(ec_numbers.y, 32)}]}

    def token(self, algorithm="RS256", **claims):
        import jwt
        now = int(time.time())
        payload = {"iss": self.url, "aud": "my-app", "sub": "ann", "iat": now, "exp": now + 300}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        key, kid = (self.rsa, "rsa-1") if algorithm == "RS256" else (self.ec, "ec-1")
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_jwt_authorizers_check_signature_issuer_audience_expiry_and_scopes(nimbus):
    issuer = Issuer()
    try:
        client = nimbus.client("apigatewayv2")
        api_id, integration = http_api(client, echo_function(nimbus), [], stage=None)
        authorizer = client.create_authorizer(
            ApiId=api_id, Name="jwt", AuthorizerType="JWT",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})["AuthorizerId"]
        for key, scopes in (("GET /me", []), ("GET /admin", ["admin"])):
            client.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}",
                                AuthorizationType="JWT", AuthorizerId=authorizer,
                                AuthorizationScopes=scopes)
        client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)

        def call(path, token):
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            return execute_json(nimbus, api_id, path, headers=headers)

        for algorithm in ("RS256", "ES256"):
            status, _, event = call("/me", issuer.token(algorithm, groups=["a", "b"]))
            assert status == 200, event
            jwt_context = event["requestContext"]["authorizer"]["jwt"]
            assert jwt_context["claims"]["sub"] == "ann"
            assert jwt_context["claims"]["groups"] == "[a b]"
            assert jwt_context["scopes"] is None

        assert call("/me", None)[:3:2] == (401, {"message": "Unauthorized"})
        for bad in (issuer.token(exp=int(time.time()) - 10),      # expired
                    issuer.token(aud="someone-else"),               # wrong audience
                    issuer.token(iss="http://evil.example"),        # wrong issuer
                    issuer.token()[:-4] + "AAAA",                   # tampered signature
                    "not.a.jwt"):
            status, headers, body = call("/me", bad)
            assert (status, body) == (401, {"message": "Unauthorized"}), bad
            assert 'error="invalid_token"' in headers["www-authenticate"]

        status, headers, body = call("/admin", issuer.token(scope="read"))
        assert (status, body) == (403, {"message": "Forbidden"})
        assert 'error="insufficient_scope"' in headers["www-authenticate"]
        status, _, event = call("/admin", issuer.token(scope="read admin"))
        assert status == 200, event
        assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["read", "admin"]
    finally:
        issuer.close()
