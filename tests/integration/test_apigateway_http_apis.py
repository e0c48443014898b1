"""API Gateway HTTP APIs configured through the AWS CLI and boto3
(apigatewayv2) and called over HTTP: quick create, the payload 2.0 event as
AWS documents it, route precedence, stages and deployments, and restarts."""

import base64
import json
import signal
import time

import botocore.exceptions
import pytest

from apigateway_support import (echo_function, execute, execute_json, function_arn, http_api,
                                raw_request)
from nimbus_harness import NimbusServer


def test_quick_create_serves_the_function_on_both_endpoint_forms(nimbus):
    target = echo_function(nimbus)
    created = nimbus.aws("apigatewayv2", "create-api", "--name", "quick", "--protocol-type", "HTTP",
                         "--target", target)
    api_id = created["ApiId"]
    _, port = nimbus.host_port
    assert created["ApiEndpoint"] == f"http://{api_id}.execute-api.localhost:{port}"
    assert created["ProtocolType"] == "HTTP"
    assert created["RouteSelectionExpression"] == "$request.method $request.path"
    # Quick create makes the $default route, its integration and an
    # auto-deployed $default stage.
    routes = nimbus.aws("apigatewayv2", "get-routes", "--api-id", api_id)["Items"]
    assert [route["RouteKey"] for route in routes] == ["$default"]
    integration = nimbus.aws("apigatewayv2", "get-integration", "--api-id", api_id,
                             "--integration-id", routes[0]["Target"].split("/")[1])
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    stages = nimbus.aws("apigatewayv2", "get-stages", "--api-id", api_id)["Items"]
    assert stages[0]["StageName"] == "$default" and stages[0]["AutoDeploy"] is True
    assert stages[0]["DeploymentId"]

    for by_host in (False, True):
        status, headers, event = execute_json(nimbus, api_id, "/any/path?x=1", by_host=by_host)
        assert status == 200, event
        assert event["rawPath"] == "/any/path"
        assert event["routeKey"] == "$default"
        assert headers["apigw-requestid"] == event["requestContext"]["requestId"]


def test_update_api_changes_the_quick_create_target_and_route_key(nimbus):
    from lambda_support import SLEEPING_NODE, create_function, node_zip
    create_function(nimbus.client("lambda"), "plain", node_zip(SLEEPING_NODE))  # answers "ok"
    api_id = nimbus.aws("apigatewayv2", "create-api", "--name", "quick", "--protocol-type", "HTTP",
                        "--target", echo_function(nimbus))["ApiId"]
    assert execute_json(nimbus, api_id, "/anything")[2]["routeKey"] == "$default"
    nimbus.aws("apigatewayv2", "update-api", "--api-id", api_id, "--route-key", "GET /only",
               "--target", function_arn("plain"))
    routes = nimbus.aws("apigatewayv2", "get-routes", "--api-id", api_id)["Items"]
    assert [route["RouteKey"] for route in routes] == ["GET /only"]
    integration = nimbus.aws("apigatewayv2", "get-integration", "--api-id", api_id,
                             "--integration-id", routes[0]["Target"].split("/")[1])
    assert integration["IntegrationUri"] == function_arn("plain")
    assert integration["IntegrationType"] == "AWS_PROXY"
    # The auto-deployed $default stage serves the change at once.
    assert execute(nimbus, api_id, "/only")[::2] == (200, b"ok")
    assert execute(nimbus, api_id, "/anything")[0] == 404

    client = nimbus.client("apigatewayv2")
    made, _ = http_api(client, function_arn("plain"), ["GET /x"])
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.update_api(ApiId=made, Target=function_arn("plain"))
    assert refused.value.response["Error"]["Code"] == "BadRequestException"


