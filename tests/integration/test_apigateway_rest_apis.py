"""API Gateway REST APIs (apigateway 2015-07-09) with proxy integrations,
configured the way the AWS CLI tutorials and SAM's Api events do: a resource
tree, methods, Lambda proxy / HTTP proxy / MOCK integrations, deployments
and stages; called over HTTP with the REST flavour of the 1.0 event."""

import datetime
import json
import signal
import time
import urllib.parse

import botocore.exceptions
import pytest

from apigateway_support import echo_function, execute, execute_json
from nimbus_harness import NimbusServer


def lambda_uri(function_arn):
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def proxy_api(server, stage="prod"):
    """ANY /{proxy+} and GET /items/{id} to the echo function, deployed to `stage`."""
    target = lambda_uri(echo_function(server))
    api = server.aws("apigateway", "create-rest-api", "--name", "rest-test")
    api_id = api["id"]
    root = server.aws("apigateway", "get-resources", "--rest-api-id", api_id)["items"][0]
    assert root["path"] == "/"
    proxy = server.aws("apigateway", "create-resource", "--rest-api-id", api_id,
                       "--parent-id", root["id"], "--path-part", "{proxy+}")
    items = server.aws("apigateway", "create-resource", "--rest-api-id", api_id,
                       "--parent-id", root["id"], "--path-part", "items")
    item = server.aws("apigateway", "create-resource", "--rest-api-id", api_id,
                      "--parent-id", items["id"], "--path-part", "{id}")
    assert item["path"] == "/items/{id}"
    for resource, method in ((proxy["id"], "ANY"), (item["id"], "GET")):
        server.aws("apigateway", "put-method", "--rest-api-id", api_id, "--resource-id", resource,
                   "--http-method", method, "--authorization-type", "NONE")
        server.aws("apigateway", "put-integration", "--rest-api-id", api_id, "--resource-id", resource,
                   "--http-method", method, "--type", "AWS_PROXY",
                   "--integration-http-method", "POST", "--uri", target)
    server.aws("apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", stage,
               "--variables", "color=green")
    return api_id, item["id"]


def test_a_lambda_proxy_rest_api_gets_the_rest_event(nimbus):
    api_id, item_id = proxy_api(nimbus)
    status, headers, event = execute_json(nimbus, api_id, "/prod/items/42?tag=a&tag=b",
                                          headers={"X-Custom": "Kept-Case"})
    assert status == 200, event
    assert headers["x-route"] == "/items/{id}"
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"  # without the stage
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Custom"] == "Kept-Case"  # REST APIs keep header case
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["queryStringParameters"] == {"tag": "b"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"color": "green"}
    context = event["requestContext"]
    assert context["stage"] == "prod"
    assert context["path"] == "/prod/items/42"  # with the stage
    assert context["resourcePath"] == "/items/{id}"
    assert context["resourceId"] == item_id
    assert context["apiId"] == api_id

    # The greedy resource takes every other method and path.
    status, _, event = execute_json(nimbus, api_id, "/prod/a/b", method="DELETE")
    assert status == 200 and event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b"}
    # The Host form works the same way.
    status, _, event = execute_json(nimbus, api_id, "/prod/items/7", by_host=True)
    assert status == 200 and event["pathParameters"] == {"id": "7"}


def test_rest_api_errors_are_rest_apis(nimbus):
    api_id, _ = proxy_api(nimbus)
    # A stage that does not exist, and a method nothing defines.
    assert execute_json(nimbus, api_id, "/nostage/items/1")[::2] == (403, {"message": "Forbidden"})
    status, _, body = execute_json(nimbus, api_id, "/prod")
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    # A function error or a non-proxy answer is 502 "Internal server error".
    status, _, body = execute_json(nimbus, api_id, "/prod/x?fail=1")
    assert (status, body) == (502, {"message": "Internal server error"})
    status, _, body = execute_json(nimbus, api_id, "/prod/x?plain=1")
    assert (status, body) == (502, {"message": "Internal server error"})

    client = nimbus.client("apigateway")
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        client.get_rest_api(restApiId="nosuchapi0")
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    root = client.get_resources(restApiId=api_id)["items"]
    root_id = next(item["id"] for item in root if item["path"] == "/")
    with pytest.raises(botocore.exceptions.ClientError) as duplicate:
        client.create_resource(restApiId=api_id, parentId=root_id, pathPart="items")
    assert duplicate.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(botocore.exceptions.ClientError) as unsupported:
        client.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET",
                          authorizationType="COGNITO_USER_POOLS")
    assert unsupported.value.response["Error"]["Code"] == "NotImplementedException"
    result = nimbus.aws("apigateway", "get-domain-names", check=False)
    assert result.returncode != 0 and "NotImplementedException" in result.stderr


