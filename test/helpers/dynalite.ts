/** A real DynamoDB-API server (dynalite) on loopback, with the detector's state table. */
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { STATE } from "../../config/names.js";

export async function startDynalite() {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  let tables = 0;
  return {
    client,
    /** A fresh table per test, shaped like the one the CDK construct creates. */
    async createTable(): Promise<string> {
      const name = `detector-state-${++tables}`;
      await client.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: [
            { AttributeName: STATE.partitionKey, KeyType: "HASH" },
            { AttributeName: STATE.sortKey, KeyType: "RANGE" },
          ],
          AttributeDefinitions: [
            { AttributeName: STATE.partitionKey, AttributeType: "S" },
            { AttributeName: STATE.sortKey, AttributeType: "S" },
          ],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      return name;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
