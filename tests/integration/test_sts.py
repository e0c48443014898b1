"""STS GetCallerIdentity through the real AWS CLI and boto3, auth off."""

import re
import urllib.request

import pytest
from botocore.exceptions import ClientError

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_cli_get_caller_identity_reports_the_default_account(nimbus):
    identity = nimbus.aws("sts", "get-caller-identity")
    assert identity == {
        "UserId": "000000000000",
        "Account": "000000000000",
        "Arn": "arn:aws:iam::000000000000:root",
    }


def test_boto3_get_caller_identity_with_request_id(nimbus):
    sts = nimbus.client("sts")
    first = sts.get_caller_identity()
    second = sts.get_caller_identity()
    assert first["Account"] == "000000000000"
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert UUID.match(first["ResponseMetadata"]["RequestId"])
    assert first["ResponseMetadata"]["RequestId"] != second["ResponseMetadata"]["RequestId"]
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == \
        first["ResponseMetadata"]["RequestId"]


def test_any_region_is_accepted(nimbus):
    identity = nimbus.aws("sts", "get-caller-identity", region="ap-southeast-2")
    assert identity["Account"] == "000000000000"


@pytest.mark.parametrize("how", ["flag", "env", "config-file"])
def test_account_id_is_configurable(nimbus_factory, tmp_path, how):
    if how == "flag":
        server = nimbus_factory("--account-id", "111122223333")
    elif how == "env":
        server = nimbus_factory(env={"NIMBUS_ACCOUNT_ID": "111122223333"})
    else:
        config = tmp_path / "nimbus.toml"
        config.write_text("[server]\naccount-id = \"111122223333\"\nregion = \"eu-west-1\"\n")
        server = nimbus_factory("--config", str(config))
        assert server.health()["region"] == "eu-west-1"
    identity = server.client("sts").get_caller_identity()
    assert identity["Account"] == "111122223333"
    assert identity["Arn"] == "arn:aws:iam::111122223333:root"


def test_unimplemented_action_is_invalid_action(nimbus):
    with pytest.raises(ClientError) as raised:
        nimbus.client("sts").get_session_token()
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidAction"
    assert "GetSessionToken" in error["Error"]["Message"]


def test_query_string_form_of_the_action(nimbus):
    # awsQuery also accepts the parameters in a GET query string.
    url = nimbus.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15"
    request = urllib.request.Request(url, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/sts/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=00",
        "X-Amz-Date": "20261126T000000Z"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/xml"
    assert "<Account>000000000000</Account>" in body
    assert body.startswith('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')