def test_mock_integrations_answer_from_their_templates(nimbus):
    client = nimbus.client("apigateway")
    api_id = client.create_rest_api(name="mock")["id"]
    root_id = client.get_resources(restApiId=api_id)["items"][0]["id"]
    health = client.create_resource(restApiId=api_id, parentId=root_id, pathPart="health")["id"]
    client.put_method(restApiId=api_id, resourceId=health, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=health, httpMethod="GET", type="MOCK",
                           requestTemplates={"application/json": '{"statusCode": 200}'})
    client.put_method_response(restApiId=api_id, resourceId=health, httpMethod="GET", statusCode="200")
    client.put_integration_response(restApiId=api_id, resourceId=health, httpMethod="GET",
                                    statusCode="200",
                                    responseTemplates={"application/json": '{"healthy": true}'})
    deployment = client.create_deployment(restApiId=api_id, description="v1")
    client.create_stage(restApiId=api_id, stageName="live", deploymentId=deployment["id"])
    status, _, body = execute_json(nimbus, api_id, "/live/health")
    assert (status, body) == (200, {"healthy": True})
    stages = client.get_stages(restApiId=api_id)["item"]
    assert [stage["stageName"] for stage in stages] == ["live"]
    assert client.get_stage(restApiId=api_id, stageName="live")["deploymentId"] == deployment["id"]
    assert client.get_deployment(restApiId=api_id, deploymentId=deployment["id"])["description"] == "v1"
    assert [item["id"] for item in client.get_deployments(restApiId=api_id)["items"]] == [deployment["id"]]
    updated = client.update_stage(restApiId=api_id, stageName="live", patchOperations=[
        {"op": "replace", "path": "/variables/mode", "value": "fast"}])
    assert updated["variables"] == {"mode": "fast"}


def test_rest_apis_survive_a_killed_server(tmp_path):
    data = tmp_path / "data"
    with NimbusServer(data_dir=data) as first:
        api_id, _ = proxy_api(first, stage="v1")
        assert execute(first, api_id, "/v1/items/1")[0] == 200
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    with NimbusServer(data_dir=data) as second:
        status, _, event = execute_json(second, api_id, "/v1/items/2")
        assert status == 200, event
        assert event["stageVariables"] == {"color": "green"}
        names = [api["name"] for api in second.client("apigateway").get_rest_apis()["items"]]
        assert names == ["rest-test"]


# A TOKEN authorizer: "allow" gets an Allow policy, "deny" an explicit Deny,
# "nope" is refused by throwing "Unauthorized"; counts its calls.
TOKEN_AUTHORIZER = """
let calls = 0;
export const handler = async (event) => {
  calls += 1;
  const token = event.authorizationToken ?? event.queryStringParameters?.token;
  if (token === "nope") throw new Error("Unauthorized");
  return {
    principalId: "user-" + token,
    policyDocument: { Version: "2012-10-17", Statement: [{
      Action: "execute-api:Invoke", Effect: token === "deny" ? "Deny" : "Allow", Resource: event.methodArn }] },
    context: { calls, type: event.type },
  };
};
"""


