"""--auth sigv4: real clients signing with keys from a credentials file."""

import datetime
import urllib.error
import urllib.request

import botocore.auth
import pytest
from botocore.exceptions import ClientError

ALICE_KEY = "AKIAALICE00000000001"
ALICE_SECRET = "alice/Secret+Key"


@pytest.fixture
def secured(nimbus_factory, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[alice]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n")
    return nimbus_factory("--auth", "sigv4", "--credentials-file", str(credentials),
                          access_key=ALICE_KEY, secret_key=ALICE_SECRET)


def test_cli_with_the_right_key_is_the_keys_user(secured):
    identity = secured.aws("sts", "get-caller-identity")
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:user/alice"
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21


def test_cli_with_a_wrong_secret_fails_with_awss_error(secured):
    result = secured.aws("sts", "get-caller-identity", secret_key="not-the-secret", check=False)
    assert result.returncode != 0
    assert "SignatureDoesNotMatch" in result.stderr
    assert "The request signature we calculated does not match" in result.stderr


def test_boto3_with_an_unknown_key_is_invalid_client_token(secured):
    sts = secured.client("sts", access_key="AKIAUNKNOWN000000000", secret_key="x")
    with pytest.raises(ClientError) as raised:
        sts.get_caller_identity()
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidClientTokenId"
    assert error["Error"]["Message"] == "The security token included in the request is invalid."


def test_unsigned_request_is_missing_authentication_token(secured):
    request = urllib.request.Request(
        secured.endpoint + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 403
    assert b"MissingAuthenticationToken" in raised.value.read()


def test_presigned_url_verifies_and_tampering_does_not(secured):
    url = secured.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=60,
                                                        HttpMethod="GET")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert b"<Arn>arn:aws:iam::000000000000:user/alice</Arn>" in response.read()
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(tampered, timeout=10)
    assert raised.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in raised.value.read()


def test_signature_from_a_skewed_clock_is_refused(secured, monkeypatch):
    class TwentyMinutesAgo(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
                datetime.timedelta(minutes=20)

    monkeypatch.setattr(botocore.auth.datetime, "datetime", TwentyMinutesAgo)
    with pytest.raises(ClientError) as raised:
        secured.client("sts").get_caller_identity()
    monkeypatch.undo()
    error = raised.value.response["Error"]
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["Message"].startswith("Signature expired:")


def test_health_needs_no_signature(secured):
    assert secured.health()["auth"] == "sigv4"
