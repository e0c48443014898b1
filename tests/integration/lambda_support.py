"""Building function packages and watching functions from the outside.

Functions here are written the way users write them (a Node.js or Python
handler in a zip). What a function did is observed through its return
value, its log tail, or a `Recorder`: a small HTTP server on the test's side
that functions POST to (sandboxes share the host's network)."""

import base64
import hashlib
import http.server
import io
import json
import queue
import threading
import time
import zipfile

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def make_zip(files):
    """files: {name: text or (text, mode)} -> zip bytes, modes kept as a Unix zip tool keeps them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            mode = 0o644
            if isinstance(content, tuple):
                content, mode = content
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def code_sha256(zip_bytes):
    """CodeSha256 as Lambda reports it: base64 of the SHA-256 of the zip."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def node_zip(source, name="index.mjs"):
    return make_zip({name: source})


ECHO_NODE = """
export const handler = async (event, context) => {
  console.log("event", JSON.stringify(event));
  if (event.fail) throw new Error(event.fail);
  return {
    event,
    version: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    tag: process.env.TAG ?? null,
    arn: context.invokedFunctionArn,
    requestId: context.awsRequestId,
    clientContext: context.clientContext ?? null,
  };
};
"""

# Posts every event it gets to RECORDER_URL, then fails if asked to.
RECORDING_NODE = """
export const handler = async (event, context) => {
  await fetch(process.env.RECORDER_URL, {
    method: "POST",
    body: JSON.stringify({ function: context.functionName, requestId: context.awsRequestId,
                           version: context.functionVersion, event }),
  });
  if (event.fail) throw new Error(event.fail);
  return { ok: true, got: event };
};
"""


# Sleeps `ms` milliseconds, then fails if asked to. Node's timers count whole
# milliseconds from a cached loop time, so one timer can fire up to 1 ms
# early: it waits until `ms` have truly passed, as tests of durations assume.
SLEEPING_NODE = """
export const handler = async (event) => {
  const until = performance.now() + (event.ms ?? 0);
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, until - performance.now()));
  }
  if (event.fail) throw new Error("asked to");
  return { statusCode: 200, body: "ok" };
};
"""


def create_function(client, name, zip_bytes, runtime="nodejs20.x", handler="index.handler", **extra):
    return client.create_function(FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
                                  Code={"ZipFile": zip_bytes}, **extra)


def invoke_json(client, name, payload=None, **extra):
    """Invokes synchronously; returns (response, decoded payload)."""
    kwargs = dict(FunctionName=name, **extra)
    if payload is not None:
        kwargs["Payload"] = json.dumps(payload).encode()
    response = client.invoke(**kwargs)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


class Recorder:
    """An HTTP endpoint functions POST JSON to; the test reads what arrived."""

    def __init__(self):
        self.received = queue.Queue()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                recorder.received.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def next(self, timeout=20):
        return self.received.get(timeout=timeout)

    def collect(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < count:
            out.append(self.received.get(timeout=max(0.1, deadline - time.monotonic())))
        return out

    def quiet_for(self, seconds):
        """True if nothing arrives for `seconds`."""
        try:
            self.received.get(timeout=seconds)
        except queue.Empty:
            return True
        return False