def test_the_v2_event_carries_every_documented_field(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["POST /orders/{id}"])
    status, _, body = raw_request(
        nimbus, api_id, "/orders/7?a=1&a=2&b=x%20y", "POST",
        [("Content-Type", "application/json"), ("X-Multi", "one"), ("X-Multi", "two"),
         ("Cookie", "c1=v1; c2=v2"), ("User-Agent", "it-test/1")],
        b'{"k":1}')
    assert status == 200, body
    event = json.loads(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /orders/{id}"
    assert event["rawPath"] == "/orders/7"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["pathParameters"] == {"id": "7"}
    assert "stageVariables" not in event  # absent keys are omitted in 2.0
    assert event["body"] == '{"k":1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["apiId"] == api_id and context["accountId"] == "000000000000"
    assert context["domainPrefix"] == api_id
    assert context["routeKey"] == "POST /orders/{id}" and context["stage"] == "$default"
    assert context["http"] == {"method": "POST", "path": "/orders/7", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "it-test/1"}
    assert time.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000")
    assert abs(context["timeEpoch"] / 1000 - time.time()) < 60

    status, _, body = raw_request(nimbus, api_id, "/orders/8", "POST",
                                  [("Content-Type", "application/octet-stream")], b"\x00\xff\x10")
    event = json.loads(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff\x10"


def test_routes_are_chosen_as_api_gateway_chooses_them(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus),
                         ["GET /pets/{id}", "GET /pets/dog", "ANY /pets/{id}", "ANY /{proxy+}",
                          "GET /pets/{id}/{rest+}", "$default"])

    def route_for(method, path):
        status, headers, event = execute_json(nimbus, api_id, path, method=method)
        assert status == 200, event
        return headers["x-route"], event.get("pathParameters")

    assert route_for("GET", "/pets/dog") == ("GET /pets/dog", None)
    assert route_for("GET", "/pets/cat") == ("GET /pets/{id}", {"id": "cat"})
    assert route_for("DELETE", "/pets/cat") == ("ANY /pets/{id}", {"id": "cat"})
    assert route_for("GET", "/pets/cat/toys/1") == ("GET /pets/{id}/{rest+}",
                                                    {"id": "cat", "rest": "toys/1"})
    assert route_for("PUT", "/toys/ball") == ("ANY /{proxy+}", {"proxy": "toys/ball"})
    assert route_for("GET", "/") == ("$default", None)

    # Without a $default route an unmatched request is API Gateway's 404.
    other, _ = http_api(client, function_arn("echo"), ["GET /only"])
    status, _, body = execute_json(nimbus, other, "/missing")
    assert (status, body) == (404, {"message": "Not Found"})


def test_response_mapping_for_payload_2(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, _ = http_api(client, echo_function(nimbus), ["$default"])
    # A plain JSON result is a 200 application/json body.
    status, headers, body = execute_json(nimbus, api_id, "/?plain=1")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"plain": True, "routeKey": "$default"}
    # The structured form: status, headers, each cookie its own Set-Cookie, base64 bodies.
    shaped = json.dumps({"statusCode": 201, "headers": {"x-made": "yes", "content-type": "text/plain"},
                         "cookies": ["a=1; Path=/", "b=2"], "body": base64.b64encode(b"\x01\x02").decode(),
                         "isBase64Encoded": True})
    status, headers, body = execute(nimbus, api_id, "/?raw=" + urllib_quote(shaped))
    assert status == 201 and body == b"\x01\x02"
    assert headers["x-made"] == "yes" and headers["Content-Type"] == "text/plain"
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    # A function error or an impossible answer is API Gateway's 500.
    status, _, body = execute_json(nimbus, api_id, "/?fail=1")
    assert (status, body) == (500, {"message": "Internal Server Error"})
    status, _, body = execute_json(nimbus, api_id, "/?raw=" + urllib_quote('{"statusCode": 42}'))
    assert (status, body) == (500, {"message": "Internal Server Error"})
    # So is an integration whose function does not exist, at once.
    missing, _ = http_api(client, function_arn("missing"), ["$default"])
    started = time.monotonic()
    status, _, body = execute_json(nimbus, missing, "/")
    assert (status, body) == (500, {"message": "Internal Server Error"})
    assert time.monotonic() - started < 5


def urllib_quote(text):
    import urllib.parse
    return urllib.parse.quote(text, safe="")


def test_named_stages_serve_what_was_deployed_to_them(nimbus):
    client = nimbus.client("apigatewayv2")
    api_id, integration = http_api(client, echo_function(nimbus), ["GET /a"], stage="prod",
                                   auto_deploy=False)
    # Nothing is deployed to prod yet.
    assert execute_json(nimbus, api_id, "/prod/a")[0] == 404
    deployment = client.create_deployment(ApiId=api_id, StageName="prod", Description="first")
    assert deployment["DeploymentStatus"] == "DEPLOYED" and deployment["AutoDeployed"] is False
    client.update_stage(ApiId=api_id, StageName="prod", StageVariables={"color": "blue"})
    status, _, event = execute_json(nimbus, api_id, "/prod/a")
    assert status == 200, event
    assert event["requestContext"]["stage"] == "prod"
    assert event["rawPath"] == "/prod/a"
    assert event["stageVariables"] == {"color": "blue"}
    # A route added later waits for the next deployment.
    client.create_route(ApiId=api_id, RouteKey="GET /b", Target=f"integrations/{integration}")
    assert execute_json(nimbus, api_id, "/prod/b")[0] == 404
    client.create_deployment(ApiId=api_id, StageName="prod")
    assert execute_json(nimbus, api_id, "/prod/b")[0] == 200
    # A deployment a stage serves cannot be deleted; the stage names it.
    current = client.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.delete_deployment(ApiId=api_id, DeploymentId=current)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    listed = client.get_deployments(ApiId=api_id)["Items"]
    assert {item["DeploymentId"] for item in listed} >= {current, deployment["DeploymentId"]}


def test_management_errors_are_api_gateways(nimbus):
    client = nimbus.client("apigatewayv2")
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        client.get_api(ApiId="nosuchapi0")
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    api_id, integration = http_api(client, echo_function(nimbus), ["GET /a"])
    for key in ("FETCH /a", "GET a", "GET /{proxy+}/x"):
        with pytest.raises(botocore.exceptions.ClientError) as bad:
            client.create_route(ApiId=api_id, RouteKey=key)
        assert bad.value.response["Error"]["Code"] == "BadRequestException", key
    with pytest.raises(botocore.exceptions.ClientError) as duplicate:
        client.create_route(ApiId=api_id, RouteKey="GET /a")
    assert duplicate.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(botocore.exceptions.ClientError) as in_use:
        client.delete_integration(ApiId=api_id, IntegrationId=integration)
    assert in_use.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(botocore.exceptions.ClientError) as no_version:
        client.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                  IntegrationUri=function_arn("echo"))
    assert no_version.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(botocore.exceptions.ClientError) as timeout:
        client.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                  IntegrationUri=function_arn("echo"), PayloadFormatVersion="2.0",
                                  TimeoutInMillis=31000)
    assert timeout.value.response["Error"]["Code"] == "BadRequestException"
    # Operations Nimbus lacks are recognised and named.
    result = nimbus.aws("apigatewayv2", "get-domain-names", check=False)
    assert result.returncode != 0 and "NotImplementedException" in result.stderr
    assert "GetDomainNames" in result.stderr


