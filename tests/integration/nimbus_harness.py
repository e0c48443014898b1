"""Starts a real `nimbus server` on a free port with a throw-away data
directory, and drives it with the clients users have: the AWS CLI at
/usr/bin/aws and boto3 from /usr/bin/python3.

    with NimbusServer() as nimbus:
        nimbus.aws("sts", "get-caller-identity")
        nimbus.client("sts").get_caller_identity()
"""

import json
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request

import boto3
import botocore.config

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
AWS_CLI = "/usr/bin/aws"
ENDPOINT_LINE = re.compile(r"listening on (http://\S+)")


def nimbus_binary():
    binary = os.environ.get("NIMBUS_BINARY", str(REPO_ROOT / "build" / "app" / "nimbus"))
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"nimbus binary not found at {binary}; build first or set NIMBUS_BINARY")
    return binary


class NimbusServer:
    """One server process. Extra flags are passed through; `env` adds
    environment variables. The data directory is removed on exit unless given."""

    def __init__(self, *flags, env=None, data_dir=None, access_key="test", secret_key="test",
                 start_timeout=10.0):
        self.flags = list(flags)
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="nimbus-it-")
            data_dir = self._tmp.name
        self.data_dir = str(data_dir)
        self.extra_env = dict(env or {})
        self.access_key = access_key
        self.secret_key = secret_key
        self.start_timeout = start_timeout
        self.process = None
        self.endpoint = None
        self.stderr_lines = []
        self.returncode = None
        self._stderr_reader = None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        env = dict(os.environ)
        env.update(self.extra_env)
        args = [nimbus_binary(), "server"]
        if not any(f.startswith("--listen") for f in self.flags) and "NIMBUS_LISTEN" not in self.extra_env:
            args += ["--listen", "127.0.0.1:0"]
        if not any(f.startswith("--data-dir") for f in self.flags):
            args += ["--data-dir", self.data_dir]
        args += self.flags
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, env=env, text=True)
        self._stderr_reader = threading.Thread(target=self._collect_stderr, daemon=True)
        self._stderr_reader.start()
        line_holder = []
        reader = threading.Thread(target=lambda: line_holder.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        line = line_holder[0] if line_holder else ""
        match = ENDPOINT_LINE.search(line)
        if not match:
            self.stop()
            raise RuntimeError(f"nimbus did not start: stdout={line!r} stderr={self.stderr()!r}")
        self.endpoint = match.group(1)
        return self

    def _collect_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def stderr(self):
        return "".join(self.stderr_lines)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signals the server and waits; returns its exit code."""
        if self.process is not None and self.returncode is None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            try:
                self.returncode = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.returncode = self.process.wait()
                raise
            # Everything the process wrote is read once its stderr closes.
            self._stderr_reader.join(timeout)
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- clients -------------------------------------------------------------
    @property
    def host_port(self):
        rest = self.endpoint.split("://", 1)[1]
        host, port = rest.rsplit(":", 1)
        return host.strip("[]"), int(port)

    def client_env(self, access_key=None, secret_key=None, region="us-east-1"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": access_key or self.access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key or self.secret_key,
            "AWS_DEFAULT_REGION": region,
            "AWS_PAGER": "",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        })
        return env

    def aws(self, *args, check=True, access_key=None, secret_key=None, region="us-east-1"):
        """Runs the real AWS CLI against this server. Returns parsed JSON
        output on success; with check=False returns the CompletedProcess."""
        result = subprocess.run(
            [AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json", *args],
            capture_output=True, text=True, timeout=120,
            env=self.client_env(access_key, secret_key, region))
        if not check:
            return result
        if result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else None

    def client(self, service, access_key=None, secret_key=None, region="us-east-1", **config):
        config.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=botocore.config.Config(**config))

    def get(self, path, timeout=10):
        with urllib.request.urlopen(self.endpoint + path, timeout=timeout) as response:
            return response.status, response.read()

    def health(self):
        status, body = self.get("/_nimbus/health")
        assert status == 200
        return json.loads(body)


def http(url, method="GET", body=None, headers=None, timeout=20):
    """One plain HTTP request: (status, headers, body bytes), errors included."""
    request = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


SIGNING_KEY = ("AKIAALICE00000000001", "s3cret")


def signed_server(directory, *flags):
    """A server with `--auth sigv4` whose one key (alice's, SIGNING_KEY) is
    written to `directory`; its clients sign with that key."""
    keys = pathlib.Path(directory) / "keys.ini"
    keys.write_text(f"[alice]\naws_access_key_id = {SIGNING_KEY[0]}\n"
                    f"aws_secret_access_key = {SIGNING_KEY[1]}\n")
    return NimbusServer("--auth", "sigv4", "--credentials-file", str(keys), *flags,
                        access_key=SIGNING_KEY[0], secret_key=SIGNING_KEY[1])

