// Configures an HTTP API with the npm AWS SDK for JavaScript v3
// (@aws-sdk/client-apigatewayv2), which reads and writes apigatewayv2's
// lowerCamelCase members, and calls it with fetch. Prints what it saw.
// Usage: node apigateway_sdk.cjs <sdk dir with node_modules> <endpoint> <function arn>
const { createRequire } = require("node:module");
const path = require("node:path");

const [sdkDir, endpoint, functionArn] = process.argv.slice(2);
const sdk = createRequire(path.join(sdkDir, "package.json"))("@aws-sdk/client-apigatewayv2");

const client = new sdk.ApiGatewayV2Client({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});

(async () => {
  const out = {};
  const api = await client.send(new sdk.CreateApiCommand({ Name: "js-api", ProtocolType: "HTTP" }));
  out.api = { id: api.ApiId, endpoint: api.ApiEndpoint, created: api.CreatedDate instanceof Date };
  const integration = await client.send(new sdk.CreateIntegrationCommand({
    ApiId: api.ApiId, IntegrationType: "AWS_PROXY", IntegrationUri: functionArn,
    PayloadFormatVersion: "2.0",
  }));
  const route = await client.send(new sdk.CreateRouteCommand({
    ApiId: api.ApiId, RouteKey: "GET /js/{name}", Target: `integrations/${integration.IntegrationId}`,
  }));
  await client.send(new sdk.CreateStageCommand({ ApiId: api.ApiId, StageName: "$default", AutoDeploy: true }));
  const routes = await client.send(new sdk.GetRoutesCommand({ ApiId: api.ApiId }));
  out.routes = routes.Items.map((item) => ({ key: item.RouteKey, id: item.RouteId, target: item.Target }));
  out.routeId = route.RouteId;
  const stage = await client.send(new sdk.GetStageCommand({ ApiId: api.ApiId, StageName: "$default" }));
  out.stage = { autoDeploy: stage.AutoDeploy, deployed: Boolean(stage.DeploymentId) };
  const response = await fetch(`${endpoint}/_aws/execute-api/${api.ApiId}/js/ann`);
  const event = JSON.parse(await response.text());
  out.called = { status: response.status, routeKey: event.routeKey, name: event.pathParameters?.name };
  try {
    await client.send(new sdk.GetApiCommand({ ApiId: "missing000" }));
    out.missing = null;
  } catch (error) {
    out.missing = { name: error.name, status: error.$metadata?.httpStatusCode };
  }
  console.log(JSON.stringify(out));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
