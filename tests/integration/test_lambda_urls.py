"""Function URLs: configuration through boto3, and HTTP requests to the URL
becoming payload-2.0 events, answered as AWS maps function results."""

import json
import subprocess
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from lambda_support import create_function, node_zip
from nimbus_harness import NimbusServer, http, signed_server

WEB_NODE = """
export const handler = async (event) => {
  if (event.rawPath === "/fail") throw new Error("broken");
  if (event.rawPath === "/plain") return { hello: "world" };
  return {
    statusCode: 201,
    headers: { "content-type": "application/json", "x-seen-method": event.requestContext.http.method },
    cookies: ["session=abc"],
    body: JSON.stringify({
      rawPath: event.rawPath, rawQueryString: event.rawQueryString,
      query: event.queryStringParameters ?? null, body: event.body ?? null,
      isBase64Encoded: event.isBase64Encoded, version: event.version, routeKey: event.routeKey,
      header: event.headers["x-custom"] ?? null, cookies: event.cookies ?? null,
      domainPrefix: event.requestContext.domainPrefix,
    }),
  };
};
"""


def url_id_of(function_url):
    return function_url.split("//", 1)[1].split(".", 1)[0]


def test_a_url_invokes_the_function_with_the_v2_event(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "web", node_zip(WEB_NODE))
    created = client.create_function_url_config(FunctionName="web", AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    url = created["FunctionUrl"]
    _, port = nimbus.host_port
    assert url.startswith("http://") and url.endswith(f".lambda-url.us-east-1.localhost:{port}/")
    assert created["AuthType"] == "NONE"
    url_id = url_id_of(url)

    # The path form on the main endpoint.
    status, headers, body = http(f"{nimbus.endpoint}/_lambda/url/{url_id}/orders/7?a=1&a=2", method="POST",
                                 body=b'{"item": 1}', headers={"Content-Type": "application/json",
                                                              "X-Custom": "yes", "Cookie": "c1=v1; c2=v2"})
    assert status == 201
    assert headers["x-seen-method"] == "POST"
    assert headers["Set-Cookie"] == "session=abc"
    seen = json.loads(body)
    assert seen == {"rawPath": "/orders/7", "rawQueryString": "a=1&a=2", "query": {"a": "1,2"},
                    "body": '{"item": 1}', "isBase64Encoded": False, "version": "2.0",
                    "routeKey": "$default", "header": "yes", "cookies": ["c1=v1", "c2=v2"],
                    "domainPrefix": url_id}

    # The URL itself, by its host name (curl resolves *.localhost to loopback).
    result = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", url + "by/host"],
                            capture_output=True, text=True, timeout=30)
    out, code = result.stdout.rsplit("\n", 1)
    assert code == "201" and json.loads(out)["rawPath"] == "/by/host"

    # A result without statusCode is a JSON body; a function error is 502.
    status, headers, body = http(f"{nimbus.endpoint}/_lambda/url/{url_id}/plain")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert headers["Content-Type"] == "application/json"
    status, _, body = http(f"{nimbus.endpoint}/_lambda/url/{url_id}/fail")
    assert status == 502 and json.loads(body) == {"Message": "Internal Server Error"}
    assert http(f"{nimbus.endpoint}/_lambda/url/{'x' * 32}/")[0] == 404


def test_url_configuration_operations(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "cfg", node_zip(WEB_NODE))
    client.publish_version(FunctionName="cfg")
    client.create_alias(FunctionName="cfg", Name="live", FunctionVersion="1")
    created = client.create_function_url_config(FunctionName="cfg", Qualifier="live", AuthType="NONE",
                                                Cors={"AllowOrigins": ["https://example.com"],
                                                      "AllowMethods": ["GET"], "MaxAge": 60})
    assert created["FunctionArn"].endswith(":function:cfg:live")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.create_function_url_config(FunctionName="cfg", Qualifier="live", AuthType="NONE")
    assert raised.value.response["Error"]["Code"] == "ResourceConflictException"
    got = client.get_function_url_config(FunctionName="cfg", Qualifier="live")
    assert got["FunctionUrl"] == created["FunctionUrl"] and got["Cors"]["MaxAge"] == 60
    updated = client.update_function_url_config(FunctionName="cfg", Qualifier="live", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["FunctionUrl"] == created["FunctionUrl"]
    listed = client.list_function_url_configs(FunctionName="cfg")["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [created["FunctionUrl"]]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.update_function_url_config(FunctionName="cfg", Qualifier="live", Cors={"MaxAge": 100000})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    client.delete_function_url_config(FunctionName="cfg", Qualifier="live")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.get_function_url_config(FunctionName="cfg", Qualifier="live")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert http(f"{nimbus.endpoint}/_lambda/url/{url_id_of(created['FunctionUrl'])}/")[0] == 404


def test_cors_preflight_and_headers(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "cors", node_zip(WEB_NODE))
    url_id = url_id_of(client.create_function_url_config(
        FunctionName="cors", AuthType="NONE",
        Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["POST"],
              "AllowHeaders": ["x-custom"], "MaxAge": 300})["FunctionUrl"])
    base = f"{nimbus.endpoint}/_lambda/url/{url_id}"
    status, headers, _ = http(base + "/", method="OPTIONS",
                              headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert headers["Access-Control-Max-Age"] == "300"
    _, headers, _ = http(base + "/plain", headers={"Origin": "https://app.example"})
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    _, headers, _ = http(base + "/plain", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


def test_auth_types_with_sigv4_on(tmp_path):
    with signed_server(tmp_path) as server:
        client = server.client("lambda")
        create_function(client, "open", node_zip(WEB_NODE))
        create_function(client, "closed", node_zip(WEB_NODE))
        public = url_id_of(client.create_function_url_config(FunctionName="open", AuthType="NONE")["FunctionUrl"])
        private = url_id_of(client.create_function_url_config(FunctionName="closed", AuthType="AWS_IAM")["FunctionUrl"])
        # AuthType NONE: anyone, unsigned, even with SigV4 on.
        assert http(f"{server.endpoint}/_lambda/url/{public}/plain")[0] == 200
        # AWS_IAM: unsigned is refused.
        status, _, body = http(f"{server.endpoint}/_lambda/url/{private}/plain")
        assert status == 403 and json.loads(body) == {"Message": "Forbidden"}
        # The API itself still needs a signature.
        assert http(f"{server.endpoint}/2015-03-31/functions/")[0] == 403


def test_urls_survive_a_restart(tmp_path):
    with NimbusServer(data_dir=tmp_path) as first:
        client = first.client("lambda")
        create_function(client, "kept", node_zip(WEB_NODE))
        url_id = url_id_of(client.create_function_url_config(FunctionName="kept", AuthType="NONE")["FunctionUrl"])
    with NimbusServer(data_dir=tmp_path) as second:
        status, _, body = http(f"{second.endpoint}/_lambda/url/{url_id}/plain")
        assert status == 200 and json.loads(body) == {"hello": "world"}
