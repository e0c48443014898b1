// Drives Nimbus's Lambda API with the npm AWS SDK for JavaScript v3, the way
// a Node.js application would. Prints one JSON object of what it saw.
// Usage: node lambda_sdk.cjs <sdk dir with node_modules> <endpoint> <zip path>
const { createRequire } = require("node:module");
const fs = require("node:fs");
const path = require("node:path");

const [sdkDir, endpoint, zipPath] = process.argv.slice(2);
const sdk = createRequire(path.join(sdkDir, "package.json"))("@aws-sdk/client-lambda");

const client = new sdk.LambdaClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,  // a 429 must reach the test, not be retried away
});

async function errorName(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return { name: error.name, status: error.$metadata?.httpStatusCode, reason: error.Reason ?? null };
  }
}

(async () => {
  const out = {};
  const created = await client.send(new sdk.CreateFunctionCommand({
    FunctionName: "js-fn", Runtime: "nodejs20.x", Handler: "index.handler",
    Role: "arn:aws:iam::000000000000:role/lambda-role",
    Code: { ZipFile: fs.readFileSync(zipPath) },
  }));
  out.created = { state: created.State, sha: created.CodeSha256, size: created.CodeSize };

  const invoked = await client.send(new sdk.InvokeCommand({
    FunctionName: "js-fn", Payload: Buffer.from(JSON.stringify({ from: "js" })),
  }));
  out.invoked = {
    status: invoked.StatusCode, version: invoked.ExecutedVersion,
    payload: JSON.parse(Buffer.from(invoked.Payload).toString()),
  };

  const listed = await client.send(new sdk.ListFunctionsCommand({}));
  out.listed = listed.Functions.map((f) => f.FunctionName);

  await client.send(new sdk.UpdateFunctionConfigurationCommand({
    FunctionName: "js-fn", Environment: { Variables: { TAG: "from-js" } },
  }));
  await sdk.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: "js-fn" });
  const version = await client.send(new sdk.PublishVersionCommand({ FunctionName: "js-fn" }));
  await client.send(new sdk.CreateAliasCommand({
    FunctionName: "js-fn", Name: "live", FunctionVersion: version.Version,
  }));
  const viaAlias = await client.send(new sdk.InvokeCommand({ FunctionName: "js-fn:live" }));
  out.viaAlias = {
    version: viaAlias.ExecutedVersion,
    payload: JSON.parse(Buffer.from(viaAlias.Payload).toString()),
  };

  const failed = await client.send(new sdk.InvokeCommand({
    FunctionName: "js-fn", Payload: Buffer.from(JSON.stringify({ fail: "from js" })),
  }));
  out.failed = { functionError: failed.FunctionError, payload: JSON.parse(Buffer.from(failed.Payload).toString()) };

  await client.send(new sdk.PutFunctionConcurrencyCommand({ FunctionName: "js-fn", ReservedConcurrentExecutions: 0 }));
  out.throttled = await errorName(client.send(new sdk.InvokeCommand({ FunctionName: "js-fn" })));
  out.missing = await errorName(client.send(new sdk.GetFunctionCommand({ FunctionName: "no-such-fn" })));

  await client.send(new sdk.DeleteFunctionCommand({ FunctionName: "js-fn" }));
  out.afterDelete = (await client.send(new sdk.ListFunctionsCommand({}))).Functions.length;
  console.log(JSON.stringify(out));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
