// Drives DynamoDB with the npm AWS SDK for JavaScript v3: the low-level
// client and @aws-sdk/lib-dynamodb's document client, which marshals plain
// JavaScript values. Prints what it saw as JSON.
// Usage: node dynamodb_sdk.cjs <sdk dir with node_modules> <endpoint> <table name>
const { createRequire } = require("node:module");
const path = require("node:path");

const [sdkDir, endpoint, table] = process.argv.slice(2);
const load = createRequire(path.join(sdkDir, "package.json"));
const ddb = load("@aws-sdk/client-dynamodb");
const lib = load("@aws-sdk/lib-dynamodb");

const client = new ddb.DynamoDBClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
const doc = lib.DynamoDBDocumentClient.from(client, {
  marshallOptions: { removeUndefinedValues: true },
});

(async () => {
  const out = {};
  const created = await client.send(new ddb.CreateTableCommand({
    TableName: table,
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" },
                           { AttributeName: "sk", AttributeType: "N" },
                           { AttributeName: "name", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
    GlobalSecondaryIndexes: [{
      IndexName: "byName", KeySchema: [{ AttributeName: "name", KeyType: "HASH" }],
      Projection: { ProjectionType: "KEYS_ONLY" },
    }],
    BillingMode: "PAY_PER_REQUEST",
    DeletionProtectionEnabled: true,
  }));
  out.created = {
    status: created.TableDescription.TableStatus,
    protected: created.TableDescription.DeletionProtectionEnabled,
    createdIsDate: created.TableDescription.CreationDateTime instanceof Date,
    indexes: created.TableDescription.GlobalSecondaryIndexes.map(
      (index) => `${index.IndexName}:${index.IndexStatus}`),
  };

  for (let sk = 1; sk <= 3; sk++) {
    await doc.send(new lib.PutCommand({
      TableName: table,
      Item: { pk: "user#1", sk, name: `n${sk}`, tags: new Set(["a", "b"]),
              profile: { age: 30 + sk, langs: ["c++", "js"] }, nothing: null },
    }));
  }
  const got = await doc.send(new lib.GetCommand({ TableName: table, Key: { pk: "user#1", sk: 2 } }));
  out.got = { ...got.Item, tags: [...got.Item.tags].sort() };

  const updated = await doc.send(new lib.UpdateCommand({
    TableName: table, Key: { pk: "user#1", sk: 2 },
    UpdateExpression: "SET profile.age = profile.age + :one, #n = :name ADD visits :one",
    ExpressionAttributeNames: { "#n": "name" },
    ExpressionAttributeValues: { ":one": 1, ":name": "renamed" },
    ReturnValues: "UPDATED_NEW",
  }));
  out.updated = updated.Attributes;

  const queried = await doc.send(new lib.QueryCommand({
    TableName: table, KeyConditionExpression: "pk = :pk AND sk >= :from",
    ExpressionAttributeValues: { ":pk": "user#1", ":from": 2 }, ScanIndexForward: false,
  }));
  out.queried = queried.Items.map((item) => item.sk);

  const byName = await doc.send(new lib.QueryCommand({
    TableName: table, IndexName: "byName", KeyConditionExpression: "#n = :name",
    ExpressionAttributeNames: { "#n": "name" }, ExpressionAttributeValues: { ":name": "renamed" },
  }));
  out.byName = byName.Items;

  try {
    await doc.send(new lib.PutCommand({
      TableName: table, Item: { pk: "user#1", sk: 1 },
      ConditionExpression: "attribute_not_exists(pk)",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    }));
    out.conditional = "succeeded";
  } catch (error) {
    out.conditional = { name: error.name, oldName: error.Item && error.Item.name };
  }

  try {
    await client.send(new ddb.DeleteTableCommand({ TableName: table }));
    out.protectedDelete = "deleted";
  } catch (error) {
    out.protectedDelete = { name: error.name, status: error.$metadata.httpStatusCode };
  }
  await client.send(new ddb.UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: false }));
  const deleted = await client.send(new ddb.DeleteTableCommand({ TableName: table }));
  out.deleted = deleted.TableDescription.TableStatus;
  console.log(JSON.stringify(out));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
