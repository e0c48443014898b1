"""HTTP APIs for the API Gateway tests: an echo function that returns the
event it got, APIs wired to it through the real clients, and requests to
the execute-api endpoint in both its forms."""

import http.client as http_client
import json

from lambda_support import create_function, node_zip
from nimbus_harness import http

# Returns the event as the body (payload 2.0 and 1.0 alike), and follows a
# few instructions in the query string so tests can shape the response.
ECHO_API_NODE = """
export const handler = async (event) => {
  const query = event.queryStringParameters ?? {};
  if (query.fail) throw new Error("asked to fail");
  if (query.sleep) await new Promise((resolve) => setTimeout(resolve, Number(query.sleep)));
  if (query.plain) return { plain: true, routeKey: event.routeKey };
  if (query.raw) return JSON.parse(query.raw);
  return {
    statusCode: 200,
    headers: { "content-type": "application/json", "x-route": event.routeKey ?? event.resource },
    body: JSON.stringify(event),
  };
};
"""


def function_arn(name, account="000000000000", region="us-east-1"):
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def echo_function(server, name="echo"):
    create_function(server.client("lambda"), name, node_zip(ECHO_API_NODE))
    return function_arn(name)


def http_api(client, target_arn, routes, payload="2.0", stage="$default", auto_deploy=True, **api):
    """An HTTP API whose routes all go to one Lambda integration; returns
    (api id, integration id)."""
    api_id = client.create_api(Name="test-api", ProtocolType="HTTP", **api)["ApiId"]
    integration = client.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                            IntegrationUri=target_arn,
                                            PayloadFormatVersion=payload)["IntegrationId"]
    for key in routes:
        client.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}")
    if stage is not None:
        client.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=auto_deploy)
    return api_id, integration


def execute(server, api_id, path, method="GET", body=None, headers=None, by_host=False):
    """A request to the API: by the /_aws/execute-api/<id> path, or with
    the API's own Host on the main endpoint. Returns (status, headers, body)."""
    if by_host:
        host, port = server.host_port
        headers = dict(headers or {}, Host=f"{api_id}.execute-api.localhost:{port}")
        return http(f"{server.endpoint}{path}", method, body, headers)
    return http(f"{server.endpoint}/_aws/execute-api/{api_id}{path}", method, body, headers)


def execute_json(server, api_id, path, **kwargs):
    status, headers, body = execute(server, api_id, path, **kwargs)
    return status, headers, json.loads(body) if body else None


def raw_request(server, api_id, path, method, headers, body=b""):
    """A request whose header list is sent exactly (repeated names included)."""
    host, port = server.host_port
    connection = http_client.HTTPConnection(host, port, timeout=20)
    connection.putrequest(method, f"/_aws/execute-api/{api_id}{path}", skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data