def test_lambda_authorizers_guard_rest_methods(nimbus):
    from lambda_support import create_function, node_zip
    from apigateway_support import function_arn
    create_function(nimbus.client("lambda"), "gate", node_zip(TOKEN_AUTHORIZER))
    target = lambda_uri(echo_function(nimbus))
    client = nimbus.client("apigateway")
    api_id = client.create_rest_api(name="guarded")["id"]
    root_id = client.get_resources(restApiId=api_id)["items"][0]["id"]
    token = client.create_authorizer(restApiId=api_id, name="token", type="TOKEN",
                                     authorizerUri=lambda_uri(function_arn("gate")),
                                     identitySource="method.request.header.Authorization")
    assert token["authorizerResultTtlInSeconds"] == 300
    request = client.create_authorizer(restApiId=api_id, name="request", type="REQUEST",
                                       authorizerUri=lambda_uri(function_arn("gate")),
                                       identitySource="method.request.querystring.token",
                                       authorizerResultTtlInSeconds=0)
    for part, authorizer in (("by-token", token["id"]), ("by-request", request["id"])):
        resource = client.create_resource(restApiId=api_id, parentId=root_id, pathPart=part)["id"]
        client.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET",
                          authorizationType="CUSTOM", authorizerId=authorizer)
        client.put_integration(restApiId=api_id, resourceId=resource, httpMethod="GET",
                               type="AWS_PROXY", integrationHttpMethod="POST", uri=target)
    client.create_deployment(restApiId=api_id, stageName="prod")

    status, _, event = execute_json(nimbus, api_id, "/prod/by-token", headers={"Authorization": "allow"})
    assert status == 200, event
    passed = event["requestContext"]["authorizer"]
    assert passed["principalId"] == "user-allow" and passed["type"] == "TOKEN"
    # Cached for the TTL: the same token does not call the authorizer again.
    again = execute_json(nimbus, api_id, "/prod/by-token", headers={"Authorization": "allow"})[2]
    assert again["requestContext"]["authorizer"]["calls"] == passed["calls"]

    assert execute_json(nimbus, api_id, "/prod/by-token")[::2] == (401, {"message": "Unauthorized"})
    assert execute_json(nimbus, api_id, "/prod/by-token",
                        headers={"Authorization": "nope"})[::2] == (401, {"message": "Unauthorized"})
    status, _, body = execute_json(nimbus, api_id, "/prod/by-token", headers={"Authorization": "deny"})
    assert (status, body) == (403, {"Message": "User is not authorized to access this resource "
                                               "with an explicit deny"})

    status, _, event = execute_json(nimbus, api_id, "/prod/by-request?token=allow")
    assert status == 200, event
    assert event["requestContext"]["authorizer"]["type"] == "REQUEST"
    assert execute_json(nimbus, api_id, "/prod/by-request")[0] == 401
    assert execute_json(nimbus, api_id, "/prod/by-request?token=deny")[0] == 403

    # With caching turned off (and redeployed), every request asks again.
    client.update_authorizer(restApiId=api_id, authorizerId=token["id"], patchOperations=[
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"}])
    client.create_deployment(restApiId=api_id, stageName="prod")
    calls = [execute_json(nimbus, api_id, "/prod/by-token", headers={"Authorization": "allow"})[2]
             ["requestContext"]["authorizer"]["calls"] for _ in range(2)]
    assert calls[1] == calls[0] + 1

    with pytest.raises(botocore.exceptions.ClientError) as in_use:
        client.delete_authorizer(restApiId=api_id, authorizerId=token["id"])
    assert in_use.value.response["Error"]["Code"] == "ConflictException"
    names = sorted(item["name"] for item in client.get_authorizers(restApiId=api_id)["items"])
    assert names == ["request", "token"]


def token_guarded_api(nimbus, authorizer_source, api=None, authorizer=None, method=None):
    """A REST API whose GET / goes to the echo function behind a TOKEN
    Lambda authorizer (the Authorization header, no caching) running
    `authorizer_source`, deployed to prod. Returns (client, api id,
    authorizer id)."""
    from lambda_support import create_function, node_zip
    from apigateway_support import function_arn
    create_function(nimbus.client("lambda"), "gate", node_zip(authorizer_source))
    target = lambda_uri(echo_function(nimbus))
    client = nimbus.client("apigateway")
    api_id = client.create_rest_api(name="guarded", **(api or {}))["id"]
    root_id = client.get_resources(restApiId=api_id)["items"][0]["id"]
    authorizer_id = client.create_authorizer(
        restApiId=api_id, name="token", type="TOKEN", authorizerUri=lambda_uri(function_arn("gate")),
        identitySource="method.request.header.Authorization", authorizerResultTtlInSeconds=0,
        **(authorizer or {}))["id"]
    client.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET",
                      authorizationType="CUSTOM", authorizerId=authorizer_id, **(method or {}))
    client.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET",
                           type="AWS_PROXY", integrationHttpMethod="POST", uri=target)
    client.create_deployment(restApiId=api_id, stageName="prod")
    return client, api_id, authorizer_id


