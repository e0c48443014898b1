"""Nimbus's runtime client for python3.x functions: the Lambda Runtime API
loop, the handler contract (module.function), the context object and
Lambda's error format. It knows Nimbus only through the Runtime API
(AWS_LAMBDA_RUNTIME_API)."""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

BASE = "/2018-06-01/runtime"


class Api:
    def __init__(self, endpoint):
        host, port = endpoint.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.connection = None

    def call(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port)
            try:
                self.connection.request(method, BASE + path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.headers, response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")


class LambdaContext:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        client_context = headers.get("Lambda-Runtime-Client-Context")
        self.client_context = json.loads(client_context) if client_context else None
        identity = headers.get("Lambda-Runtime-Cognito-Identity")
        self.identity = json.loads(identity) if identity else None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_document(error, error_type=None, request_id=None):
    frames = traceback.extract_tb(error.__traceback__)
    doc = {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_list(frames),
    }
    if request_id:
        doc["requestId"] = request_id
    return doc


def load_handler():
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise HandlerError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except SyntaxError as error:
        raise HandlerError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}")
    except ImportError as error:
        raise HandlerError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}")
    handler = getattr(module, function_name, None)
    if handler is None:
        raise HandlerError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


class HandlerError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def post_error(api, path, doc):
    print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr, flush=True)
    body = json.dumps(doc).encode()
    return api.call("POST", path, body, {
        "Content-Type": "application/json",
        "Lambda-Runtime-Function-Error-Type": doc["errorType"],
    })


def main():
    api = Api(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler()
    except HandlerError as error:
        post_error(api, "/init/error", {"errorMessage": str(error), "errorType": error.error_type, "stackTrace": []})
        sys.exit(1)
    except Exception as error:  # the module raised while importing
        post_error(api, "/init/error", error_document(error))
        sys.exit(1)
    while True:
        status, headers, body = api.call("GET", "/invocation/next")
        if status != 200:
            sys.exit(1)
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        try:
            event = json.loads(body) if body else None
        except ValueError:
            event = body.decode(errors="replace")
        try:
            result = handler(event, LambdaContext(headers))
            payload = json.dumps(result).encode()
        except Exception as error:
            status, _, _ = post_error(api, f"/invocation/{request_id}/error", error_document(error, request_id=request_id))
        else:
            status, _, _ = api.call("POST", f"/invocation/{request_id}/response", payload, {"Content-Type": "application/json"})
        if status < 200 or status > 299:
            sys.exit(1)


if __name__ == "__main__":
    main()
