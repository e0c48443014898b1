// InvokeWithResponseStream through the npm AWS SDK for JavaScript v3: the SDK
// decodes the event stream itself. Prints what it received as JSON, with when
// each event arrived (milliseconds since the call).
// Usage: node lambda_stream.cjs <sdk dir> <endpoint> <function> <payload JSON>
const { createRequire } = require("node:module");
const path = require("node:path");

const [sdkDir, endpoint, functionName, payload] = process.argv.slice(2);
const sdk = createRequire(path.join(sdkDir, "package.json"))("@aws-sdk/client-lambda");
const client = new sdk.LambdaClient({
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
});

(async () => {
  const started = Date.now();
  const response = await client.send(new sdk.InvokeWithResponseStreamCommand({
    FunctionName: functionName, Payload: Buffer.from(payload), LogType: "Tail",
  }));
  const chunks = [];
  const chunkTimes = [];
  let complete = null;
  let completeTime = null;
  for await (const event of response.EventStream) {
    if (event.PayloadChunk) {
      chunks.push(Buffer.from(event.PayloadChunk.Payload).toString());
      chunkTimes.push(Date.now() - started);
    }
    if (event.InvokeComplete) {
      complete = event.InvokeComplete;
      completeTime = Date.now() - started;
    }
  }
  console.log(JSON.stringify({
    status: response.StatusCode, version: response.ExecutedVersion, chunks, complete,
    chunkTimes, completeTime,
  }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