def test_a_token_authorizer_is_asked_only_about_tokens_its_validation_expression_matches(nimbus):
    client, api_id, authorizer_id = token_guarded_api(
        nimbus, TOKEN_AUTHORIZER, authorizer={"identityValidationExpression": r"allow-\d+"})
    assert client.get_authorizer(restApiId=api_id, authorizerId=authorizer_id)[
        "identityValidationExpression"] == r"allow-\d+"
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        client.create_authorizer(restApiId=api_id, name="bad", type="TOKEN",
                                 authorizerUri=client.get_authorizer(
                                     restApiId=api_id, authorizerId=authorizer_id)["authorizerUri"],
                                 identitySource="method.request.header.Authorization",
                                 identityValidationExpression="(unclosed")
    assert bad.value.response["Error"]["Code"] == "BadRequestException"

    def calls():
        status, _, event = execute_json(nimbus, api_id, "/prod/", headers={"Authorization": "allow-1"})
        assert status == 200, event
        return event["requestContext"]["authorizer"]["calls"]

    before = calls()
    # The whole token must match; those that do not are refused unasked.
    for refused in ("allow-x", "xallow-1", "allow-1x", "deny"):
        assert execute_json(nimbus, api_id, "/prod/", headers={"Authorization": refused})[::2] == (
            401, {"message": "Unauthorized"}), refused
    assert calls() == before + 1

    # Replaced (and redeployed): "deny" reaches the authorizer, which denies.
    client.update_authorizer(restApiId=api_id, authorizerId=authorizer_id, patchOperations=[
        {"op": "replace", "path": "/identityValidationExpression", "value": "deny"}])
    client.create_deployment(restApiId=api_id, stageName="prod")
    assert execute_json(nimbus, api_id, "/prod/", headers={"Authorization": "deny"})[0] == 403
    assert execute_json(nimbus, api_id, "/prod/", headers={"Authorization": "allow-1"})[0] == 401
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        client.update_authorizer(restApiId=api_id, authorizerId=authorizer_id, patchOperations=[
            {"op": "replace", "path": "/identityValidationExpression", "value": "[z-a]"}])
    assert bad.value.response["Error"]["Code"] == "BadRequestException"


def add_paid_method(client, api_id):
    """GET /paid to the echo function, with apiKeyRequired, redeployed to prod."""
    root_id = next(item["id"] for item in client.get_resources(restApiId=api_id)["items"]
                   if item["path"] == "/")
    paid = client.create_resource(restApiId=api_id, parentId=root_id, pathPart="paid")["id"]
    client.put_method(restApiId=api_id, resourceId=paid, httpMethod="GET",
                      authorizationType="NONE", apiKeyRequired=True)
    client.put_integration(restApiId=api_id, resourceId=paid, httpMethod="GET", type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=lambda_uri(
                               "arn:aws:lambda:us-east-1:000000000000:function:echo"))
    client.create_deployment(restApiId=api_id, stageName="prod")


# Names the API key the request is to be metered by: the token's own text.
KEY_NAMING_AUTHORIZER = """
export const handler = async (event) => ({
  principalId: "caller",
  usageIdentifierKey: event.authorizationToken,
  policyDocument: { Version: "2012-10-17", Statement: [{
    Action: "execute-api:Invoke", Effect: "Allow", Resource: event.methodArn }] },
});
"""


