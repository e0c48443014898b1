"""Lambda's control plane through boto3 and the AWS CLI: functions, versions,
aliases, settings, their errors, and persistence across a kill -9."""

import base64
import hashlib
import json
import signal
import subprocess
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from lambda_support import ECHO_NODE, ROLE, code_sha256, create_function, invoke_json, make_zip, node_zip
from nimbus_harness import AWS_CLI, NimbusServer, signed_server

ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    error = raised.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_create_reports_the_configuration_as_lambda_does(nimbus):
    client = nimbus.client("lambda")
    zip_bytes = node_zip(ECHO_NODE)
    created = create_function(client, "echo", zip_bytes, MemorySize=256, Timeout=10,
                              Description="says things back", Environment={"Variables": {"TAG": "a"}},
                              Tags={"team": "core"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionName"] == "echo"
    assert created["FunctionArn"] == ARN_PREFIX + "echo"
    assert created["Runtime"] == "nodejs20.x" and created["Handler"] == "index.handler"
    assert created["Role"] == ROLE
    assert created["CodeSha256"] == code_sha256(zip_bytes)
    assert created["CodeSize"] == len(zip_bytes)
    assert created["MemorySize"] == 256 and created["Timeout"] == 10
    assert created["Description"] == "says things back"
    assert created["Environment"] == {"Variables": {"TAG": "a"}}
    assert created["Version"] == "$LATEST"
    assert created["State"] == "Active" and created["LastUpdateStatus"] == "Successful"
    assert created["PackageType"] == "Zip" and created["Architectures"] == ["x86_64"]
    assert created["EphemeralStorage"] == {"Size": 512}
    assert created["RevisionId"]

    got = client.get_function(FunctionName="echo")
    assert got["Configuration"]["CodeSha256"] == created["CodeSha256"]
    assert got["Tags"] == {"team": "core"}
    # Code.Location serves the zip that was uploaded.
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as response:
        assert response.read() == zip_bytes
    # The URL's token is what lets it in, as a presigned URL's signature.
    tampered = got["Code"]["Location"][:-1] + ("0" if got["Code"]["Location"][-1] != "0" else "1")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code == 403
    assert client.get_function_configuration(FunctionName=ARN_PREFIX + "echo")["RevisionId"] == created["RevisionId"]


def test_defaults_are_lambdas(nimbus):
    created = create_function(nimbus.client("lambda"), "plain", node_zip(ECHO_NODE))
    assert created["MemorySize"] == 128 and created["Timeout"] == 3 and created["Description"] == ""
    assert created["TracingConfig"] == {"Mode": "PassThrough"}
    assert "Environment" not in created


def test_errors_carry_lambdas_codes_and_messages(nimbus):
    client = nimbus.client("lambda")
    assert error_of(lambda: client.get_function(FunctionName="nope")) == (
        "ResourceNotFoundException", f"Function not found: {ARN_PREFIX}nope", 404)
    create_function(client, "dup", node_zip(ECHO_NODE))
    assert error_of(lambda: create_function(client, "dup", node_zip(ECHO_NODE))) == (
        "ResourceConflictException", "Function already exist: dup", 409)
    assert error_of(lambda: create_function(client, "badzip", b"PK\x03\x04 not really a zip")) == (
        "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.", 400)
    code, message, status = error_of(lambda: create_function(
        client, "reserved", node_zip(ECHO_NODE), Environment={"Variables": {"AWS_REGION": "x", "OK": "y"}}))
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.endswith("Reserved keys used in this request: AWS_REGION")
    code, message, status = error_of(lambda: create_function(client, "slow", node_zip(ECHO_NODE), Timeout=901))
    assert (code, status) == ("ValidationException", 400)
    assert message == ("1 validation error detected: Value '901' at 'timeout' failed to satisfy "
                       "constraint: Member must have value less than or equal to 900")
    code, message, _ = error_of(lambda: create_function(client, "huge", node_zip(ECHO_NODE), MemorySize=10241))
    assert code == "ValidationException" and "memorySize" in message
    code, message, _ = error_of(lambda: create_function(client, "old", node_zip(ECHO_NODE), runtime="nodejs12.x"))
    assert code == "InvalidParameterValueException"
    assert message.startswith("The runtime parameter of nodejs12.x is no longer supported")
    code, _, _ = error_of(lambda: client.create_function(
        FunctionName="norole", Runtime="nodejs20.x", Handler="index.handler", Role="not-a-role",
        Code={"ZipFile": node_zip(ECHO_NODE)}))
    assert code == "ValidationException"
    code, message, _ = error_of(lambda: client.get_function(FunctionName="bad name!"))
    assert code == "ValidationException" and "functionName" in message


def test_update_code_and_configuration_with_revision_checks(nimbus):
    client = nimbus.client("lambda")
    created = create_function(client, "upd", node_zip(ECHO_NODE))
    updated = client.update_function_configuration(
        FunctionName="upd", Environment={"Variables": {"TAG": "two"}}, Timeout=20,
        RevisionId=created["RevisionId"])
    assert updated["Timeout"] == 20 and updated["RevisionId"] != created["RevisionId"]
    _, body = invoke_json(client, "upd", {})
    assert body["tag"] == "two"
    # A stale RevisionId loses: optimistic concurrency.
    assert error_of(lambda: client.update_function_configuration(
        FunctionName="upd", Timeout=5, RevisionId=created["RevisionId"]))[0] == "PreconditionFailedException"

    new_zip = node_zip(ECHO_NODE.replace("event,\n", "event, updated: true,\n"))
    code_update = client.update_function_code(FunctionName="upd", ZipFile=new_zip)
    assert code_update["CodeSha256"] == code_sha256(new_zip)
    assert code_update["CodeSize"] == len(new_zip)
    _, body = invoke_json(client, "upd", {})
    assert body["updated"] is True
    assert error_of(lambda: client.update_function_code(
        FunctionName="upd", ZipFile=new_zip, RevisionId=created["RevisionId"]))[0] == "PreconditionFailedException"


def test_versions_and_aliases(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "ver", node_zip(ECHO_NODE), Environment={"Variables": {"TAG": "one"}})
    v1 = client.publish_version(FunctionName="ver", Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"] == ARN_PREFIX + "ver:1"
    assert v1["Description"] == "first"
    # Nothing changed: publishing again returns the same version.
    assert client.publish_version(FunctionName="ver")["Version"] == "1"
    client.update_function_configuration(FunctionName="ver", Environment={"Variables": {"TAG": "two"}})
    v2 = client.publish_version(FunctionName="ver")
    assert v2["Version"] == "2"
    assert error_of(lambda: client.publish_version(FunctionName="ver", CodeSha256="wrong"))[0] == \
        "InvalidParameterValueException"

    versions = client.list_versions_by_function(FunctionName="ver")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]

    alias = client.create_alias(FunctionName="ver", Name="live", FunctionVersion="1")
    assert alias["AliasArn"] == ARN_PREFIX + "ver:live"
    assert error_of(lambda: client.create_alias(FunctionName="ver", Name="live", FunctionVersion="1")) == (
        "ResourceConflictException", f"Alias already exists: {ARN_PREFIX}ver:live", 409)
    assert error_of(lambda: client.get_alias(FunctionName="ver", Name="nope")) == (
        "ResourceNotFoundException", f"Cannot find alias arn: {ARN_PREFIX}ver:nope", 404)

    response, body = invoke_json(client, "ver", {}, Qualifier="live")
    assert response["ExecutedVersion"] == "1" and body["tag"] == "one"
    assert body["arn"] == ARN_PREFIX + "ver:live"
    response, body = invoke_json(client, "ver:2", {})
    assert response["ExecutedVersion"] == "2" and body["tag"] == "two" and body["version"] == "2"
    response, body = invoke_json(client, ARN_PREFIX + "ver", {})
    assert response["ExecutedVersion"] == "$LATEST"

    client.update_alias(FunctionName="ver", Name="live", FunctionVersion="2")
    response, _ = invoke_json(client, "ver", {}, Qualifier="live")
    assert response["ExecutedVersion"] == "2"
    assert client.get_function_configuration(FunctionName="ver", Qualifier="live")["Version"] == "2"
    assert [a["Name"] for a in client.list_aliases(FunctionName="ver")["Aliases"]] == ["live"]

    assert error_of(lambda: client.delete_function(FunctionName="ver", Qualifier="2")) == (
        "ResourceConflictException",
        "Unable to delete version because the following aliases reference it: [live]", 409)
    client.delete_function(FunctionName="ver", Qualifier="1")
    assert error_of(lambda: invoke_json(client, "ver:1", {}))[0] == "ResourceNotFoundException"
    client.delete_alias(FunctionName="ver", Name="live")
    assert client.list_aliases(FunctionName="ver")["Aliases"] == []
    # Version numbers are never reused.
    client.update_function_configuration(FunctionName="ver", Timeout=7)
    assert client.publish_version(FunctionName="ver")["Version"] == "3"


def test_weighted_alias_routing_splits_traffic(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "split", node_zip(ECHO_NODE))
    client.publish_version(FunctionName="split")
    client.update_function_configuration(FunctionName="split", Timeout=4)
    client.publish_version(FunctionName="split")
    client.create_alias(FunctionName="split", Name="canary", FunctionVersion="1",
                        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    runs = 200
    executed = [client.invoke(FunctionName="split", Qualifier="canary")["ExecutedVersion"] for _ in range(runs)]
    to_two = executed.count("2")
    assert executed.count("1") + to_two == runs
    # Binomial(200, 0.3): mean 60, standard deviation 6.5; five deviations each way.
    assert 28 <= to_two <= 92, to_two
    assert error_of(lambda: client.create_alias(
        FunctionName="split", Name="bad", FunctionVersion="$LATEST",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}))[0] == "InvalidParameterValueException"


def test_list_functions_paginates(nimbus):
    client = nimbus.client("lambda")
    names = [f"fn-{i:02d}" for i in range(5)]
    for name in names:
        create_function(client, name, node_zip(ECHO_NODE))
    first = client.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == names[:2]
    second = client.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == names[2:4]
    third = client.list_functions(MaxItems=2, Marker=second["NextMarker"])
    assert [f["FunctionName"] for f in third["Functions"]] == names[4:]
    assert "NextMarker" not in third
    paged = [f["FunctionName"] for page in client.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 2}) for f in page["Functions"]]
    assert paged == names
    client.publish_version(FunctionName="fn-00")
    everything = client.list_functions(FunctionVersion="ALL")["Functions"]
    assert [(f["FunctionName"], f["Version"]) for f in everything][:2] == [("fn-00", "$LATEST"), ("fn-00", "1")]


