"""The npm AWS SDK for JavaScript v3 (@aws-sdk/client-apigatewayv2) against
Nimbus: it fails outright on members in the wrong case, so this checks the
apigatewayv2 wire format end to end."""

import json
import os
import pathlib
import subprocess

import pytest

from apigateway_support import echo_function

SCRIPT = pathlib.Path(__file__).parent / "js" / "apigateway_sdk.cjs"


def test_the_javascript_sdk_configures_and_reaches_an_http_api(nimbus):
    sdk_dir = os.environ.get("NIMBUS_AWS_SDK_JS_DIR")
    if not sdk_dir:
        pytest.skip("NIMBUS_AWS_SDK_JS_DIR is not set (scripts/test.sh sets it from scripts/aws-sdk-js.sh)")
    target = echo_function(nimbus)
    result = subprocess.run(["node", str(SCRIPT), sdk_dir, nimbus.endpoint, target],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    _, port = nimbus.host_port
    assert seen["api"]["endpoint"] == f"http://{seen['api']['id']}.execute-api.localhost:{port}"
    assert seen["api"]["created"] is True
    assert seen["routes"] == [{"key": "GET /js/{name}", "id": seen["routeId"],
                               "target": seen["routes"][0]["target"]}]
    assert seen["routes"][0]["target"].startswith("integrations/")
    assert seen["stage"] == {"autoDeploy": True, "deployed": True}
    assert seen["called"] == {"status": 200, "routeKey": "GET /js/{name}", "name": "ann"}
    assert seen["missing"] == {"name": "NotFoundException", "status": 404}