def test_with_api_key_source_authorizer_the_authorizer_names_the_key(nimbus):
    client, api_id, _ = token_guarded_api(nimbus, KEY_NAMING_AUTHORIZER,
                                          api={"apiKeySource": "AUTHORIZER"},
                                          method={"apiKeyRequired": True})
    assert client.get_rest_api(restApiId=api_id)["apiKeySource"] == "AUTHORIZER"
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        client.create_rest_api(name="metered", apiKeySource="SOMEWHERE")
    assert bad.value.response["Error"]["Code"] == "BadRequestException"
    key = client.create_api_key(name="customer", enabled=True)
    plan = client.create_usage_plan(name="basic", apiStages=[{"apiId": api_id, "stage": "prod"}])
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")

    status, _, event = execute_json(nimbus, api_id, "/prod/", headers={"Authorization": key["value"]})
    assert status == 200, event
    assert event["requestContext"]["identity"]["apiKey"] == key["value"]
    assert event["requestContext"]["identity"]["apiKeyId"] == key["id"]
    # A key the authorizer names that no plan holds; and the header, which
    # this API does not read.
    assert execute_json(nimbus, api_id, "/prod/", headers={"Authorization": "unknown-key"})[::2] == (
        403, {"message": "Forbidden"})
    assert execute(nimbus, api_id, "/prod/", headers={"Authorization": "unknown-key",
                                                      "x-api-key": key["value"]})[0] == 403
    # Back to the header: the authorizer's key no longer counts.
    updated = client.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/apiKeySource", "value": "HEADER"}])
    assert updated["apiKeySource"] == "HEADER"
    assert execute(nimbus, api_id, "/prod/", headers={"Authorization": key["value"]})[0] == 403
    assert execute(nimbus, api_id, "/prod/", headers={"Authorization": "unknown-key",
                                                      "x-api-key": key["value"]})[0] == 200


def test_a_usage_plan_throttles_each_key_per_method_of_a_stage(nimbus):
    api_id, _ = proxy_api(nimbus)
    client = nimbus.client("apigateway")
    add_paid_method(client, api_id)
    first = client.create_api_key(name="first", enabled=True)
    second = client.create_api_key(name="second", enabled=True)
    method_limits = {"/paid/GET": {"burstLimit": 1, "rateLimit": 0.001}}
    plan = client.create_usage_plan(name="per-method", apiStages=[
        {"apiId": api_id, "stage": "prod", "throttle": method_limits}])
    assert client.get_usage_plan(usagePlanId=plan["id"])["apiStages"][0]["throttle"] == method_limits
    for key in (first, second):
        client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": first["value"]})[0] == 200
    status, _, body = execute_json(nimbus, api_id, "/prod/paid", headers={"x-api-key": first["value"]})
    assert (status, body) == (429, {"message": "Too Many Requests"})
    # Each key has its own bucket.
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": second["value"]})[0] == 200

    # UpdateUsagePlan patches a method's throttle by its path ('/' as ~1).
    method_path = f"/apiStages/{api_id}:prod/throttle/~1paid/GET"
    updated = client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": method_path + "/rateLimit", "value": "1000"},
        {"op": "replace", "path": method_path + "/burstLimit", "value": "5"}])
    assert updated["apiStages"][0]["throttle"] == {"/paid/GET": {"burstLimit": 5, "rateLimit": 1000.0}}
    time.sleep(0.1)  # refilled at the new rate
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": first["value"]})[0] == 200
    removed = client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "remove", "path": method_path}])
    assert "throttle" not in removed["apiStages"][0]
    client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "add", "path": method_path + "/burstLimit", "value": "2"}])
    dropped = client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "remove", "path": f"/apiStages/{api_id}:prod/throttle"}])
    assert "throttle" not in dropped["apiStages"][0]
    for bad_path in (f"/apiStages/{api_id}:beta/throttle/~1paid/GET/rateLimit",
                     f"/apiStages/{api_id}:prod/throttle/GET/rateLimit"):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
                {"op": "replace", "path": bad_path, "value": "1"}])
        assert refused.value.response["Error"]["Code"] == "BadRequestException"


