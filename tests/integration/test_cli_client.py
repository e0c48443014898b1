"""`nimbus invoke`, `nimbus functions` and `nimbus logs`: the command line as
a client of a running server's Lambda and CloudWatch Logs APIs."""

import json
import subprocess
import time

from lambda_support import ECHO_NODE, create_function, node_zip
from nimbus_harness import SIGNING_KEY, nimbus_binary, signed_server


def nimbus(endpoint, *args, env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "NIMBUS_ENDPOINT": endpoint}
    env.update(env_extra or {})
    return subprocess.run([nimbus_binary(), *args], capture_output=True, text=True, timeout=60, env=env)


def test_invoke_prints_the_result_and_fails_with_the_function(nimbus_factory, tmp_path):
    server = nimbus_factory()
    create_function(server.client("lambda"), "echo", node_zip(ECHO_NODE))
    done = nimbus(server.endpoint, "invoke", "echo", "--payload", '{"n": 5}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["event"] == {"n": 5}

    event_file = tmp_path / "event.json"
    event_file.write_text('{"from": "file"}')
    done = nimbus(server.endpoint, "invoke", "echo", "--payload", f"@{event_file}", "--log")
    assert json.loads(done.stdout)["event"] == {"from": "file"}
    assert "START RequestId:" in done.stderr and "REPORT RequestId:" in done.stderr

    failed = nimbus(server.endpoint, "invoke", "echo", "--payload", '{"fail": "nope"}')
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorMessage"] == "nope"
    assert "the function failed (Unhandled)" in failed.stderr

    missing = nimbus(server.endpoint, "invoke", "missing")
    assert missing.returncode == 1
    assert "ResourceNotFoundException (404): Function not found" in missing.stderr

    accepted = nimbus(server.endpoint, "invoke", "echo", "--event")
    assert accepted.returncode == 0 and "accepted: request id" in accepted.stderr


def test_logs_prints_and_follows_a_functions_log(nimbus_factory):
    server = nimbus_factory()
    create_function(server.client("lambda"), "echo", node_zip(ECHO_NODE))
    assert nimbus(server.endpoint, "invoke", "echo", "--payload", '{"n": 1}').returncode == 0
    time.sleep(0.2)  # the journal commits within milliseconds
    done = nimbus(server.endpoint, "logs", "echo")
    assert done.returncode == 0, done.stderr
    assert "START RequestId:" in done.stdout and 'event {"n":1}' in done.stdout
    assert done.stdout.count("REPORT RequestId:") == 1
    only = nimbus(server.endpoint, "logs", "echo", "--filter", "REPORT")
    assert only.stdout.count("\n") == 1 and "REPORT RequestId:" in only.stdout

    env = {"PATH": "/usr/bin:/bin", "NIMBUS_ENDPOINT": server.endpoint}
    follow = subprocess.Popen([nimbus_binary(), "logs", "echo", "--follow"], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        seen = ""
        while "REPORT" not in seen:  # the first invocation's lines come first
            seen += follow.stdout.readline()
        assert nimbus(server.endpoint, "invoke", "echo", "--payload", '{"n": 77}').returncode == 0
        deadline = time.time() + 15
        while time.time() < deadline and 'event {"n":77}' not in seen:
            seen += follow.stdout.readline()
        assert 'event {"n":77}' in seen
        assert seen.count('event {"n":1}') == 1  # nothing printed twice
    finally:
        follow.kill()
        follow.wait()

    missing = nimbus(server.endpoint, "logs", "nobody")
    assert missing.returncode == 1
    assert "ResourceNotFoundException (400): The specified log group does not exist." in missing.stderr


def test_functions_lists_every_function(nimbus_factory):
    server = nimbus_factory()
    client = server.client("lambda")
    for name in ("alpha", "beta"):
        create_function(client, name, node_zip(ECHO_NODE), MemorySize=256)
    done = nimbus(server.endpoint, "functions")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "RUNTIME", "MEMORY", "TIMEOUT"]
    assert [line.split()[:3] for line in lines[1:]] == [["alpha", "nodejs20.x", "256MB"],
                                                       ["beta", "nodejs20.x", "256MB"]]


def test_the_client_signs_with_the_environments_credentials(tmp_path):
    with signed_server(tmp_path) as server:
        create_function(server.client("lambda"), "signed", node_zip(ECHO_NODE))
        unsigned = nimbus(server.endpoint, "functions")
        assert unsigned.returncode == 1 and "MissingAuthenticationToken" in unsigned.stderr
        signed = nimbus(server.endpoint, "invoke", "signed", "--payload", "{}",
                        env_extra={"AWS_ACCESS_KEY_ID": SIGNING_KEY[0],
                                   "AWS_SECRET_ACCESS_KEY": SIGNING_KEY[1]})
        assert signed.returncode == 0, signed.stderr
        assert json.loads(signed.stdout)["event"] == {}