def test_apis_are_listed_updated_tagged_and_deleted(nimbus):
    client = nimbus.client("apigatewayv2")
    ids = sorted(client.create_api(Name=f"api-{i}", ProtocolType="HTTP")["ApiId"] for i in range(3))
    first = client.get_apis(MaxResults="2")
    assert [item["ApiId"] for item in first["Items"]] == ids[:2]
    rest = client.get_apis(MaxResults="2", NextToken=first["NextToken"])
    assert [item["ApiId"] for item in rest["Items"]] == ids[2:] and "NextToken" not in rest
    updated = client.update_api(ApiId=ids[0], Name="renamed", Description="d")
    assert updated["Name"] == "renamed" and updated["Description"] == "d"
    arn = f"arn:aws:apigateway:us-east-1::/apis/{ids[0]}"
    client.tag_resource(ResourceArn=arn, Tags={"team": "a", "env": "dev"})
    client.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert client.get_tags(ResourceArn=arn)["Tags"] == {"team": "a"}
    assert client.get_api(ApiId=ids[0])["Tags"] == {"team": "a"}
    client.delete_api(ApiId=ids[0])
    assert sorted(item["ApiId"] for item in client.get_apis()["Items"]) == ids[1:]


def test_apis_survive_a_killed_server(tmp_path):
    data = tmp_path / "data"
    with NimbusServer(data_dir=data) as first:
        client = first.client("apigatewayv2")
        api_id, _ = http_api(client, echo_function(first), ["GET /kept/{id}"], stage="v1")
        client.update_stage(ApiId=api_id, StageName="v1", StageVariables={"kept": "yes"})
        assert execute_json(first, api_id, "/v1/kept/1")[0] == 200
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    with NimbusServer(data_dir=data) as second:
        status, _, event = execute_json(second, api_id, "/v1/kept/2")
        assert status == 200, event
        assert event["pathParameters"] == {"id": "2"}
        assert event["stageVariables"] == {"kept": "yes"}
        _, port = second.host_port
        assert second.client("apigatewayv2").get_api(ApiId=api_id)["ApiEndpoint"].endswith(f":{port}")