def test_update_usage_extends_a_keys_quota_for_the_period_across_a_restart(tmp_path):
    data = tmp_path / "data"
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with NimbusServer(data_dir=data) as first:
        api_id, _ = proxy_api(first)
        client = first.client("apigateway")
        add_paid_method(client, api_id)
        key = client.create_api_key(name="customer", enabled=True)
        plan = client.create_usage_plan(name="small", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                        quota={"limit": 2, "period": "DAY"})
        client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        paid = lambda server: execute(server, api_id, "/prod/paid",
                                      headers={"x-api-key": key["value"]})[0]
        assert [paid(first) for _ in range(3)] == [200, 200, 429]
        extended = client.update_usage(usagePlanId=plan["id"], keyId=key["id"], patchOperations=[
            {"op": "replace", "path": "/remaining", "value": "3"}])
        assert extended["items"] == {key["id"]: [[2, 3]]}
        assert extended["startDate"] == extended["endDate"] == today
        assert [paid(first) for _ in range(2)] == [200, 200]
        with pytest.raises(botocore.exceptions.ClientError) as bad:
            client.update_usage(usagePlanId=plan["id"], keyId=key["id"], patchOperations=[
                {"op": "replace", "path": "/quota", "value": "3"}])
        assert bad.value.response["Error"]["Code"] == "BadRequestException"
        assert first.stop() == 0
    with NimbusServer(data_dir=data) as second:
        # The grant survives: one request of it is left, then the quota holds.
        assert [execute(second, api_id, "/prod/paid", headers={"x-api-key": key["value"]})[0]
                for _ in range(2)] == [200, 429]
        usage = second.client("apigateway").get_usage(usagePlanId=plan["id"], startDate=today,
                                                      endDate=today)
        assert usage["items"] == {key["id"]: [[5, 0]]}


def test_api_keys_and_usage_plans_meter_rest_methods(nimbus):
    api_id, _ = proxy_api(nimbus)
    client = nimbus.client("apigateway")
    add_paid_method(client, api_id)
    key = client.create_api_key(name="customer", enabled=True)
    assert len(key["value"]) >= 20
    assert "value" not in client.get_api_keys()["items"][0]
    assert client.get_api_keys(includeValues=True)["items"][0]["value"] == key["value"]
    plan = client.create_usage_plan(name="basic", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                    throttle={"burstLimit": 100, "rateLimit": 100.0},
                                    quota={"limit": 3, "period": "DAY"})
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert [item["id"] for item in client.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]

    assert execute_json(nimbus, api_id, "/prod/paid")[::2] == (403, {"message": "Forbidden"})
    assert execute_json(nimbus, api_id, "/prod/paid", headers={"x-api-key": "wrong" * 5})[0] == 403
    status, _, event = execute_json(nimbus, api_id, "/prod/paid", headers={"x-api-key": key["value"]})
    assert status == 200, event
    assert event["requestContext"]["identity"]["apiKey"] == key["value"]
    assert event["requestContext"]["identity"]["apiKeyId"] == key["id"]
    # Methods without apiKeyRequired take no key.
    assert execute(nimbus, api_id, "/prod/items/1")[0] == 200
    # The quota: three a day, two used already by the time the third is asked.
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": key["value"]})[0] == 200
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": key["value"]})[0] == 200
    status, _, body = execute_json(nimbus, api_id, "/prod/paid", headers={"x-api-key": key["value"]})
    assert (status, body) == (429, {"message": "Limit Exceeded"})

    # Raising the quota lets the key in again.
    updated = client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/quota/limit", "value": "4"}])
    assert updated["quota"]["limit"] == 4
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": key["value"]})[0] == 200
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": key["value"]})[0] == 429

    # A disabled key, or a key no plan of this stage holds, is refused.
    other = client.create_api_key(name="other", enabled=True)
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": other["value"]})[0] == 403
    client.update_api_key(apiKey=other["id"], patchOperations=[
        {"op": "replace", "path": "/enabled", "value": "false"}])
    assert client.get_api_key(apiKey=other["id"])["enabled"] is False
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=other["id"], keyType="API_KEY")
    assert execute(nimbus, api_id, "/prod/paid", headers={"x-api-key": other["value"]})[0] == 403
    client.delete_usage_plan_key(usagePlanId=plan["id"], keyId=other["id"])
    assert [item["name"] for item in client.get_usage_plans()["items"]] == ["basic"]


