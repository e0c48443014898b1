"""The npm AWS SDK for JavaScript v3 (@aws-sdk/client-lambda) against Nimbus:
it sends Invoke with Content-Type application/octet-stream and ListFunctions
without a trailing slash, and parses errors by their own rules."""

import json
import os
import pathlib
import subprocess

import pytest

from lambda_support import ECHO_NODE, code_sha256, node_zip

SCRIPT = pathlib.Path(__file__).parent / "js" / "lambda_sdk.cjs"


def test_the_javascript_sdk_manages_and_invokes_functions(nimbus, tmp_path):
    sdk_dir = os.environ.get("NIMBUS_AWS_SDK_JS_DIR")
    if not sdk_dir:
        pytest.skip("NIMBUS_AWS_SDK_JS_DIR is not set (scripts/test.sh sets it from scripts/aws-sdk-js.sh)")
    zip_bytes = node_zip(ECHO_NODE)
    package = tmp_path / "function.zip"
    package.write_bytes(zip_bytes)
    result = subprocess.run(["node", str(SCRIPT), sdk_dir, nimbus.endpoint, str(package)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["created"] == {"state": "Active", "sha": code_sha256(zip_bytes), "size": len(zip_bytes)}
    assert seen["invoked"]["status"] == 200 and seen["invoked"]["version"] == "$LATEST"
    assert seen["invoked"]["payload"]["event"] == {"from": "js"}
    assert seen["listed"] == ["js-fn"]
    assert seen["viaAlias"]["version"] == "1"
    assert seen["viaAlias"]["payload"]["tag"] == "from-js"
    assert seen["viaAlias"]["payload"]["event"] == {}
    assert seen["failed"]["functionError"] == "Unhandled"
    assert seen["failed"]["payload"]["errorMessage"] == "from js"
    assert seen["throttled"] == {"name": "TooManyRequestsException", "status": 429,
                                 "reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    assert seen["missing"]["name"] == "ResourceNotFoundException" and seen["missing"]["status"] == 404
    assert seen["afterDelete"] == 0
