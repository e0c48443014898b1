"""The npm AWS SDK for JavaScript v3 against DynamoDB: the low-level
client and @aws-sdk/lib-dynamodb's document client, unchanged."""

import json
import os
import pathlib
import subprocess

import pytest

from dynamodb_support import unique

SCRIPT = pathlib.Path(__file__).parent / "js" / "dynamodb_sdk.cjs"


def test_the_document_client_reads_and_writes_plain_values(nimbus):
    sdk_dir = os.environ.get("NIMBUS_AWS_SDK_JS_DIR")
    if not sdk_dir:
        pytest.skip("NIMBUS_AWS_SDK_JS_DIR is not set (scripts/test.sh sets it from scripts/aws-sdk-js.sh)")
    result = subprocess.run(["node", str(SCRIPT), sdk_dir, nimbus.endpoint, unique("js")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["created"] == {"status": "ACTIVE", "protected": True, "createdIsDate": True,
                               "indexes": ["byName:ACTIVE"]}
    assert seen["got"] == {"pk": "user#1", "sk": 2, "name": "n2", "tags": ["a", "b"],
                           "profile": {"age": 32, "langs": ["c++", "js"]}, "nothing": None}
    assert seen["updated"] == {"profile": {"age": 33}, "name": "renamed", "visits": 1}
    assert seen["queried"] == [3, 2]
    # The global index moved the renamed item's entry (KEYS_ONLY: keys only).
    assert seen["byName"] == [{"pk": "user#1", "sk": 2, "name": "renamed"}]
    # The error carries the old item in wire form: the document client leaves errors alone.
    assert seen["conditional"] == {"name": "ConditionalCheckFailedException", "oldName": {"S": "n1"}}
    assert seen["protectedDelete"] == {"name": "ValidationException", "status": 400}
    assert seen["deleted"] == "DELETING"