def test_usage_plan_stages_get_usage_and_quotas_that_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    today = datetime.datetime.now(datetime.timezone.utc).date()
    yesterday = today - datetime.timedelta(days=1)
    with NimbusServer(data_dir=data) as first:
        api_id, _ = proxy_api(first)
        client = first.client("apigateway")
        add_paid_method(client, api_id)
        key = client.create_api_key(name="customer", enabled=True)
        plan = client.create_usage_plan(name="metered", quota={"limit": 3, "period": "DAY"})
        client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        with_key = {"x-api-key": key["value"]}
        # The plan grants no stage yet.
        assert execute(first, api_id, "/prod/paid", headers=with_key)[0] == 403

        added = client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
            {"op": "add", "path": "/apiStages", "value": f"{api_id}:prod"}])
        assert added["apiStages"] == [{"apiId": api_id, "stage": "prod"}]
        for value in (f"{api_id}:prod", f"{api_id}:nostage", "nosuchapi:prod"):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
                    {"op": "add", "path": "/apiStages", "value": value}])
            assert refused.value.response["Error"]["Code"] == "BadRequestException"
        assert [execute(first, api_id, "/prod/paid", headers=with_key)[0] for _ in range(2)] == [200, 200]

        usage = client.get_usage(usagePlanId=plan["id"], startDate=str(yesterday),
                                 endDate=str(today))
        assert usage["usagePlanId"] == plan["id"]
        assert (usage["startDate"], usage["endDate"]) == (str(yesterday), str(today))
        # [used, remaining] a day; yesterday's quota was untouched.
        assert usage["items"] == {key["id"]: [[0, 3], [2, 1]]}
        with pytest.raises(botocore.exceptions.ClientError) as backwards:
            client.get_usage(usagePlanId=plan["id"], startDate=str(today), endDate=str(yesterday))
        assert backwards.value.response["Error"]["Code"] == "BadRequestException"
        assert first.stop() == 0

    with NimbusServer(data_dir=data) as second:
        client = second.client("apigateway")
        with_key = {"x-api-key": key["value"]}
        # Two of three were used before the restart: one is left.
        assert [execute(second, api_id, "/prod/paid", headers=with_key)[0] for _ in range(2)] == [200, 429]
        usage = second.aws("apigateway", "get-usage", "--usage-plan-id", plan["id"],
                           "--start-date", str(today), "--end-date", str(today),
                           "--key-id", key["id"])
        assert usage["items"] == {key["id"]: [[3, 0]]}
        client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
            {"op": "remove", "path": "/apiStages", "value": f"{api_id}:prod"}])
        assert client.get_usage_plan(usagePlanId=plan["id"])["apiStages"] == []
        assert execute(second, api_id, "/prod/paid", headers=with_key)[0] == 403


def test_stage_method_settings_throttle_rest_methods(nimbus):
    api_id, _ = proxy_api(nimbus)
    client = nimbus.client("apigateway")
    stage = client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/~1items~1{id}/GET/throttling/burstLimit", "value": "3"},
        {"op": "replace", "path": "/variables/kept", "value": "yes"}])
    assert stage["methodSettings"]["*/*"] == {"throttlingBurstLimit": 1, "throttlingRateLimit": 0.001}
    assert stage["methodSettings"]["items/{id}/GET"]["throttlingBurstLimit"] == 3
    assert stage["variables"]["kept"] == "yes"
    # Every method gets the stage's bucket of one...
    assert [execute(nimbus, api_id, "/prod/other")[0] for _ in range(2)] == [200, 429]
    status, _, body = execute_json(nimbus, api_id, "/prod/other")
    assert (status, body) == (429, {"message": "Too Many Requests"})
    # ...except the method with its own setting: three.
    assert [execute(nimbus, api_id, "/prod/items/1")[0] for _ in range(4)] == [200, 200, 200, 429]


