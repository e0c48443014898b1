"""Shared pieces of the DynamoDB tests: one server per test module (tests
use their own tables), table helpers, and error assertions."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from nimbus_harness import NimbusServer, http


@pytest.fixture(scope="module")
def server():
    with NimbusServer() as nimbus:
        yield nimbus


@pytest.fixture(scope="module")
def ddb(server):
    return server.client("dynamodb")


def unique(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_table(ddb, hash_type="S", range_type=None, name=None, hash_name="pk", range_name="sk"):
    name = name or unique()
    definitions = [{"AttributeName": hash_name, "AttributeType": hash_type}]
    schema = [{"AttributeName": hash_name, "KeyType": "HASH"}]
    if range_type:
        definitions.append({"AttributeName": range_name, "AttributeType": range_type})
        schema.append({"AttributeName": range_name, "KeyType": "RANGE"})
    ddb.create_table(TableName=name, AttributeDefinitions=definitions, KeySchema=schema,
                     BillingMode="PAY_PER_REQUEST")
    return name


def error_of(call, *args, **kwargs):
    """The (code, message, status) of the ClientError `call` raises."""
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def validation(call, *args, **kwargs):
    code, message, status = error_of(call, *args, **kwargs)
    assert (code, status) == ("ValidationException", 400), message
    return message


def call(server, operation, body):
    """A DynamoDB call as raw JSON, for members newer than the installed
    botocore model knows: (status, parsed body)."""
    status, _, payload = http(server.endpoint + "/", method="POST", body=json.dumps(body).encode(),
                              headers={"X-Amz-Target": f"DynamoDB_20120810.{operation}",
                                       "Content-Type": "application/x-amz-json-1.0"})
    return status, json.loads(payload)