def test_the_cli_creates_waits_and_deletes(nimbus, tmp_path):
    package = tmp_path / "function.zip"
    package.write_bytes(node_zip(ECHO_NODE))
    nimbus.aws("lambda", "create-function", "--function-name", "cli", "--runtime", "nodejs20.x",
               "--handler", "index.handler", "--role", ROLE, "--zip-file", f"fileb://{package}")
    # The waiters poll State and LastUpdateStatus; they would hang without them.
    nimbus.aws("lambda", "wait", "function-active-v2", "--function-name", "cli")
    nimbus.aws("lambda", "update-function-configuration", "--function-name", "cli", "--timeout", "9")
    nimbus.aws("lambda", "wait", "function-updated-v2", "--function-name", "cli")
    listed = nimbus.aws("lambda", "list-functions")
    assert [f["FunctionName"] for f in listed["Functions"]] == ["cli"]
    out = tmp_path / "out.json"
    result = nimbus.aws("lambda", "invoke", "--function-name", "cli", "--cli-binary-format",
                        "raw-in-base64-out", "--payload", '{"hello": 1}', str(out))
    assert result["StatusCode"] == 200 and result["ExecutedVersion"] == "$LATEST"
    assert json.loads(out.read_text())["event"] == {"hello": 1}
    nimbus.aws("lambda", "delete-function", "--function-name", "cli")
    missing = nimbus.aws("lambda", "get-function", "--function-name", "cli", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_settings_tags_policy_and_concurrency(nimbus):
    client = nimbus.client("lambda")
    create_function(client, "cfg", node_zip(ECHO_NODE))
    arn = ARN_PREFIX + "cfg"

    client.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
    client.untag_resource(Resource=arn, TagKeys=["a"])
    assert client.list_tags(Resource=arn)["Tags"] == {"b": "2"}

    added = client.add_permission(FunctionName="cfg", StatementId="s3", Action="lambda:InvokeFunction",
                                  Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket")
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Resource"] == arn
    assert error_of(lambda: client.add_permission(FunctionName="cfg", StatementId="s3",
                                                  Action="lambda:InvokeFunction",
                                                  Principal="s3.amazonaws.com"))[0] == "ResourceConflictException"
    policy = json.loads(client.get_policy(FunctionName="cfg")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3"]
    client.remove_permission(FunctionName="cfg", StatementId="s3")
    assert error_of(lambda: client.get_policy(FunctionName="cfg"))[0] == "ResourceNotFoundException"

    assert client.put_function_concurrency(FunctionName="cfg", ReservedConcurrentExecutions=5)[
        "ReservedConcurrentExecutions"] == 5
    assert client.get_function_concurrency(FunctionName="cfg")["ReservedConcurrentExecutions"] == 5
    assert client.get_function(FunctionName="cfg")["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == \
        settings["AccountLimit"]["ConcurrentExecutions"] - 5
    assert settings["AccountUsage"]["FunctionCount"] == 1
    code, message, _ = error_of(lambda: client.put_function_concurrency(
        FunctionName="cfg", ReservedConcurrentExecutions=settings["AccountLimit"]["ConcurrentExecutions"]))
    assert code == "InvalidParameterValueException" and "UnreservedConcurrentExecution" in message
    client.delete_function_concurrency(FunctionName="cfg")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="cfg")

    client.publish_version(FunctionName="cfg")
    client.put_provisioned_concurrency_config(FunctionName="cfg", Qualifier="1",
                                              ProvisionedConcurrentExecutions=1)
    got = client.get_provisioned_concurrency_config(FunctionName="cfg", Qualifier="1")
    assert got["RequestedProvisionedConcurrentExecutions"] == 1
    client.delete_provisioned_concurrency_config(FunctionName="cfg", Qualifier="1")
    assert error_of(lambda: client.get_provisioned_concurrency_config(FunctionName="cfg", Qualifier="1"))[0] == \
        "ProvisionedConcurrencyConfigNotFoundException"


def test_functions_versions_and_aliases_survive_kill_9(tmp_path):
    zip_bytes = node_zip(ECHO_NODE)
    first = NimbusServer(data_dir=tmp_path).start()
    client = first.client("lambda")
    create_function(client, "durable", zip_bytes, Environment={"Variables": {"TAG": "kept"}})
    client.publish_version(FunctionName="durable")
    client.create_alias(FunctionName="durable", Name="prod", FunctionVersion="1")
    client.tag_resource(Resource=ARN_PREFIX + "durable", Tags={"k": "v"})
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    with NimbusServer(data_dir=tmp_path) as second:
        client = second.client("lambda")
        got = client.get_function(FunctionName="durable")
        assert got["Configuration"]["CodeSha256"] == code_sha256(zip_bytes)
        assert got["Tags"] == {"k": "v"}
        assert client.get_alias(FunctionName="durable", Name="prod")["FunctionVersion"] == "1"
        response, body = invoke_json(client, "durable", {"after": "restart"}, Qualifier="prod")
        assert response["ExecutedVersion"] == "1"
        assert body["tag"] == "kept" and body["event"] == {"after": "restart"}


def test_code_location_works_unsigned_with_sigv4_on(tmp_path):
    with signed_server(tmp_path) as server:
        client = server.client("lambda")
        zip_bytes = node_zip(ECHO_NODE)
        create_function(client, "signed", zip_bytes)
        location = client.get_function(FunctionName="signed")["Code"]["Location"]
        with urllib.request.urlopen(location, timeout=10) as response:
            assert response.read() == zip_bytes
        bare = location.split("?", 1)[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare, timeout=10)
        assert refused.value.code == 403


def test_code_storage_is_limited_as_the_accounts(nimbus_factory):
    small = node_zip(ECHO_NODE)
    server = nimbus_factory("--lambda-code-storage", str(len(small) + 100))
    client = server.client("lambda")
    create_function(client, "first", small)
    assert client.get_account_settings()["AccountLimit"]["TotalCodeSize"] == len(small) + 100
    assert error_of(lambda: create_function(client, "second", node_zip(ECHO_NODE + "// more"))) == (
        "CodeStorageExceededException", "Code storage limit exceeded.", 400)