def test_gateway_responses_customize_the_gateways_own_answers_once_deployed(nimbus):
    """PutGatewayResponse: a type's status, headers and body template for
    what the gateway answers itself (not the integration's answers),
    DEFAULT_4XX/DEFAULT_5XX for the types not customized; served once
    deployed, as API Gateway serves them."""
    api_id, _ = proxy_api(nimbus)
    client = nimbus.client("apigateway")
    add_paid_method(client, api_id)  # GET /paid needs an API key; deployed
    put = client.put_gateway_response(
        restApiId=api_id, responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
    assert (put["responseType"], put["defaultResponse"]) == ("DEFAULT_4XX", False)
    client.put_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseParameters={"gatewayresponse.header.X-Origin": "method.request.header.Origin"},
        responseTemplates={"application/json": '{"error": $context.error.messageString, '
                                               '"type": "$context.error.responseType", '
                                               '"id": "$context.requestId"}'})
    origin = {"Origin": "https://app.example"}
    # Not served until deployed.
    status, headers, body = execute_json(nimbus, api_id, "/prod/", headers=origin)
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert "Access-Control-Allow-Origin" not in headers
    client.create_deployment(restApiId=api_id, stageName="prod")

    status, headers, body = execute_json(nimbus, api_id, "/prod/", headers=origin)
    assert status == 404
    assert body == {"error": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN",
                    "id": headers["x-amzn-RequestId"]}
    assert headers["X-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Origin" not in headers  # its own customization, not DEFAULT_4XX's
    # A missing API key (INVALID_API_KEY) is not customized: DEFAULT_4XX's header.
    status, headers, body = execute_json(nimbus, api_id, "/prod/paid")
    assert (status, body, headers["Access-Control-Allow-Origin"]) == (403, {"message": "Forbidden"}, "*")
    # The function's own 404 is the integration's answer, not the gateway's.
    raw = urllib.parse.quote(json.dumps({"statusCode": 404, "body": "nope"}))
    status, headers, body = execute(nimbus, api_id, f"/prod/items/1?raw={raw}")
    assert (status, body) == (404, b"nope")
    assert "Access-Control-Allow-Origin" not in headers
    # A failing function is a 5XX the gateway answers: DEFAULT_5XX, once customized.
    client.put_gateway_response(
        restApiId=api_id, responseType="DEFAULT_5XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'https://app'"},
        responseTemplates={"application/json": '{"oops": $context.error.messageString}'})
    client.create_deployment(restApiId=api_id, stageName="prod")
    status, headers, body = execute_json(nimbus, api_id, "/prod/items/1?fail=1")
    assert (status, body) == (502, {"oops": "Internal server error"})
    assert headers["Access-Control-Allow-Origin"] == "https://app"

    listed = client.get_gateway_responses(restApiId=api_id)["items"]
    assert len(listed) == 21
    assert sorted(r["responseType"] for r in listed if not r["defaultResponse"]) == [
        "DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"]
    throttled = client.get_gateway_response(restApiId=api_id, responseType="THROTTLED")
    assert (throttled["statusCode"], throttled["defaultResponse"]) == ("429", True)
    assert throttled["responseTemplates"] == {
        "application/json": '{"message":$context.error.messageString}'}
    updated = client.update_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN", patchOperations=[
            {"op": "replace", "path": "/statusCode", "value": "410"},
            {"op": "add", "path": "/responseTemplates/text~1plain", "value": "gone"}])
    assert updated["statusCode"] == "410"
    assert updated["responseTemplates"]["text/plain"] == "gone"
    client.delete_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert client.get_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")["defaultResponse"] is True
    for bad in (dict(responseType="NOT_A_TYPE"),
                dict(responseType="THROTTLED", statusCode="42"),
                dict(responseType="THROTTLED", responseParameters={"method.response.header.A": "'b'"})):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client.put_gateway_response(restApiId=api_id, **bad)
        assert refused.value.response["Error"]["Code"] == "BadRequestException"
